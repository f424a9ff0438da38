#include "okta/okta.hpp"

#include "okta/okta_action.hpp"

namespace spokeflow::okta {

void register_actions(ActionRegistry& registry, std::shared_ptr<connect::Connections> connections) {
  register_users(registry, connections);
  register_passwords(registry, connections);
  register_groups(registry, connections);
  register_apps(registry, connections);
  register_logs_meta(registry, connections);
  register_event_hooks(registry, connections);
}

}  // namespace spokeflow::okta
