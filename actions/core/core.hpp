#pragma once
#include "action/action.hpp"

namespace spokeflow::actions {
// core.log, core.echo, core.noop, core.wait, core.fail.
void register_core_actions(ActionRegistry& registry);
}  // namespace spokeflow::actions
