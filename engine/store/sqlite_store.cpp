// SQLite implementation of the execution store. WAL with synchronous=NORMAL: a committed
// transaction survives a crash of the process (what resume needs); an OS crash may lose the
// last few commits, never corrupt the file.
#include <sqlite3.h>

#include <chrono>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "common/json_text.hpp"
#include "store/store.hpp"

namespace spokeflow::store {
namespace {

// 2: status checks written as comparisons (an IN list made SQLite build a temporary table on
//    every insert and update); rowid tables (WITHOUT ROWID moved every record over ~1 KB, an
//    Okta user, to overflow pages: a step record cost 3x the time and the file 3x the space).
// 3: no index of executions by parent and step: a parent's journal names each child it starts
//    (the index cost every child's insert a page out of order: 9% of the WAL frames with 16
//    child executions at a time).
constexpr int kSchemaVersion = 3;

#define kSelectExec                                                                                               \
  "SELECT e.id, e.flow_name, e.flow_file, e.flow_hash, src.source, e.inputs, e.status, e.trigger, e.created_at, " \
  "e.started_at, e.finished_at, e.outputs, e.error, e.parent_id, e.parent_step, e.owner FROM executions e "      \
  "JOIN flow_sources src ON src.hash = e.flow_hash"

// From schema 1: the tables are rebuilt under the current definitions, rows kept as they are.
constexpr const char* kMigrateFrom1Before = R"sql(
DROP INDEX IF EXISTS executions_by_flow;
DROP INDEX IF EXISTS executions_by_status;
DROP INDEX IF EXISTS executions_by_parent;
ALTER TABLE executions RENAME TO executions_v1;
ALTER TABLE step_runs RENAME TO step_runs_v1;
)sql";
constexpr const char* kMigrateFrom1After = R"sql(
INSERT INTO executions SELECT * FROM executions_v1;
INSERT INTO step_runs(execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at)
  SELECT execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at
  FROM step_runs_v1 ORDER BY seq;
DROP TABLE executions_v1;
DROP TABLE step_runs_v1;
)sql";

constexpr const char* kSchema = R"sql(
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
  status TEXT NOT NULL CHECK(status = 'queued' OR status = 'running' OR status = 'succeeded' OR status = 'failed' OR
                             status = 'cancelled'),
  trigger TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  outputs TEXT,
  error TEXT,
  parent_id TEXT,
  parent_step TEXT,
  owner TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_flow ON executions(flow_name, id);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions(status, id);
