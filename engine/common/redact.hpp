#pragma once
#include <string>
#include <vector>

#include "common/json.hpp"

namespace spokeflow {

inline constexpr const char* kRedacted = "[REDACTED]";

// A copy of `value` in which every field the schema marks `x-sensitive: true`
// (through properties, additionalProperties and items) reads "[REDACTED]".
Json redact_by_schema(const Json& value, const Json& schema);
// Every value the schema marks `x-sensitive` (the clear values redact_by_schema hides).
void collect_sensitive(const Json& value, const Json& schema, std::vector<const Json*>& out);
// True when the schema marks anything sensitive, so callers can skip the copy.
bool schema_has_sensitive(const Json& schema);

}  // namespace spokeflow
