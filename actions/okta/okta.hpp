#pragma once
// The Okta spoke: every okta.* action, registered through one function.
#include <memory>

#include "action/action.hpp"
#include "connect/client.hpp"

namespace spokeflow::okta {

// `connections` resolves each step's alias (default `okta`) to its client. It may be null
// (no connections file): every okta.* action then fails with a message saying how to add one.
void register_actions(ActionRegistry& registry, std::shared_ptr<connect::Connections> connections);

}  // namespace spokeflow::okta
