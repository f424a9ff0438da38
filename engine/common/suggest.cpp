#include "common/suggest.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace spokeflow {
namespace {
// Words and names longer than this get no suggestion: the distance is quadratic.
constexpr std::size_t kMaxLength = 200;
}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty() || word.size() > kMaxLength) return "";
  // Short words allow fewer edits, or every name would be "close".
  const std::size_t limit = word.size() <= 2 ? 0 : word.size() <= 4 ? 1 : word.size() <= 7 ? 2 : 3;
  std::string best;
  std::size_t best_d = limit + 1;
  const std::string lword = ascii_lower(word);
  for (const auto& c : candidates) {
    if (c == word || c.size() > kMaxLength) continue;
    std::size_t d = ascii_lower(c) == lword ? 0 : edit_distance(word, c);
    if (d < best_d || (d == best_d && !best.empty() && c < best)) {
      best = c;
      best_d = d;
    }
  }
  if (best_d <= limit) return best;
  // A name cut short (the end left off): the shortest name it begins, at least two characters.
  best.clear();
  if (word.size() < 2) return best;
  for (const auto& c : candidates) {
    if (c.size() <= word.size() || c.size() > kMaxLength || ascii_lower(c).compare(0, lword.size(), lword) != 0) continue;
    if (best.empty() || c.size() < best.size() || (c.size() == best.size() && c < best)) best = c;
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string match = closest_match(word, candidates);
  return match.empty() ? std::string() : "; did you mean '" + match + "'?";
}

}  // namespace spokeflow
