#pragma once
// Failed comparisons of lists of lines (diagnostics, messages) print every line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& lines) {
    std::string out = "\n";
    for (const auto& l : lines) out += "  " + l + "\n";
    return String(out.c_str());
  }
};
}  // namespace doctest
