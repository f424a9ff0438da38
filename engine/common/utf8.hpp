#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace spokeflow {

// Offset of the first byte that is not part of well-formed UTF-8, or nullopt when all is well.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace spokeflow
