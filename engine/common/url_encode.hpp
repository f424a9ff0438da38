#pragma once
// Percent-encoding for URL path segments, query strings and form bodies.
#include <string>
#include <string_view>

namespace spokeflow {

// RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) stay; every other byte becomes %XX.
std::string percent_encode(std::string_view s);
// The reverse, for query strings and form bodies ('+' reads as a space); malformed escapes stay as written.
std::string percent_decode(std::string_view s);

}  // namespace spokeflow
