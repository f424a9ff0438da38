// Finds a quoted YAML scalar that is never closed. yaml-cpp reads such a quote to the end of the
// file and then reports what it missed there ("end of map flow not found" at the last line) or,
// in block context, accepts the rest of the file as the string: neither points at the quote.
#include <optional>
#include <string_view>

#include "flow/located.hpp"

namespace spokeflow::flow::detail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Whether a quote at `j` opens a scalar: only at the start of a node (after indentation, an
// indicator followed by a space, or a flow collection's '[', '{', ','), not inside a plain
// scalar such as `don't` or `it is 'x`.
bool opens_node(std::string_view t, std::size_t j, char last) {
  if (last == 0 || last == '[' || last == '{' || last == ',') return true;
  return (last == ':' || last == '-' || last == '?') && j > 0 && is_space(t[j - 1]);
}

// The offset of the quote that closes the scalar opened at `open`, if any.
std::optional<std::size_t> closing_quote(std::string_view t, std::size_t open) {
  const char q = t[open];
  for (std::size_t k = open + 1; k < t.size(); ++k) {
    if (q == '"' && t[k] == '\\') {
      ++k;  // an escape: the next character is never the end
    } else if (t[k] == q) {
      if (q == '\'' && k + 1 < t.size() && t[k + 1] == '\'') {
        ++k;  // '' is a quote inside a single-quoted scalar
        continue;
      }
      return k;
    }
  }
  return std::nullopt;
}

// `|`, `>-`, `|2+`...: a block scalar header, whose following more-indented lines are text.
bool block_header(std::string_view token) {
  if (token.empty() || (token[0] != '|' && token[0] != '>')) return false;
  for (char c : token.substr(1))
    if (c != '-' && c != '+' && (c < '0' || c > '9')) return false;
  return true;
}

}  // namespace

std::optional<std::size_t> unclosed_quote(std::string_view t) {
  const std::size_t n = t.size();
  long block_parent = -1;  // indentation of the line that opened a block scalar; -1: none
  std::size_t i = 0;
  while (i < n) {
    const std::size_t line_start = i;
    while (i < n && t[i] == ' ') ++i;
    const long indent = static_cast<long>(i - line_start);
    std::size_t line_end = t.find('\n', i);
    if (line_end == std::string_view::npos) line_end = n;
    bool blank = true;
    for (std::size_t k = i; k < line_end && blank; ++k) blank = is_space(t[k]);
    if (block_parent >= 0) {
      if (blank || indent > block_parent) {
        i = line_end + 1;
        continue;
      }
      block_parent = -1;
    }
    char last = 0;                // the last character that is not a space, on this line
    std::size_t token_start = i;  // where the last space-separated token begins
    std::size_t token_end = i;
    std::size_t j = i;
    while (j < line_end) {
      const char c = t[j];
      if (c == '#' && (j == line_start || is_space(t[j - 1]) || j == i)) break;  // a comment
      if ((c == '"' || c == '\'') && opens_node(t, j, last)) {
        auto end = closing_quote(t, j);
        if (!end) return j;
        // A quoted scalar may span lines: go on after it, on the line where it ends.
        if (*end >= line_end) {
          line_end = t.find('\n', *end);
          if (line_end == std::string_view::npos) line_end = n;
        }
        token_start = j;
        j = *end + 1;
        token_end = j;
        last = c;
        continue;
      }
      if (!is_space(c)) {
        if (j == 0 || is_space(t[j - 1]) || j == i) token_start = j;
        token_end = j + 1;
        last = c;
      }
      ++j;
    }
    if (block_header(t.substr(token_start, token_end - token_start))) block_parent = indent;
    i = line_end + 1;
  }
  return std::nullopt;
}

}  // namespace spokeflow::flow::detail
