#pragma once
#include <memory>

#include "action/action.hpp"

namespace spokeflow::connect {
class Connections;
}

namespace spokeflow::actions {
// core.log, core.echo, core.noop, core.wait, core.fail.
void register_core_actions(ActionRegistry& registry);
// core.http: a REST call on the step's `connection:` alias (no default alias). `connections`
// may be null when no connections file was found; the action then fails saying so.
void register_http_action(ActionRegistry& registry, std::shared_ptr<connect::Connections> connections);
}  // namespace spokeflow::actions
