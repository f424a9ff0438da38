#include "common/diagnostics.hpp"

#include <algorithm>
#include <tuple>

namespace spokeflow {

std::string Diagnostic::format() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (pos.line > 0) {
    out += ":" + std::to_string(pos.line);
    if (pos.col > 0) out += ":" + std::to_string(pos.col);
  }
  out += ": error: ";
  out += message;
  return out;
}

void Diagnostics::sort_unique() {
  auto key = [](const Diagnostic& d) { return std::tie(d.file, d.pos.line, d.pos.col, d.message); };
  std::stable_sort(items_.begin(), items_.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  items_.erase(std::unique(items_.begin(), items_.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); }),
               items_.end());
}

std::string Diagnostics::format() const {
  std::string out;
  for (const auto& d : items_) {
    out += d.format();
    out += '\n';
  }
  return out;
}

}  // namespace spokeflow
