#pragma once
// The CLI's side of the shared Okta rate budget: a process on a PostgreSQL store paces its
// Okta calls with every other process of that store (docs/SCALE-OUT.md, "One Okta rate budget").
#include <string>

#include "connect/client.hpp"

namespace spokeflow::cli {

// When `store_location` names a PostgreSQL store, `connections`' governors take their permits
// from the store's rate budget (a connection of its own) unless SPOKEFLOW_RATE_BUDGET=local.
// When the budget cannot be reached it says so in the log and each process paces on its own.
// An SQLite store (one process) changes nothing.
void share_rate_budget(connect::Connections& connections, const std::string& store_location);

}  // namespace spokeflow::cli
