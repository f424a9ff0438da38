// The SQLite store's schema versions: an older store is refused until migrated, and migrating
// keeps its rows (schemas 1, 2, 3, 6 and 7 as they were shipped, written by hand).
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <string>

#include "store/sqlite_schema.hpp"
#include "store/store.hpp"
#include "store_records.hpp"

using namespace spokeflow;
using spokeflow::test::make_exec;
using TempDir = spokeflow::test::StoreTempDir;

namespace {
// A store as schema 1 shipped it (status checks as IN lists), with one execution and two step runs.
constexpr const char* kSchema1 = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE flow_sources(hash TEXT PRIMARY KEY, source TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE executions(id TEXT PRIMARY KEY, flow_name TEXT NOT NULL, flow_file TEXT NOT NULL,
  flow_hash TEXT NOT NULL REFERENCES flow_sources(hash), inputs TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('queued','running','succeeded','failed','cancelled')),
  trigger TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, outputs TEXT,
  error TEXT, parent_id TEXT, parent_step TEXT, owner TEXT) WITHOUT ROWID;
CREATE INDEX executions_by_flow ON executions(flow_name, id);
CREATE INDEX executions_by_status ON executions(status, id);
CREATE UNIQUE INDEX executions_by_parent ON executions(parent_id, parent_step) WHERE parent_id IS NOT NULL;
CREATE TABLE step_runs(execution_id TEXT NOT NULL, path TEXT NOT NULL, attempt INTEGER NOT NULL, seq INTEGER NOT NULL,
  kind TEXT NOT NULL, status TEXT NOT NULL CHECK(status IN ('running','succeeded','failed','skipped')),
  inputs TEXT, outputs TEXT, error TEXT, started_at INTEGER, finished_at INTEGER,
  PRIMARY KEY(execution_id, path, attempt)) WITHOUT ROWID;
INSERT INTO flow_sources VALUES('h1', 'name: old');
INSERT INTO executions VALUES('01OLD', 'old', 'flows/old.yaml', 'h1', '{"x":1}', 'running', '{"type":"cli"}', 5,
  6, NULL, NULL, NULL, NULL, NULL, 'host:9');
INSERT INTO step_runs VALUES('01OLD', 'second', 1, 9, 'core.noop', 'running', '{}', NULL, NULL, 8, NULL);
INSERT INTO step_runs VALUES('01OLD', 'first', 1, 4, 'core.noop', 'succeeded', '{}', '{"ok":true}', NULL, 6, 7);
PRAGMA user_version=1;
)sql";

void write_raw(const std::string& db, const char* sql) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(raw, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(raw);
  REQUIRE(rc == SQLITE_OK);
}
}  // namespace

