#pragma once
// The SQLite store's tables, and the migrations from every schema spokeflow has shipped.
#include <sqlite3.h>

#include <string>

namespace spokeflow::store::sqlite {

// 2: status checks written as comparisons (an IN list made SQLite build a temporary table on
//    every insert and update); rowid tables (WITHOUT ROWID moved every record over ~1 KB, an
//    Okta user, to overflow pages: a step record cost 3x the time and the file 3x the space).
// 3: no index of executions by parent and step: a parent's journal names each child it starts
//    (the index cost every child's insert a page out of order: 9% of the WAL frames with 16
//    child executions at a time).
// 4: the work queue: run_at, leases with a fencing epoch, dedupe keys, strikes, cancel requests,
//    the `waiting` status; step runs may be `interrupted`; the owner column is gone.
// 5: the service's API tokens (hashes only), Okta event hook deliveries and schedule fires.
// 6: retention: executions by flow source (deleting a source no execution uses checks its
//    foreign key through it) and schedule fires by execution.
// 7: step runs keep what their HTTP client did on its own (retries, waits): `client`.
// 8: API tokens keep when they were last used (`last_used_at`); event hook deliveries count the
//    times they were received again (`redeliveries`); the web
//    view's sessions (`ui_sessions`), so that they outlive a restart and hold across services.
inline constexpr int kSchemaVersion = 8;

// Brings the store at `db` (opened, WAL set) to kSchemaVersion in one transaction: a new store
// is created; an older one is migrated when `migrate`, else refused (std::runtime_error saying
// to run `spokeflow store migrate`). Throws naming `path` when it was written by a newer
// spokeflow. Returns the version found (0: a new store).
int create_or_migrate(sqlite3* db, const std::string& path, bool migrate = true);

}  // namespace spokeflow::store::sqlite
