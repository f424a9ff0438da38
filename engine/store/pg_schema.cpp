#include "store/pg_schema.hpp"

#include <stdexcept>

namespace spokeflow::store::pg {
namespace {

// As SQLite's schema 5, in PostgreSQL's types; JSON values are kept as the text the engine
// wrote (no jsonb: it would reorder keys and parse every record on its way in).
constexpr const char* kTables = R"sql(
CREATE TABLE spokeflow_meta(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE flow_sources(
  hash TEXT PRIMARY KEY,
  source TEXT NOT NULL
);
CREATE TABLE executions(
  id TEXT PRIMARY KEY,
  flow_name TEXT NOT NULL,
  flow_file TEXT NOT NULL,
  flow_hash TEXT NOT NULL REFERENCES flow_sources(hash),
  inputs TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  trigger TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  outputs TEXT,
  error TEXT,
  parent_id TEXT,
  parent_step TEXT,
  run_at BIGINT,
  dedupe_key TEXT UNIQUE,
  lease_owner TEXT,
  lease_until BIGINT,
  epoch BIGINT NOT NULL DEFAULT 0,
  strikes INTEGER NOT NULL DEFAULT 0,
  progress BIGINT NOT NULL DEFAULT 0,  -- finished step runs when last claimed
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  retried_at BIGINT
);
CREATE INDEX executions_by_flow ON executions(flow_name, id);
CREATE INDEX executions_by_status ON executions(status, id);
-- A failed tree is walked from its root down (claims that end a crash loop).
CREATE INDEX executions_by_parent ON executions(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX executions_runnable ON executions(run_at)
  WHERE parent_id IS NULL AND status IN ('queued', 'waiting');
CREATE INDEX executions_leased ON executions(lease_until)
  WHERE parent_id IS NULL AND status = 'running';
CREATE TABLE step_runs(
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order runs were first recorded in
  execution_id TEXT NOT NULL,
  path TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('running', 'succeeded', 'failed', 'skipped', 'interrupted')),
  inputs TEXT,
  outputs TEXT,
  error TEXT,
  started_at BIGINT,
  finished_at BIGINT,
  UNIQUE(execution_id, path, attempt)
);
CREATE TABLE api_tokens(
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK(role IN ('viewer', 'operator', 'admin')),
  hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE TABLE hook_deliveries(
  event_id TEXT PRIMARY KEY,
  hook TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  events INTEGER NOT NULL,
  started TEXT NOT NULL
);
CREATE INDEX hook_deliveries_by_time ON hook_deliveries(received_at);
CREATE TABLE schedule_fires(
  flow TEXT NOT NULL,
  trigger TEXT NOT NULL,
  scheduled_at BIGINT NOT NULL,
  recorded_at BIGINT NOT NULL,
  outcome TEXT NOT NULL CHECK(outcome IN ('enqueued', 'skipped_overlap', 'missed')),
  execution_id TEXT,
  missed BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY(flow, trigger, scheduled_at)
);
)sql";

// 3: the shared Okta rate budget (pg_rate_budget.hpp): a row per org and bucket.
constexpr const char* kRateBudget = R"sql(
CREATE TABLE rate_budget(
  org TEXT NOT NULL,                 -- the org's host (and port)
  bucket TEXT NOT NULL,              -- Okta's rate-limit bucket
  lim BIGINT NOT NULL,               -- X-Rate-Limit-Limit
  window_end BIGINT NOT NULL,        -- X-Rate-Limit-Reset in ms; 0: opened, end not heard yet
  prev_end BIGINT NOT NULL,          -- the window before's end: its late answers change nothing
  opened_at BIGINT NOT NULL,         -- when the taker that opened the window reckoned it began
  taken BIGINT NOT NULL,             -- permits handed out of the window
  remaining BIGINT,                  -- the lowest X-Rate-Limit-Remaining answered in it
  PRIMARY KEY(org, bucket)
);
)sql";

// Each version's migration from the one before, in order; the version is recorded in
// spokeflow_meta with the last one applied. A later version appends its own (ALTER TABLE ...).
struct Migration {
  int version;
  const char* sql;
};
// 2: retention: executions by flow source (deleting a source checks its foreign key through
//    it) and schedule fires by execution, as SQLite's schema 6.
constexpr const char* kRetention = R"sql(
CREATE INDEX executions_by_flow_hash ON executions(flow_hash);
CREATE INDEX schedule_fires_by_execution ON schedule_fires(execution_id) WHERE execution_id IS NOT NULL;
)sql";
// 4: step runs keep what their HTTP client did on its own (retries, waits), as SQLite's schema 7.
constexpr const char* kClientActivity = "ALTER TABLE step_runs ADD COLUMN client TEXT;";
// 5: tokens keep when they were last used; deliveries count the times they were received
//    again; the web view's sessions (SQLite's schema 8).
constexpr const char* kSchema5 = R"sql(
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE hook_deliveries ADD COLUMN redeliveries BIGINT NOT NULL DEFAULT 0, ADD COLUMN last_redelivered_at BIGINT;
CREATE TABLE ui_sessions(
  id_hash TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
)sql";
constexpr Migration kMigrations[] = {
    {1, kTables},
    {2, kRetention},
    {3, kRateBudget},
    {4, kClientActivity},
    {5, kSchema5},
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion, "one migration per schema version");

// Any number the processes of one database agree on: it serializes their first opening.
constexpr const char* kLock = "SELECT pg_advisory_xact_lock(7319140526)";

// In the schema the store's tables are made in (the first existing one of the search_path).
bool table_exists(Conn& conn, const char* name) {
  Params p;
  p.add(std::string(name));
  return conn.exec("SELECT EXISTS(SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1::text)", p)
             .text(0, 0) == "t";
}

}  // namespace

