#include "flow/files.hpp"

#include <algorithm>
#include <filesystem>

namespace spokeflow::flow {
namespace fs = std::filesystem;

std::vector<std::string> flow_files_in(const std::string& dir, std::error_code& ec) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml"))
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace spokeflow::flow
