#pragma once
#include <map>
#include <string>
#include <string_view>

namespace spokeflow {
// Every file under schemas/ but the editors' flow.schema.json, keyed by its path relative to that
// folder ("flow-structure.schema.json", "actions/core/echo.json"). Generated at build time.
const std::map<std::string, std::string_view>& embedded_schemas();
}  // namespace spokeflow
