#pragma once
// Retention for the PostgreSQL store (ExecutionStore::purge_executions, the algorithm in
// purge.hpp): called by the store inside its own write transaction.
#include "store/pg_conn.hpp"
#include "store/store.hpp"

namespace spokeflow::store::pg {

// Deletes one batch (see ExecutionStore::purge_executions) in the open transaction.
PurgeResult purge_batch(Conn& conn, const PurgeFilter& filter, int batch);

}  // namespace spokeflow::store::pg
