#pragma once
#include <string>

namespace spokeflow::cli {
// Sends spdlog's default logger to stderr as text or as one JSON object per line.
// Returns false when format or level is not known.
bool setup_logging(const std::string& format, const std::string& level);
}  // namespace spokeflow::cli
