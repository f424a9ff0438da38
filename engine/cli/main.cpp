#include "cli/cli.hpp"

int main(int argc, char** argv) { return spokeflow::cli::run(argc, argv); }
