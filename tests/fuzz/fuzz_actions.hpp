#pragma once
// An action registry holding every shipped action's schema, for the targets that load flows.
#include <memory>

#include "action/action.hpp"
#include "common/embedded_schemas.hpp"
#include "schema_only_action.hpp"

namespace spokeflow::fuzz {
using test::SchemaOnlyAction;

// Every action whose schema is under schemas/actions/, as `validate` and `run` know them.
inline const ActionRegistry& shipped_actions() {
  static const ActionRegistry registry = [] {
    ActionRegistry r;
    for (const auto& [path, text] : embedded_schemas())
      if (path.rfind("actions/", 0) == 0) r.add(std::make_unique<SchemaOnlyAction>(ActionInfo::from_embedded(path)));
    return r;
  }();
  return registry;
}

}  // namespace spokeflow::fuzz
