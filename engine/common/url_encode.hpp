#pragma once
// Percent-encoding for URL path segments, query strings and form bodies, and the path checks
// that keep a value from changing which resource a URL names.
#include <string>
#include <string_view>

namespace spokeflow {

// RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) stay; every other byte becomes %XX.
std::string percent_encode(std::string_view s);
// The reverse, for query strings and form bodies ('+' reads as a space); malformed escapes stay as written.
std::string percent_decode(std::string_view s);

// The path of an absolute URL ("https://h:1/p?q" -> "/p", "" when it has none) or of a
// relative reference ("/p?q#f" -> "/p").
std::string_view url_path(std::string_view url_or_path);

// True when `path` holds a "." or ".." segment as any server or proxy on the way might read
// it: percent-decoded (repeatedly, for servers that decode twice), with '\' taken as '/', and
// ";params" dropped ("..;" is ".." to some servers). Such a path can name another resource
// than the one its segments spell, so requests with one are refused.
bool has_dot_segment(std::string_view path);

}  // namespace spokeflow
