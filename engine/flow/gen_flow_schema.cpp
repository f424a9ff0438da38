// spokeflow-flow-schema SCHEMAS_DIR OUT: writes the editor's flow schema (flow/editor_schema.hpp).
#include <exception>
#include <fstream>
#include <iostream>

#include "flow/editor_schema.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: spokeflow-flow-schema SCHEMAS_DIR OUT\n";
    return 2;
  }
  try {
    const std::string text = spokeflow::flow::editor_flow_schema_text(argv[1]);
    const std::filesystem::path out(argv[2]);
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
    // Written beside and renamed, so that a failed run leaves no half-written schema.
    const std::filesystem::path tmp = out.string() + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      file << text;
      if (!file.flush()) throw std::runtime_error("cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, out);
  } catch (const std::exception& e) {
    std::cerr << "spokeflow-flow-schema: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