TEST_CASE("a store of an older schema is refused unless told to migrate; migrate_store says from which") {
  TempDir dir;
  std::string db = (dir.path / "old.db").string();
  write_raw(db, kSchema1);
  std::string message;
  try {
    store::open_sqlite_store(db, false);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  const int current = store::sqlite::kSchemaVersion;
  CHECK(message.find("has schema 1; this spokeflow uses " + std::to_string(current)) != std::string::npos);
  CHECK(message.find("spokeflow store migrate") != std::string::npos);
  auto change = store::migrate_store(db);  // untouched by the refusal: still schema 1
  CHECK(change.from == 1);
  CHECK(change.to == current);
  auto st = store::open_sqlite_store(db, false);  // current now
  REQUIRE(st->get_execution("01OLD"));
  CHECK(st->step_runs("01OLD").size() == 2);
  st.reset();
  change = store::migrate_store(db);
  CHECK(change.from == current);
  // A new store is created whatever the setting (there is nothing to migrate).
  CHECK_NOTHROW(store::open_sqlite_store((dir.path / "new.db").string(), false));
  CHECK(store::migrate_store((dir.path / "new2.db").string()).from == 0);
}

TEST_CASE("a store written with schema 1 is migrated with its rows") {
  TempDir dir;
  std::string db = (dir.path / "old.db").string();
  write_raw(db, kSchema1);
  auto st = store::open_sqlite_store(db);
  auto rec = st->get_execution("01OLD");
  REQUIRE(rec);
  CHECK(rec->flow_source == "name: old");
  CHECK(rec->lease_owner == "host:9");
  CHECK(rec->lease_until == 0);  // its process was judged by pid: the lease is over
  auto runs = st->step_runs("01OLD");
  REQUIRE(runs.size() == 2);  // still in the order first recorded
  CHECK(runs[0].path == "first");
  CHECK(runs[0].outputs["ok"] == true);
  CHECK(runs[1].path == "second");
  store::ClaimOptions o;
  o.worker = "w";
  auto claims = st->claim(o, now_unix_ms());
  REQUIRE(claims.size() == 1);  // a running execution of an old store is anyone's to resume
  CHECK(claims[0].was == "running");
  store::ExecutionFilter f;
  f.flow = "old";
  CHECK(st->list_executions(f).size() == 1);  // the index by flow exists again
  // New rows go in under the new checks, and a bad status is still refused.
  auto rec2 = make_exec("old");
  st->enqueue(rec2);
  CHECK_THROWS_AS(st->finish_execution(rec2.id, "weird", nullptr, nullptr, 1, {}), std::runtime_error);
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, "SELECT (SELECT user_version FROM pragma_user_version), "
                                    "(SELECT count(*) FROM sqlite_master WHERE name LIKE '%_old'), "
                                    "(SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'executions_by_%')",
                               -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    CHECK(sqlite3_column_int(s, 0) == store::sqlite::kSchemaVersion);
    CHECK(sqlite3_column_int(s, 1) == 0);
    CHECK(sqlite3_column_int(s, 2) == 4);  // by flow, by status, by dedupe key, by flow source
    sqlite3_finalize(s);
    sqlite3_close(raw);
  }
}

TEST_CASE("a store of schema 6 gains the step runs' client column, its rows kept") {
  TempDir dir;
  std::string db = (dir.path / "six.db").string();
  auto rec = make_exec("six");
  {
    auto st = store::open_sqlite_store(db);
    st->enqueue(rec);
    store::StepRun r;
    r.execution_id = rec.id;
    r.path = "a";
    r.status = "succeeded";
    r.kind = "core.echo";
    r.outputs = {{"x", 1}};
    st->record_step(r, {});
  }
  {
    // Schema 6 as shipped: step_runs without `client`.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "ALTER TABLE step_runs DROP COLUMN client; PRAGMA user_version=6;", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  CHECK_THROWS_AS(store::open_sqlite_store(db, false), std::runtime_error);
  auto st = store::open_sqlite_store(db);
  auto runs = st->step_runs(rec.id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].outputs["x"] == 1);
  CHECK(runs[0].client.is_null());
  store::StepRun again = runs[0];
  again.attempt = 2;
  again.client = {{"retries", 2}, {"retry_wait_ms", 1500}};
  st->record_step(again, {});
  runs = st->step_runs(rec.id);
  REQUIRE(runs.size() == 2);
  CHECK(runs[1].client["retries"] == 2);
  CHECK(runs[1].client["retry_wait_ms"] == 1500);
}

