#pragma once
// The PostgreSQL store's tables.
#include <string>

#include "store/pg_conn.hpp"

namespace spokeflow::store::pg {

// The versions, each a migration from the one before (pg_schema.cpp):
// 1: the tables of SQLite's schema 5 (the work queue, tokens, deliveries, schedule fires).
// 2: the indexes retention needs (SQLite's schema 6): executions by flow source, schedule
//    fires by execution.
// 3: rate_budget, the Okta rate budget the processes share (pg_rate_budget.hpp).
// 4: step_runs.client, what the HTTP client did on its own (SQLite's schema 7).
// 5: api_tokens.last_used_at; hook_deliveries.redeliveries and last_redelivered_at; ui_sessions
//    (SQLite's schema 8).
inline constexpr int kSchemaVersion = 5;

// Brings the store's tables in the connection's schema (the first of its search_path) to
// kSchemaVersion, in one transaction under an advisory lock (processes starting together
// migrate once): a new store is created; an older one is migrated when `migrate`, else refused
// with an error saying to run `spokeflow store migrate`. Throws std::runtime_error when the
// schema holds a newer spokeflow's tables or tables that are not a spokeflow store's. Returns
// the version found (0: a new store).
int create_or_migrate(Conn& conn, bool migrate = true);
// The same inside the caller's open transaction (`store copy` creates the tables and fills
// them in one): nothing is committed or rolled back here.
int create_or_migrate_in_transaction(Conn& conn, bool migrate);

}  // namespace spokeflow::store::pg
