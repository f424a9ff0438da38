#pragma once
// The PostgreSQL store's tables.
#include <string>

#include "store/pg_conn.hpp"

namespace spokeflow::store::pg {

// 1: the tables of SQLite's schema 5 (the work queue, tokens, deliveries, schedule fires).
inline constexpr int kSchemaVersion = 1;

// Creates the tables in the connection's schema (the first of its search_path) when they are
// missing, in one transaction under an advisory lock (processes starting together create them
// once). Throws std::runtime_error when the database holds a newer spokeflow's tables or tables
// that are not a spokeflow store's.
void create_or_check(Conn& conn);

}  // namespace spokeflow::store::pg
