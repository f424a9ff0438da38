#pragma once
// "Did you mean": the known name closest to a mistyped one.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace spokeflow {

// Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` by edit distance (case aside), or "" when none is close
// enough. When none is, a candidate that `word` begins (okta.deactivate -> okta.deactivate_user,
// wh -> who) is taken, the shortest first.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" for the closest match, or "" when there is none: to end a message with.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace spokeflow
