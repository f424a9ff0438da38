#pragma once
#include <nlohmann/json.hpp>

namespace spokeflow {
using Json = nlohmann::json;
}
