// spokeflow with the test spoke added: the same CLI, plus actions whose side effects tests count.
#include "cli/cli.hpp"
#include "test_actions.hpp"

int main(int argc, char** argv) { return spokeflow::cli::run(argc, argv, spokeflow::testing::register_test_actions); }
