#pragma once
// JSON text in and out on the hot paths: the bodies Okta answers with, the records journaled
// for every step.
#include <cstddef>
#include <string>
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
// Boost.JSON's parser, building the Json as it reads; a text it refuses is given to
// Json::parse, whose verdict stands. Only nesting deeper than kMaxJsonDepth is refused by
// this function alone.
// The error (ErrorKind::validation) says what is wrong and at which byte.
Result<Json> parse_json(std::string_view text);

// The text Json::dump(-1, ' ', false, Json::error_handler_t::replace) makes (compact; bytes
// that are not UTF-8 become U+FFFD), byte for byte, in about a third of the time for the
// plain-ASCII strings records are mostly made of.
std::string dump_json(const Json& value);

}  // namespace spokeflow
