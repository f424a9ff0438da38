#pragma once
// Retention for the SQLite store (ExecutionStore::purge_executions, the algorithm in purge.hpp): called by the store
// inside its own write transaction.
#include <sqlite3.h>

#include "store/store.hpp"

namespace spokeflow::store::sqlite {

// Deletes one batch (see ExecutionStore::purge_executions) in the open transaction.
PurgeResult purge_batch(sqlite3* db, const PurgeFilter& filter, int batch);

}  // namespace spokeflow::store::sqlite
