#include "store/sqlite_schema.hpp"

#include <stdexcept>

#include "store/sqlite_db.hpp"

namespace spokeflow::store::sqlite {
namespace {

constexpr const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS flow_sources(
  hash TEXT PRIMARY KEY,
  source TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS executions(
  id TEXT PRIMARY KEY,
  flow_name TEXT NOT NULL,
  flow_file TEXT NOT NULL,
  flow_hash TEXT NOT NULL REFERENCES flow_sources(hash),
  inputs TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status = 'queued' OR status = 'running' OR status = 'waiting' OR status = 'succeeded' OR
                             status = 'failed' OR status = 'cancelled'),
  trigger TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  outputs TEXT,
  error TEXT,
  parent_id TEXT,
  parent_step TEXT,
  run_at INTEGER,
  dedupe_key TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  epoch INTEGER NOT NULL DEFAULT 0,
  strikes INTEGER NOT NULL DEFAULT 0,
  progress INTEGER NOT NULL DEFAULT 0,  -- finished step runs when last claimed
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  retried_at INTEGER
);
CREATE INDEX IF NOT EXISTS executions_by_flow ON executions(flow_name, id);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions(status, id);
CREATE INDEX IF NOT EXISTS executions_runnable ON executions(run_at)
  WHERE parent_id IS NULL AND (status = 'queued' OR status = 'waiting');
CREATE INDEX IF NOT EXISTS executions_leased ON executions(lease_until)
  WHERE parent_id IS NULL AND status = 'running';
CREATE UNIQUE INDEX IF NOT EXISTS executions_by_dedupe_key ON executions(dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_flow_hash ON executions(flow_hash);
CREATE TABLE IF NOT EXISTS step_runs(
  execution_id TEXT NOT NULL,
  path TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  seq INTEGER PRIMARY KEY,  -- the order runs were first recorded in
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status = 'running' OR status = 'succeeded' OR status = 'failed' OR status = 'skipped' OR
                             status = 'interrupted'),
  inputs TEXT,
  outputs TEXT,
  error TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  client TEXT,  -- the HTTP client's own retries and waits (schema 7)
  UNIQUE(execution_id, path, attempt)
);
CREATE TABLE IF NOT EXISTS api_tokens(
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK(role = 'viewer' OR role = 'operator' OR role = 'admin'),
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  last_used_at INTEGER  -- schema 8
);
CREATE TABLE IF NOT EXISTS hook_deliveries(
  event_id TEXT PRIMARY KEY,
  hook TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  events INTEGER NOT NULL,
  started TEXT NOT NULL,
  redeliveries INTEGER NOT NULL DEFAULT 0,  -- schema 8
  last_redelivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS hook_deliveries_by_time ON hook_deliveries(received_at);
CREATE TABLE IF NOT EXISTS ui_sessions(  -- schema 8
  id_hash TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedule_fires(
  flow TEXT NOT NULL,
  trigger TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK(outcome = 'enqueued' OR outcome = 'skipped_overlap' OR outcome = 'missed'),
  execution_id TEXT,
  missed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(flow, trigger, scheduled_at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS schedule_fires_by_execution ON schedule_fires(execution_id) WHERE execution_id IS NOT NULL;
)sql";

// From schemas 1-3: the tables are rebuilt under the current definitions, rows kept. Unfinished
// executions become runnable at once (a `running` one as if its lease had expired): the
// processes that ran them were judged by pid, which no longer counts.
constexpr const char* kMoveOld = R"sql(
DROP INDEX IF EXISTS executions_by_flow;
DROP INDEX IF EXISTS executions_by_status;
DROP INDEX IF EXISTS executions_by_parent;
ALTER TABLE executions RENAME TO executions_old;
ALTER TABLE step_runs RENAME TO step_runs_old;
)sql";
constexpr const char* kCopyOld = R"sql(
INSERT INTO executions(id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, started_at,
                       finished_at, outputs, error, parent_id, parent_step, run_at, lease_owner, lease_until)
  SELECT id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, started_at, finished_at, outputs,
         error, parent_id, parent_step,
         CASE WHEN status = 'queued' THEN created_at END,
         CASE WHEN status = 'running' AND parent_id IS NULL THEN owner END,
         CASE WHEN status = 'running' AND parent_id IS NULL THEN 0 END
  FROM executions_old;
INSERT INTO step_runs(execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at)
  SELECT execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at
  FROM step_runs_old ORDER BY seq;
DROP TABLE executions_old;
DROP TABLE step_runs_old;
)sql";

int user_version(sqlite3* db) {
  Statement v(db, "PRAGMA user_version");
  int version = 0;
  if (v.next()) version = static_cast<int>(v.integer(0));
  v.done();
  return version;
}

bool has_column(sqlite3* db, const char* table, const char* column) {
  Statement s(db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2");
  s.bind(1, std::string(table)).bind(2, std::string(column));
  const bool found = s.next() && s.integer(0) > 0;
  s.done();
  return found;
}

}  // namespace

int create_or_migrate(sqlite3* db, const std::string& path, bool migrate) {
  int found = 0;
  exec(db, "BEGIN IMMEDIATE");
  try {
    // Read under the write lock: two processes opening a new store at once migrate it once.
    const int version = user_version(db);
    found = version;
    if (version > kSchemaVersion)
      throw std::runtime_error("store '" + path + "' was written by a newer spokeflow (schema " +
                               std::to_string(version) + "; this one reads up to " + std::to_string(kSchemaVersion) + ")");
    if (version != kSchemaVersion) {
      bool has_tables = false;
      {
        Statement t(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'executions'");
        if (t.next()) has_tables = t.integer(0) > 0;
        t.done();
      }
      if (has_tables && !migrate)
        throw std::runtime_error("store '" + path + "' has schema " + std::to_string(version) + "; this spokeflow uses " +
                                 std::to_string(kSchemaVersion) +
                                 ": run `spokeflow store migrate` first (or start serve or worker with --migrate)");
      if (!has_tables) found = 0;
      // Schemas 1-3 rebuild the queue's tables; later ones only gain tables.
      const bool rebuild = has_tables && version < 4;
      if (rebuild) exec(db, kMoveOld);
      exec(db, kTables);
      if (rebuild) exec(db, kCopyOld);
      // Schema 7: step runs record their HTTP client's retries and waits.
      if (has_tables && !rebuild && version < 7) exec(db, "ALTER TABLE step_runs ADD COLUMN client TEXT");
      // Schema 8: tokens keep when they were last used, deliveries count their redeliveries (a
      // store of schema 4 or older had neither table: kTables made them whole above).
      if (!has_column(db, "api_tokens", "last_used_at")) exec(db, "ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER");
      if (!has_column(db, "hook_deliveries", "redeliveries"))
        exec(db, "ALTER TABLE hook_deliveries ADD COLUMN redeliveries INTEGER NOT NULL DEFAULT 0; "
                 "ALTER TABLE hook_deliveries ADD COLUMN last_redelivered_at INTEGER;");
      exec(db, "PRAGMA user_version=" + std::to_string(kSchemaVersion));
    }
    exec(db, "COMMIT");
  } catch (...) {
    exec_noexcept(db, "ROLLBACK");
    throw;
  }
  return found;
}

}  // namespace spokeflow::store::sqlite
