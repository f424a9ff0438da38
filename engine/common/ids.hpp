#pragma once
#include <cstdint>
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

}  // namespace spokeflow
