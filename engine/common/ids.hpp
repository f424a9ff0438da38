#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spokeflow {

// A 26-character, lexicographically sortable id (ULID layout: 48-bit milliseconds since
// the epoch, then 80 random bits, Crockford base32). Ids made in the same millisecond by
// one process still sort in creation order.
std::string new_sortable_id();
// Whether `s` has that shape (26 digits of that alphabet, the first at most 7).
bool is_sortable_id(std::string_view s);

// Milliseconds since the Unix epoch, from the system clock.
std::int64_t now_unix_ms();
// RFC 3339 in UTC with milliseconds, e.g. 2026-11-29T05:12:35.123Z.
std::string format_timestamp(std::int64_t unix_ms);
// The reverse, for points in time given by people and events: RFC 3339 / ISO 8601 with a
// zone (`2026-12-08T09:00:00Z`, `2026-12-08T10:00:00.250+01:00`) or a date alone (midnight
// UTC). Unix ms; nullopt for anything else.
std::optional<std::int64_t> parse_timestamp(std::string_view text);

}  // namespace spokeflow