TEST_CASE("a store of schema 7 gains the tokens' last use, the deliveries' redelivery count and the sessions table, its rows kept") {
  TempDir dir;
  std::string db = (dir.path / "seven.db").string();
  {
    auto st = store::open_sqlite_store(db);
    REQUIRE(st->record_delivery({"evt-7", "okta", 5, 1, Json::array()}));
  }
  {
    // Schema 7 as shipped: hook_deliveries without the two columns, no ui_sessions.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw,
                         "DROP TABLE ui_sessions; ALTER TABLE api_tokens DROP COLUMN last_used_at; "
                         "ALTER TABLE hook_deliveries DROP COLUMN redeliveries; "
                         "ALTER TABLE hook_deliveries DROP COLUMN last_redelivered_at; PRAGMA user_version=7;",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  CHECK_THROWS_WITH(store::open_sqlite_store(db, false), doctest::Contains("has schema 7"));
  CHECK(store::migrate_store(db).from == 7);
  auto st = store::open_sqlite_store(db, false);
  auto d = st->delivery("evt-7");
  REQUIRE(d);
  CHECK(d->redeliveries == 0);
  CHECK(d->last_redelivered_at == 0);
  CHECK(st->record_redelivery("evt-7", 11));
  CHECK(st->delivery("evt-7")->redeliveries == 1);
  st->add_ui_session({"s", "t", 1, 2}, 10);
  CHECK(st->ui_session("s"));
  REQUIRE(st->add_token({"t7", "viewer", "h7", 1, 0, 0}));
  st->note_token_used("t7", 42);
  CHECK(st->token_by_hash("h7")->last_used_at == 42);
}

TEST_CASE("stores written with schemas 2 and 3 are migrated with their rows; the index by parent is gone") {
  for (int version : {2, 3}) {
    CAPTURE(version);
    TempDir dir;
    std::string db = (dir.path / "v.db").string();
    {
      sqlite3* raw = nullptr;
      REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
      // Schemas 2 and 3 as shipped (2 had an index of executions by parent on top).
      std::string sql = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE flow_sources(hash TEXT PRIMARY KEY, source TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE executions(id TEXT PRIMARY KEY, flow_name TEXT NOT NULL, flow_file TEXT NOT NULL,
  flow_hash TEXT NOT NULL REFERENCES flow_sources(hash), inputs TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status = 'queued' OR status = 'running' OR status = 'succeeded' OR status = 'failed' OR
                             status = 'cancelled'),
  trigger TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, outputs TEXT,
  error TEXT, parent_id TEXT, parent_step TEXT, owner TEXT);
CREATE INDEX executions_by_flow ON executions(flow_name, id);
CREATE INDEX executions_by_status ON executions(status, id);
CREATE TABLE step_runs(execution_id TEXT NOT NULL, path TEXT NOT NULL, attempt INTEGER NOT NULL, seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL, status TEXT NOT NULL CHECK(status = 'running' OR status = 'succeeded' OR status = 'failed' OR
  status = 'skipped'), inputs TEXT, outputs TEXT, error TEXT, started_at INTEGER, finished_at INTEGER,
  UNIQUE(execution_id, path, attempt));
INSERT INTO flow_sources VALUES('h1', 'name: p');
INSERT INTO executions VALUES('01PARENT', 'p', 'flows/p.yaml', 'h1', '{}', 'queued', '{"type":"cli"}', 5,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO executions VALUES('01CHILD', 'p', 'flows/p.yaml', 'h1', '{}', 'running', '{"type":"subflow"}', 6,
  6, NULL, NULL, NULL, '01PARENT', 'sub', 'host:9');
)sql";
      if (version == 2)
        sql += "CREATE UNIQUE INDEX executions_by_parent ON executions(parent_id, parent_step) WHERE parent_id IS NOT NULL;\n";
      sql += "PRAGMA user_version=" + std::to_string(version) + ";";
      REQUIRE(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
      sqlite3_close(raw);
    }
    auto st = store::open_sqlite_store(db);
    auto got = st->get_execution("01CHILD");
    REQUIRE(got);
    CHECK(got->parent_id == "01PARENT");
    CHECK(got->lease_owner.empty());  // a child runs under its parent's lease
    CHECK(st->list_executions({}).size() == 2);
    store::ClaimOptions o;
    o.worker = "w";
    o.limit = 10;
    auto claims = st->claim(o, now_unix_ms());
    REQUIRE(claims.size() == 1);
    CHECK(claims[0].id == "01PARENT");
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'executions_by_parent'", -1, &s,
                               nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    CHECK(sqlite3_column_int(s, 0) == 0);
    sqlite3_finalize(s);
    sqlite3_close(raw);
  }
}
