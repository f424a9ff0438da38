#pragma once
// The flow files of a flows directory: its *.yaml and *.yml regular files, sorted.
#include <string>
#include <system_error>
#include <vector>

namespace spokeflow::flow {

// Empty with `ec` set when the directory cannot be read.
std::vector<std::string> flow_files_in(const std::string& dir, std::error_code& ec);

}  // namespace spokeflow::flow
