#pragma once
#include <string>

#include "common/json.hpp"

namespace spokeflow {

inline constexpr const char* kRedacted = "[REDACTED]";

// A copy of `value` in which every field the schema marks `x-sensitive: true`
// (through properties, additionalProperties and items) reads "[REDACTED]".
Json redact_by_schema(const Json& value, const Json& schema);
// True when the schema marks anything sensitive, so callers can skip the copy.
bool schema_has_sensitive(const Json& schema);

}  // namespace spokeflow
