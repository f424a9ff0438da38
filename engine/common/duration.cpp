#include "common/duration.hpp"

#include <cstdint>
#include <limits>

namespace spokeflow {

std::optional<Millis> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Units in decreasing order; each may appear once, in this order.
  struct Unit { std::string_view suffix; std::int64_t ms; };
  static constexpr Unit kUnits[] = {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  std::int64_t total = 0;
  int last_unit = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    std::size_t j = i;
    while (j < text.size() && text[j] >= 'a' && text[j] <= 'z') ++j;
    std::string_view suffix = text.substr(i, j - i);
    int unit = -1;
    for (int u = 0; u < 5; ++u)
      if (kUnits[u].suffix == suffix) unit = u;
    if (unit < 0 || unit <= last_unit) return std::nullopt;
    if (n > std::numeric_limits<std::int64_t>::max() / kUnits[unit].ms) return std::nullopt;
    std::int64_t add = n * kUnits[unit].ms;
    if (total > std::numeric_limits<std::int64_t>::max() - add) return std::nullopt;
    total += add;
    last_unit = unit;
    i = j;
  }
  return Millis(total);
}

std::string format_duration(Millis d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) { out = "-"; ms = -ms; }
  static constexpr std::pair<std::int64_t, const char*> kParts[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  for (auto [unit, name] : kParts) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + name;
      ms %= unit;
    }
  }
  return out;
}

}  // namespace spokeflow
