#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace spokeflow {

using Millis = std::chrono::milliseconds;

// Parses "250ms", "10s", "5m", "2h", "1d" and sums of them in decreasing units ("1h30m").
// Returns nullopt for anything else, including an empty string and overflow.
std::optional<Millis> parse_duration(std::string_view text);
std::string format_duration(Millis d);

}  // namespace spokeflow
