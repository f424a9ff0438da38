#pragma once
// JSON text in and out on the hot paths: the bodies Okta answers with, the records journaled
// for every step.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace spokeflow {

// How deeply arrays and objects may nest ([] is one level) in anything read from outside: JSON
// and YAML texts (inputs, flow and connections files, HTTP answers, fromJSON) and the value of
// an expression. The code that walks values recurses (nlohmann's copy, comparison and dump,
// valijson, ...), so every entry point refuses deeper values with a clear error.
inline constexpr std::size_t kMaxJsonDepth = 128;
// The engine nests such values a bounded number of levels deeper: an expression's value placed
// in a flow's YAML (`with:`, `set:`, both within kMaxJsonDepth), inside a step's outputs or an
// error. Records read back are refused only beyond this, which the engine cannot have written.
inline constexpr std::size_t kMaxRecordDepth = 4 * kMaxJsonDepth;

// "values are nested more than 128 levels deep": the words every refusal uses.
std::string too_deep_message(std::size_t limit = kMaxJsonDepth);
// True when `value` nests more than `limit` levels; recurses at most limit + 1 levels.
bool nested_deeper_than(const Json& value, std::size_t limit = kMaxJsonDepth);

// Parses `text` (one JSON value, surrounded by whitespace at most) as Json::parse would, with
// the same value types (a non-negative integer is unsigned, a negative one signed, an integer
// beyond 64 bits a double; a repeated object key keeps its last value) and the same refusals
// (ill-formed UTF-8, a lone surrogate, a number out of double's range), at about half the cost:
// Boost.JSON's parser, building the Json as it reads; a text it refuses is given to
// Json::parse, whose verdict stands. Only nesting deeper than `max_depth` is refused by this
// function alone.
// The error (ErrorKind::validation) says what is wrong and at which byte: "invalid JSON: ..."
// for what Json::parse refuses too, too_deep_message(max_depth) + " (at byte N of M)" for
// nesting, with code kTooDeepCode.
inline constexpr const char* kTooDeepCode = "too_deep";
Result<Json> parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// The text Json::dump(-1, ' ', false, Json::error_handler_t::replace) makes (compact; bytes
// that are not UTF-8 become U+FFFD), byte for byte, in about a third of the time for the
// plain-ASCII strings records are mostly made of.
std::string dump_json(const Json& value);

// The reference tokens of an RFC 6901 JSON pointer ("/a~1b/0" -> "a/b", "0"), unescaped; throws
// nlohmann's parse_error for a malformed one.
std::vector<std::string> pointer_tokens(const std::string& pointer);

}  // namespace spokeflow