CREATE TABLE IF NOT EXISTS step_runs(
  execution_id TEXT NOT NULL,
  path TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  seq INTEGER PRIMARY KEY,  -- the order runs were first recorded in
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status = 'running' OR status = 'succeeded' OR status = 'failed' OR status = 'skipped'),
  inputs TEXT,
  outputs TEXT,
  error TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  UNIQUE(execution_id, path, attempt)
);
)sql";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// One prepared statement, reset on every use.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("store: cannot prepare statement: ") + sqlite3_errmsg(db));
    stmt_.reset(s);
  }
  Statement& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind_or_null(int i, const std::string& v) {
    if (v.empty()) check(sqlite3_bind_null(stmt_.get(), i));
    else bind(i, v);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_.get(), i, v));
    return *this;
  }
  Statement& bind_time(int i, std::int64_t v) {
    if (v == 0) check(sqlite3_bind_null(stmt_.get(), i));
    else check(sqlite3_bind_int64(stmt_.get(), i, v));
    return *this;
  }
  // Runs a statement that returns no rows.
  void run() {
    int rc = sqlite3_step(stmt_.get());
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("store: write failed: ") + sqlite3_errmsg(db_));
  }
  bool next() {
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("store: read failed: ") + sqlite3_errmsg(db_));
    return false;
  }
  void done() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_.get(), col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)))
             : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  Json json(int col) const {
    if (sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL) return nullptr;
    // Records hold bounded values (common/json_text.hpp); deeper text reads as unreadable, as malformed text does.
    auto parsed = parse_json(text(col), kMaxRecordDepth);
    return parsed ? std::move(parsed).value() : Json(Json::value_t::discarded);
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw std::runtime_error(std::string("store: bind failed: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  StmtPtr stmt_;
};

class SqliteStore final : public ExecutionStore {
 public:
  SqliteStore(const std::string& path, std::size_t cap) : cap_(cap) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK)
      throw std::runtime_error("cannot open store '" + path + "': " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(db_.get(), 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    int version = 0;
    {
      Statement v(db_.get(), "PRAGMA user_version");
      if (v.next()) version = static_cast<int>(v.integer(0));
      v.done();
    }
    if (version > kSchemaVersion)
      throw std::runtime_error("store '" + path + "' was written by a newer spokeflow (schema " +
                               std::to_string(version) + ")");
    exec("BEGIN IMMEDIATE");
    try {
      if (version == 1) exec(kMigrateFrom1Before);
      exec(kSchema);
      if (version == 1) exec(kMigrateFrom1After);
      if (version == 2) exec("DROP INDEX IF EXISTS executions_by_parent");
      exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
      exec("COMMIT");
    } catch (...) {
      exec_noexcept("ROLLBACK");
      throw;
    }
    insert_source_ = std::make_unique<Statement>(db_.get(), "INSERT OR IGNORE INTO flow_sources(hash, source) VALUES(?1, ?2)");
    insert_exec_ = std::make_unique<Statement>(db_.get(),
        "INSERT INTO executions(id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, started_at, "
        "parent_id, parent_step, owner) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
    set_running_ = std::make_unique<Statement>(db_.get(),
        "UPDATE executions SET status='running', started_at=COALESCE(started_at, ?2), owner=?3 WHERE id=?1");
    claim_ = std::make_unique<Statement>(db_.get(),
        "UPDATE executions SET owner=?3 WHERE id=?1 AND COALESCE(owner, '')=?2 AND status IN ('queued','running')");
    finish_exec_ = std::make_unique<Statement>(db_.get(),
        "UPDATE executions SET status=?2, outputs=?3, error=?4, finished_at=?5 WHERE id=?1");
    upsert_step_ = std::make_unique<Statement>(db_.get(),
        "INSERT INTO step_runs(execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
        "ON CONFLICT(execution_id, path, attempt) DO UPDATE SET status=excluded.status, inputs=excluded.inputs, "
        "outputs=excluded.outputs, error=excluded.error, started_at=excluded.started_at, finished_at=excluded.finished_at");
    begin_ = std::make_unique<Statement>(db_.get(), "BEGIN IMMEDIATE");
    commit_ = std::make_unique<Statement>(db_.get(), "COMMIT");
    get_exec_ = std::make_unique<Statement>(db_.get(), kSelectExec " WHERE e.id = ?1");
    savepoint_ = std::make_unique<Statement>(db_.get(), "SAVEPOINT write");
    rollback_to_ = std::make_unique<Statement>(db_.get(), "ROLLBACK TO write");
    release_ = std::make_unique<Statement>(db_.get(), "RELEASE write");
  }

  ~SqliteStore() override {
    try {
      flush();
    } catch (const std::exception&) {
      // The batch is lost; resume re-runs those harmless steps.
    }
  }

  void flush() override {
    commit_batch();
    if (!lost_.empty())
      throw std::runtime_error("store: batched records were rolled back with a write that failed: " +
                               std::exchange(lost_, std::string()));
  }

  // A lost batch counts as batched until a flush has reported it.
  bool has_batched() const override { return in_batch_ || !lost_.empty(); }

  void create_execution(ExecutionRecord r, Durability durability) override {
    // Two statements: a savepoint keeps a failure of the second from leaving the first.
    write(durability, [&] {
      savepoint_->run();
      try {
        // Every child of a flow carries the same source: bind it once per process.
        if (!known_sources_.count(r.flow_hash)) insert_source_->bind(1, r.flow_hash).bind(2, r.flow_source).run();
        std::string inputs = capped_dump(r.inputs, cap_), trigger = capped_dump(r.trigger, cap_);
        insert_exec_->bind(1, r.id).bind(2, r.flow_name).bind(3, r.flow_file).bind(4, r.flow_hash).bind(5, inputs)
            .bind(6, r.status).bind(7, trigger).bind(8, r.created_at).bind_time(9, r.started_at)
            .bind_or_null(10, r.parent_id).bind_or_null(11, r.parent_step).bind_or_null(12, r.owner).run();
      } catch (...) {
        if (!sqlite3_get_autocommit(db_.get())) {
          rollback_to_->run();
          release_->run();
        }
        throw;
      }
      release_->run();
    });
    known_sources_.insert(r.flow_hash);
  }

  void set_execution_running(std::string id, std::int64_t started_at, std::string owner,
                             Durability durability) override {
    write(durability, [&] { set_running_->bind(1, id).bind(2, started_at).bind(3, owner).run(); });
  }

  bool claim_execution(const std::string& id, const std::string& expected_owner, const std::string& new_owner) override {
    bool claimed = false;
    write(Durability::now, [&] {
      claim_->bind(1, id).bind(2, expected_owner).bind(3, new_owner).run();
      claimed = sqlite3_changes(db_.get()) == 1;
    });
    return claimed;
  }

  void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t finished_at,
                        Durability durability) override {
    write(durability, [&] {
      finish_exec_->bind(1, id).bind(2, status);
      bind_json(*finish_exec_, 3, outputs);
      bind_json(*finish_exec_, 4, error);
      finish_exec_->bind(5, finished_at).run();
    });
  }

  void record_step(StepRun r, Durability durability) override {
    write(durability, [&] {
      auto& s = *upsert_step_;
      s.bind(1, r.execution_id).bind(2, r.path).bind(3, static_cast<std::int64_t>(r.attempt)).bind(4, r.kind).bind(5, r.status);
      bind_json(s, 6, r.inputs);
      bind_json(s, 7, r.outputs);
      bind_json(s, 8, r.error);
      s.bind_time(9, r.started_at).bind_time(10, r.finished_at).run();
    });
  }

 private:
  // Every write joins the open group-commit transaction (opening one when needed); `now` then
  // commits the whole batch. A statement that fails is undone by SQLite alone, the batch
  // before it stays; an error that made SQLite roll back the whole transaction ends the batch.
  template <class Body>
  void write(Durability durability, Body&& body) {
    // Records that others batched were lost: until a commit has told those waiting for it, a
    // new batch would put later records on disk without the earlier ones (a child without
    // the parent's record naming it).
    if (durability == Durability::batched && !lost_.empty())
      throw std::runtime_error("store: not written: batched records were rolled back with a failed write and no commit has reported it yet");
    std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch()).count();
    if (!in_batch_) {
      begin_->run();
      in_batch_ = true;
      batch_started_ms_ = now;
    }
    const int earlier = batched_;  // writes of others in this batch
    try {
      body();
    } catch (const std::exception& e) {
      if (sqlite3_get_autocommit(db_.get())) {  // SQLite rolled the whole transaction back
        in_batch_ = false;
        batched_ = 0;
        known_sources_.clear();
        if (earlier > 0) remember_lost(e.what());
      }
      throw;
    }
    if (durability == Durability::now || ++batched_ >= kMaxBatchRecords || now - batch_started_ms_ >= kMaxBatchAgeMs) {
      try {
        commit_batch();
      } catch (const std::exception& e) {
        if (earlier > 0) remember_lost(e.what());
        throw;
      }
    }
  }

  // Commits the open batch, if any; a failed commit rolls it back and throws.
  void commit_batch() {
    if (!in_batch_) return;
    in_batch_ = false;
    batched_ = 0;
    try {
      commit_->run();
    } catch (...) {
      exec_noexcept("ROLLBACK");
      known_sources_.clear();
      throw;
    }
  }

  // The caller of the failed write hears of it; those whose batched records went with it hear
  // of it from the next flush, which is what they wait for.
  void remember_lost(const char* what) {
    if (lost_.empty()) lost_ = what;
  }

 public:

  std::optional<ExecutionRecord> get_execution(const std::string& id) override {
    Statement& s = *get_exec_;
    s.bind(1, id);
    std::optional<ExecutionRecord> out;
    if (s.next()) out = read_exec(s);
    s.done();
    return out;
  }

  std::vector<ExecutionRecord> list_executions(const ExecutionFilter& f) override {
    std::string sql = kSelectExec " WHERE (?1 = '' OR e.flow_name = ?1) AND (?2 = '' OR e.status = ?2)";
    if (f.top_level_only) sql += " AND e.parent_id IS NULL";
    sql += " ORDER BY e.id DESC LIMIT ?3";
    Statement s(db_.get(), sql.c_str());
    s.bind(1, f.flow).bind(2, f.status).bind(3, static_cast<std::int64_t>(f.limit));
    std::vector<ExecutionRecord> out;
    while (s.next()) out.push_back(read_exec(s));
    return out;
  }

  std::vector<StepRun> step_runs(const std::string& execution_id) override {
    Statement s(db_.get(),
                "SELECT path, attempt, kind, status, inputs, outputs, error, started_at, finished_at FROM step_runs "
                "WHERE execution_id = ?1 ORDER BY seq");
    s.bind(1, execution_id);
    std::vector<StepRun> out;
    while (s.next()) {
      StepRun r;
      r.execution_id = execution_id;
      r.path = s.text(0);
      r.attempt = static_cast<int>(s.integer(1));
      r.kind = s.text(2);
      r.status = s.text(3);
      r.inputs = s.json(4);
      r.outputs = s.json(5);
      r.error = s.json(6);
      r.started_at = s.integer(7);
      r.finished_at = s.integer(8);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<ExecutionRecord> unfinished_executions() override {
    Statement s(db_.get(),
                "SELECT id, flow_name, COALESCE(owner, ''), status FROM executions "
                "WHERE status IN ('queued','running') AND parent_id IS NULL ORDER BY id");
    std::vector<ExecutionRecord> out;
    while (s.next()) {
      ExecutionRecord r;
      r.id = s.text(0);
      r.flow_name = s.text(1);
      r.owner = s.text(2);
      r.status = s.text(3);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:

  static ExecutionRecord read_exec(const Statement& s) {
    ExecutionRecord r;
    r.id = s.text(0);
    r.flow_name = s.text(1);
    r.flow_file = s.text(2);
    r.flow_hash = s.text(3);
    r.flow_source = s.text(4);
    r.inputs = s.json(5);
    r.status = s.text(6);
    r.trigger = s.json(7);
    r.created_at = s.integer(8);
    r.started_at = s.integer(9);
    r.finished_at = s.integer(10);
    r.outputs = s.json(11);
    r.error = s.json(12);
    r.parent_id = s.text(13);
    r.parent_step = s.text(14);
    r.owner = s.text(15);
    return r;
  }

  void bind_json(Statement& s, int i, const Json& v) {
    if (v.is_null()) {
      s.bind_or_null(i, std::string());
      return;
    }
    std::string text = capped_dump(v, cap_);
    s.bind(i, text);
  }

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error("store: " + msg);
    }
  }
  void exec_noexcept(const char* sql) noexcept { sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr); }

  DbPtr db_;
  std::size_t cap_;
  bool in_batch_ = false;        // a group-commit transaction is open
  int batched_ = 0;
  std::int64_t batch_started_ms_ = 0;
  std::unique_ptr<Statement> insert_source_, insert_exec_, set_running_, claim_, finish_exec_,
      upsert_step_, begin_, commit_, get_exec_, savepoint_, rollback_to_, release_;
  std::unordered_set<std::string> known_sources_;  // flow_sources rows known to exist
  std::string lost_;  // why batched records were rolled back outside flush(), until a flush reports it
};
#undef kSelectExec

}  // namespace

std::unique_ptr<ExecutionStore> open_sqlite_store(const std::string& path, std::size_t value_cap) {
  return std::make_unique<SqliteStore>(path, value_cap);
}

}  // namespace spokeflow::store
