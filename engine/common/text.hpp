#pragma once
// Small text helpers the modules share.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace spokeflow {

// The items with `sep` between them.
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

// ASCII letters in lower case; other bytes as they are (header names, URL schemes and hosts).
std::string ascii_lower(std::string_view s);

// 2500 -> "2,500".
std::string with_thousands(std::size_t n);

}  // namespace spokeflow
