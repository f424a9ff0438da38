#include "common/url_encode.hpp"

#include <cctype>

namespace spokeflow {

namespace {
bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// %XX only: '+' is a space in query strings and forms, not in paths.
std::string decode_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 &&
        (lo = hex_value(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_scheme_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (unsigned char c : s) {
    if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view url_path(std::string_view s) {
  // "scheme://authority" first: a scheme is a letter, then letters, digits, '+', '-', '.'.
  if (auto sep = s.find("://"); sep != std::string_view::npos && sep > 0 && std::isalpha(static_cast<unsigned char>(s[0]))) {
    bool scheme = true;
    for (std::size_t i = 1; i < sep && scheme; ++i) scheme = is_scheme_char(s[i]);
    if (scheme) {
      s.remove_prefix(sep + 3);
      const auto path_start = s.find_first_of("/?#");
      s = path_start == std::string_view::npos ? std::string_view() : s.substr(path_start);
    }
  }
  return s.substr(0, s.find_first_of("?#"));
}

bool has_dot_segment(std::string_view path) {
  std::string p(path);
  // Decoding stops when nothing changes; a few rounds cover any server that decodes again.
  for (int round = 0; round < 4; ++round) {
    std::string decoded = decode_escapes(p);
    if (decoded == p) break;
    p = std::move(decoded);
  }
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find_first_of("/\\", start);
    if (end == std::string::npos) end = p.size();
    std::string_view seg = std::string_view(p).substr(start, end - start);
    seg = seg.substr(0, seg.find(';'));
    if (seg == "." || seg == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace spokeflow
