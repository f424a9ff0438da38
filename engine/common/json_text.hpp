#pragma once
// Reading JSON text into Json, for the bodies Okta answers with: the hot path of every call.
#include <cstddef>
#include <string_view>

#include "common/error.hpp"
#include "common/json.hpp"

namespace spokeflow {

// Deeper than this, a document is refused rather than risking the stack of what walks it.
inline constexpr std::size_t kMaxJsonDepth = 512;

// Parses `text` (one JSON value, surrounded by whitespace at most) as Json::parse would, with
// the same value types (a non-negative integer is unsigned, a negative one signed, an integer
// beyond 64 bits a double; a repeated object key keeps its last value) and the same refusals
// (ill-formed UTF-8, a lone surrogate, a number out of double's range), at about half the cost:
// Boost.JSON's parser into a scratch arena, then one pass building the Json.
// The error (ErrorKind::validation) says what is wrong and at which byte.
Result<Json> parse_json(std::string_view text);

}  // namespace spokeflow