int create_or_migrate_in_transaction(Conn& conn, bool migrate) {
  int version = 0;
  conn.exec(kLock);
  if (conn.exec("SELECT current_schema() IS NULL").text(0, 0) == "t")
    throw std::runtime_error("store " + conn.where() +
                             ": no schema to create the tables in (the search_path names none that exists)");
  if (table_exists(conn, "spokeflow_meta")) {
    auto r = conn.exec("SELECT value FROM spokeflow_meta WHERE key = 'schema_version'");
    version = r.rows() ? std::stoi(r.text(0, 0)) : 0;
    if (version > kSchemaVersion)
      throw std::runtime_error("store " + conn.where() + " was written by a newer spokeflow (schema " +
                               std::to_string(version) + "; this one reads up to " + std::to_string(kSchemaVersion) + ")");
    if (version < 1) throw std::runtime_error("store " + conn.where() + ": its schema version is missing");
    if (version < kSchemaVersion && !migrate)
      throw std::runtime_error("store " + conn.where() + " has schema " + std::to_string(version) +
                               "; this spokeflow uses " + std::to_string(kSchemaVersion) +
                               ": run `spokeflow store migrate` first (or start serve or worker with --migrate)");
  } else if (table_exists(conn, "executions")) {
    throw std::runtime_error("store " + conn.where() +
                             ": the database has an `executions` table that is not a spokeflow store's");
  }
  for (const auto& m : kMigrations)
    if (m.version > version) conn.exec(m.sql);
  if (version < kSchemaVersion)
    conn.exec("INSERT INTO spokeflow_meta(key, value) VALUES('schema_version', '" + std::to_string(kSchemaVersion) +
              "') ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  return version;
}

int create_or_migrate(Conn& conn, bool migrate) {
  int version = 0;
  conn.exec("BEGIN");
  try {
    version = create_or_migrate_in_transaction(conn, migrate);
    conn.exec("COMMIT");
  } catch (...) {
    try {
      if (conn.ok()) conn.exec("ROLLBACK");
    } catch (const std::exception&) {
      // The first failure is the one worth reporting.
    }
    throw;
  }
  return version;
}

}  // namespace spokeflow::store::pg
