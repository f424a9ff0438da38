// okta-sim: YAML (or JSON) text to nlohmann::json, keeping quoted scalars as strings.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace oktasim {

nlohmann::json yaml_to_json(const YAML::Node& node);
// Reads a YAML or JSON file; throws std::runtime_error naming the file on failure.
nlohmann::json load_yaml_or_json_file(const std::string& path);

}  // namespace oktasim
