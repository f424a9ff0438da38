// SQLite implementation of the execution store and its work queue. WAL with
// synchronous=NORMAL: a committed transaction survives a crash of the process (what resume
// needs); an OS crash may lose the last few commits, never corrupt the file. Every write runs
// in a BEGIN IMMEDIATE transaction, so the epoch a fenced write checks cannot change under it:
// another process's claim waits for the write lock.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_purge.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_service.hpp"
#include "store/store.hpp"

namespace spokeflow::store {
namespace {
using sqlite::Statement;

#define kSelectExec                                                                                                    \
  "SELECT e.id, e.flow_name, e.flow_file, e.flow_hash, src.source, e.inputs, e.status, e.trigger, e.created_at, "      \
  "e.started_at, e.finished_at, e.outputs, e.error, e.parent_id, e.parent_step, e.run_at, e.dedupe_key, "              \
  "e.lease_owner, e.lease_until, e.epoch, e.strikes, e.cancel_requested, e.retried_at FROM executions e "              \
  "JOIN flow_sources src ON src.hash = e.flow_hash"
#define kSelectExecLight                                                                                               \
  "SELECT e.id, e.flow_name, e.flow_file, e.flow_hash, '', e.inputs, e.status, e.trigger, e.created_at, "              \
  "e.started_at, e.finished_at, e.outputs, e.error, e.parent_id, e.parent_step, e.run_at, e.dedupe_key, "              \
  "e.lease_owner, e.lease_until, e.epoch, e.strikes, e.cancel_requested, e.retried_at FROM executions e"

// The store file holds user profiles: only its owner may read it (and the WAL and shared-memory
// files SQLite makes beside it take the database file's mode).
void create_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

std::string dump_value(const Json& v) { return dump_json(v); }

class SqliteStore final : public ExecutionStore {
 public:
  SqliteStore(const std::string& path, bool migrate) {
    create_private(path);
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK)
      throw std::runtime_error("cannot open store '" + path + "': " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(db_.get(), 5000);
    sqlite::exec(db_.get(), "PRAGMA journal_mode=WAL");
    sqlite::exec(db_.get(), "PRAGMA synchronous=NORMAL");
    sqlite::exec(db_.get(), "PRAGMA foreign_keys=ON");
    schema_found_ = sqlite::create_or_migrate(db_.get(), path, migrate);
    sqlite3* d = db_.get();
    insert_source_ = std::make_unique<Statement>(d, "INSERT OR IGNORE INTO flow_sources(hash, source) VALUES(?1, ?2)");
    insert_exec_ = std::make_unique<Statement>(d,
        "INSERT INTO executions(id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, started_at, "
        "parent_id, parent_step, run_at, dedupe_key) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13) "
        "ON CONFLICT DO NOTHING");
    by_dedupe_key_ = std::make_unique<Statement>(d, "SELECT id, created_at FROM executions WHERE dedupe_key = ?1");
    free_dedupe_key_ = std::make_unique<Statement>(d, "UPDATE executions SET dedupe_key = NULL WHERE id = ?1");
    epoch_of_ = std::make_unique<Statement>(d, "SELECT epoch FROM executions WHERE id = ?1");
    finish_exec_ = std::make_unique<Statement>(d,
        "UPDATE executions SET status=?2, outputs=?3, error=?4, finished_at=?5, lease_owner=NULL, lease_until=NULL, "
        "cancel_requested=0 WHERE id=?1");
    reopen_child_ = std::make_unique<Statement>(d,
        "UPDATE executions SET status='running', outputs=NULL, error=NULL, finished_at=NULL WHERE id=?1");
    upsert_step_ = std::make_unique<Statement>(d,
        "INSERT INTO step_runs(execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at, "
        "client) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
        "ON CONFLICT(execution_id, path, attempt) DO UPDATE SET status=excluded.status, inputs=excluded.inputs, "
        "outputs=excluded.outputs, error=excluded.error, started_at=excluded.started_at, finished_at=excluded.finished_at, "
        "client=excluded.client");
    begin_ = std::make_unique<Statement>(d, "BEGIN IMMEDIATE");
    commit_ = std::make_unique<Statement>(d, "COMMIT");
    get_exec_ = std::make_unique<Statement>(d, kSelectExec " WHERE e.id = ?1");
    savepoint_ = std::make_unique<Statement>(d, "SAVEPOINT write");
    rollback_to_ = std::make_unique<Statement>(d, "ROLLBACK TO write");
    release_sp_ = std::make_unique<Statement>(d, "RELEASE write");
    runnable_ = std::make_unique<Statement>(d,
        "SELECT * FROM (SELECT id, flow_name, status, epoch, strikes, progress FROM executions "
        "  WHERE parent_id IS NULL AND (status = 'queued' OR status = 'waiting') AND run_at <= ?1 "
        "  AND (?3 = '' OR id = ?3) ORDER BY run_at LIMIT ?2) "
        "UNION ALL SELECT * FROM (SELECT id, flow_name, status, epoch, strikes, progress FROM executions "
        "  WHERE parent_id IS NULL AND status = 'running' AND lease_until <= ?1 "
        "  AND (?3 = '' OR id = ?3) ORDER BY lease_until LIMIT ?2)");
    finished_steps_ = std::make_unique<Statement>(d,
        "SELECT count(*) FROM step_runs WHERE execution_id = ?1 AND status <> 'running' AND status <> 'interrupted'");
    take_lease_ = std::make_unique<Statement>(d,
        "UPDATE executions SET status='running', lease_owner=?2, lease_until=?3, epoch=epoch+1, strikes=?4, progress=?5, "
        "started_at=COALESCE(started_at, ?6), run_at=NULL WHERE id=?1");
    renew_ = std::make_unique<Statement>(d,
        "UPDATE executions SET lease_until=?3 WHERE id=?1 AND epoch=?2 AND status='running' RETURNING cancel_requested");
    release_lease_ = std::make_unique<Statement>(d,
        "UPDATE executions SET status=?3, run_at=?4, lease_owner=NULL, lease_until=NULL, strikes=0 "
        "WHERE id=?1 AND epoch=?2 AND status='running'");
  }

  int schema_found() const { return schema_found_; }

  ~SqliteStore() override {
    try {
      flush();
    } catch (const std::exception&) {
      // The batch is lost; resume re-runs those harmless steps.
    }
  }

  // ---- the queue ----------------------------------------------------------------------------

  EnqueueResult enqueue(ExecutionRecord r) override {
    EnqueueResult out;
    out.id = r.id;
    write(Durability::now, [&] {
      if (!r.run_at) r.run_at = r.created_at;
      r.status = "queued";
      if (insert_execution(r)) return;
      std::string first;
      std::int64_t first_created = 0;
      Statement& s = *by_dedupe_key_;
      s.bind(1, r.dedupe_key);
      if (s.next()) {
        first = s.text(0);
        first_created = s.integer(1);
      }
      s.done();
      // A key past its window names the new execution from now on (in this same transaction,
      // so two enqueues racing with it still agree on one).
      if (!first.empty() && r.dedupe_window_ms > 0 && r.created_at - first_created >= r.dedupe_window_ms) {
        free_dedupe_key_->bind(1, first).run();
        if (insert_execution(r)) return;
      }
      out.created = false;
      out.id = first;
    });
    return out;
  }

  std::vector<Claim> claim(const ClaimOptions& o, std::int64_t now) override {
    std::vector<Claim> out;
    if (o.limit <= 0) return out;
    write(Durability::now, [&] {
      struct Candidate {
        std::string id, flow, status;
        std::int64_t epoch, strikes, progress;
      };
      std::vector<Candidate> found;
      Statement& s = *runnable_;
      s.bind(1, now).bind(2, static_cast<std::int64_t>(o.limit)).bind(3, o.only_id);
      while (s.next())
        found.push_back({s.text(0), s.text(1), s.text(2), s.integer(3), s.integer(4), s.integer(5)});
      for (auto& c : found) {
        if (static_cast<int>(out.size()) >= o.limit) break;
        std::int64_t finished = finished_steps(c.id);
        std::int64_t strikes = 0;
        // A lease that expired: its holder stopped (or stalled). Without a step finished since it
        // claimed, that is one more strike: an execution that crashes every process running it
        // is failed after a few, instead of taking the queue down with it.
        if (c.status == "running") strikes = finished > c.progress ? 0 : c.strikes + 1;
        if (strikes >= o.max_strikes) {
          const Error e = strikes_error(strikes);
          finish_exec_->bind(1, c.id).bind(2, std::string("failed")).bind_null(3).bind(4, dump_value(e.to_json()))
              .bind(5, now).run();
          end_abandoned_tree(c.id, e, now);
          continue;
        }
        take_lease_->bind(1, c.id).bind(2, o.worker).bind(3, now + o.lease_ms).bind(4, strikes).bind(5, finished)
            .bind(6, now).run();
        fence_cache_.erase(c.id);
        out.push_back(Claim{c.id, c.flow, c.epoch + 1, c.status});
      }
    });
    return out;
  }

  std::vector<RenewStatus> renew(const std::vector<Fence>& leases, std::int64_t lease_until) override {
    std::vector<RenewStatus> out;
    out.reserve(leases.size());
    write(Durability::now, [&] {
      for (const auto& l : leases) {
        Statement& s = *renew_;
        s.bind(1, l.root).bind(2, l.epoch).bind(3, lease_until);
        RenewStatus st = RenewStatus::lost;
        if (s.next()) {
          st = s.integer(0) ? RenewStatus::cancel_requested : RenewStatus::held;
          while (s.next()) {
          }
        }
        out.push_back(st);
      }
    });
    return out;
  }

  bool release(const Fence& lease, std::int64_t run_at, bool waiting) override {
    bool held = false;
    write(Durability::now, [&] {
      release_lease_->bind(1, lease.root).bind(2, lease.epoch).bind(3, std::string(waiting ? "waiting" : "queued"))
          .bind(4, run_at).run();
      held = sqlite3_changes(db_.get()) == 1;
    });
    return held;
  }

  CancelResult request_cancel(const std::string& id, std::int64_t now) override {
    CancelResult out;
    write(Durability::now, [&] {
      Statement s(db_.get(), "SELECT status, epoch, COALESCE(lease_owner, ''), COALESCE(lease_until, 0), parent_id IS NOT NULL "
                             "FROM executions WHERE id = ?1");
      s.bind(1, id);
      if (!s.next()) return;
      out.found = true;
      out.status = s.text(0);
      const std::int64_t epoch = s.integer(1);
      out.lease_owner = s.text(2);
      out.lease_until = s.integer(3);
      const bool child = s.integer(4) != 0;
      s.done();
      if (child || out.status == "succeeded" || out.status == "failed" || out.status == "cancelled") return;
      if (out.status == "queued" && epoch == 0) {
        Error e = Error::make(ErrorKind::cancelled, "cancelled before it started");
        finish_exec_->bind(1, id).bind(2, std::string("cancelled")).bind_null(3).bind(4, dump_value(e.to_json()))
            .bind(5, now).run();
        out.status = "cancelled";
        out.finished_now = true;
        return;
      }
      Statement mark(db_.get(),
                     "UPDATE executions SET cancel_requested=1, "
                     "run_at=CASE WHEN status='running' THEN run_at ELSE ?2 END WHERE id=?1");
      mark.bind(1, id).bind(2, now).run();
    });
    return out;
  }

  bool reopen(const std::string& id, std::int64_t now) override {
    bool done = false;
    write(Durability::now, [&] {
      Statement s(db_.get(),
                  "UPDATE executions SET status='queued', run_at=?2, retried_at=?2, finished_at=NULL, outputs=NULL, "
                  "error=NULL, strikes=0, cancel_requested=0, lease_owner=NULL, lease_until=NULL "
                  "WHERE id=?1 AND parent_id IS NULL AND (status='failed' OR status='cancelled')");
      s.bind(1, id).bind(2, now).run();
      done = sqlite3_changes(db_.get()) == 1;
    });
    return done;
  }

  std::int64_t next_runnable_at() override {
    Statement s(db_.get(),
                "SELECT min(t) FROM (SELECT min(run_at) AS t FROM executions WHERE parent_id IS NULL AND "
                "(status = 'queued' OR status = 'waiting') UNION ALL SELECT min(lease_until) FROM executions "
                "WHERE parent_id IS NULL AND status = 'running')");
    std::int64_t at = 0;
    if (s.next() && !s.is_null(0)) at = s.integer(0);
    s.done();
    return at;
  }

  std::map<std::string, std::int64_t> queue_depth() override {
    std::map<std::string, std::int64_t> out = {{"queued", 0}, {"running", 0}, {"waiting", 0}};
    Statement s(db_.get(),
                "SELECT status, count(*) FROM executions WHERE parent_id IS NULL AND "
                "(status = 'queued' OR status = 'running' OR status = 'waiting') GROUP BY status");
    while (s.next()) out[s.text(0)] = s.integer(1);
    return out;
  }

  // ---- records ------------------------------------------------------------------------------

  std::vector<std::string> flush() override {
    commit_batch();
    if (!lost_.empty())
      throw std::runtime_error("store: batched records were rolled back with a write that failed: " +
                               std::exchange(lost_, std::string()));
    std::vector<std::string> fenced(fenced_.begin(), fenced_.end());
    fenced_.clear();
    return fenced;
  }

  // A lost batch counts as batched until a flush has reported it; so does a refused write.
  bool has_batched() const override { return in_batch_ || !lost_.empty() || !fenced_.empty(); }

  void create_execution(ExecutionRecord r, const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] {
      if (!insert_execution(r)) throw std::runtime_error("store: execution " + r.id + " exists already");
    });
  }

  void reopen_child(std::string id, const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] { reopen_child_->bind(1, id).run(); });
  }

  void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t finished_at,
                        const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] {
      finish_exec_->bind(1, id).bind(2, status);
      bind_json(*finish_exec_, 3, outputs);
      bind_json(*finish_exec_, 4, error);
      finish_exec_->bind(5, finished_at).run();
    });
  }

  void record_step(StepRun r, const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] {
      auto& s = *upsert_step_;
      s.bind(1, r.execution_id).bind(2, r.path).bind(3, static_cast<std::int64_t>(r.attempt)).bind(4, r.kind).bind(5, r.status);
      bind_json(s, 6, r.inputs);
      bind_json(s, 7, r.outputs);
      bind_json(s, 8, r.error);
      bind_json(s, 11, r.client);
      s.bind_time(9, r.started_at).bind_time(10, r.finished_at).run();
    });
  }

  // ---- reads --------------------------------------------------------------------------------

  std::optional<ExecutionRecord> get_execution(const std::string& id) override {
    Statement& s = *get_exec_;
    s.bind(1, id);
    std::optional<ExecutionRecord> out;
    if (s.next()) out = read_exec(s);
    s.done();
    return out;
  }

  std::vector<ExecutionRecord> list_executions(const ExecutionFilter& f) override {
    // A light row reads no source: a list of 100 rows would otherwise carry 100 flow files.
    std::string sql = f.light ? kSelectExecLight : kSelectExec;
    sql += " WHERE (?1 = '' OR e.flow_name = ?1) AND (?2 = '' OR e.status = ?2)";
    if (f.top_level_only) sql += " AND e.parent_id IS NULL";
    if (!f.before_id.empty()) sql += " AND e.id < ?4";
    if (!f.trigger_type.empty()) sql += " AND json_extract(e.trigger, '$.type') = ?5";
    if (f.created_since > 0) sql += " AND e.created_at >= ?6";
    if (f.created_until > 0) sql += " AND e.created_at < ?7";
    if (!f.search.empty())
      sql += " AND (e.id LIKE ?8 || '%' ESCAPE '\\' OR EXISTS (SELECT 1 FROM json_tree(e.inputs) t WHERE t.type = 'text'"
             " AND t.fullkey NOT LIKE '$.\"$sealed\"%' AND t.value LIKE '%' || ?8 || '%' ESCAPE '\\'))";
    sql += " ORDER BY e.id DESC LIMIT ?3";
    Statement s(db_.get(), sql.c_str());
    s.bind(1, f.flow).bind(2, f.status).bind(3, static_cast<std::int64_t>(f.limit));
    if (!f.before_id.empty()) s.bind(4, f.before_id);
    if (!f.trigger_type.empty()) s.bind(5, f.trigger_type);
    if (f.created_since > 0) s.bind(6, f.created_since);
    if (f.created_until > 0) s.bind(7, f.created_until);
    if (!f.search.empty()) s.bind(8, like_escaped(f.search));
    std::vector<ExecutionRecord> out;
    while (s.next()) out.push_back(read_exec(s));
    return out;
  }

  // ---- the service's records ----------------------------------------------------------------

  bool add_token(ApiToken t) override {
    bool added = false;
    write(Durability::now, [&] { added = sqlite::add_token(db_.get(), t); });
    return added;
  }
  std::optional<ApiToken> token_by_hash(const std::string& hash) override { return sqlite::token_by_hash(db_.get(), hash); }
  std::vector<ApiToken> list_tokens() override { return sqlite::list_tokens(db_.get()); }
  bool revoke_token(const std::string& name, std::int64_t now) override {
    bool revoked = false;
    write(Durability::now, [&] { revoked = sqlite::revoke_token(db_.get(), name, now); });
    return revoked;
  }
  void note_token_used(const std::string& name, std::int64_t at) override {
    write(Durability::now, [&] { sqlite::note_token_used(db_.get(), name, at); });
  }
  void add_ui_session(UiSession s, std::size_t keep_at_most) override {
    write(Durability::now, [&] { sqlite::add_ui_session(db_.get(), s, keep_at_most); });
  }
  std::optional<UiSession> ui_session(const std::string& id_hash) override { return sqlite::ui_session(db_.get(), id_hash); }
  bool end_ui_session(const std::string& id_hash) override {
    bool ended = false;
    write(Durability::now, [&] { ended = sqlite::end_ui_session(db_.get(), id_hash); });
    return ended;
  }
  bool record_delivery(HookDelivery d) override {
    bool recorded = false;
    write(Durability::now, [&] { recorded = sqlite::record_delivery(db_.get(), d); });
    return recorded;
  }
  std::optional<HookDelivery> delivery(const std::string& event_id) override {
    return sqlite::delivery(db_.get(), event_id);
  }
  bool record_redelivery(const std::string& event_id, std::int64_t at) override {
    bool counted = false;
    write(Durability::now, [&] { counted = sqlite::record_redelivery(db_.get(), event_id, at); });
    return counted;
  }
  std::vector<HookDelivery> recent_deliveries(int limit, const DeliveryCursor& after) override {
    return sqlite::recent_deliveries(db_.get(), limit, after);
  }
  bool record_fire(ScheduleFire f) override {
    bool recorded = false;
    write(Durability::now, [&] { recorded = sqlite::record_fire(db_.get(), f); });
    return recorded;
  }
  std::optional<ScheduleFire> last_fire(const std::string& flow, const std::string& trigger, bool enqueued_only) override {
    return sqlite::last_fire(db_.get(), flow, trigger, enqueued_only);
  }
  std::vector<ScheduleFire> recent_fires(const std::string& flow, int limit) override {
    return sqlite::recent_fires(db_.get(), flow, limit);
  }

  PurgeResult purge_executions(const PurgeFilter& filter, int batch) override {
    PurgeResult out;
    write(Durability::now, [&] { out = sqlite::purge_batch(db_.get(), filter, batch); });
    known_sources_.clear();  // a source no execution uses any more may be gone
    return out;
  }

  std::vector<StepRun> step_runs(const std::string& execution_id) override { return read_step_runs(execution_id, 0, -1); }

  StepRunPage step_run_page(const std::string& execution_id, std::size_t offset, std::size_t limit) override {
    StepRunPage page;
    Statement count(db_.get(), "SELECT count(*) FROM step_runs WHERE execution_id = ?1");
    count.bind(1, execution_id);
    if (count.next()) page.total = static_cast<std::size_t>(count.integer(0));
    page.runs = read_step_runs(execution_id, static_cast<std::int64_t>(offset), static_cast<std::int64_t>(limit));
    return page;
  }

  // In the order first recorded, from `offset`, at most `limit` (-1: all).
  std::vector<StepRun> read_step_runs(const std::string& execution_id, std::int64_t offset, std::int64_t limit) {
    Statement s(db_.get(),
                "SELECT path, attempt, kind, status, inputs, outputs, error, started_at, finished_at, client FROM step_runs "
                "WHERE execution_id = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3");
    s.bind(1, execution_id).bind(2, limit).bind(3, offset);
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
      r.client = s.json(9);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  // False when the row was not inserted: its dedupe key is taken.
  bool insert_execution(const ExecutionRecord& r) {
    try {
      return insert_execution_once(r);
    } catch (const std::exception&) {
      // Another process's purge may have deleted a flow source this one had seen (when no
      // execution used it any more): write the source again, once.
      if (!known_sources_.erase(r.flow_hash) || r.flow_source.empty() || sqlite3_get_autocommit(db_.get())) throw;
    }
    return insert_execution_once(r);
  }

  bool insert_execution_once(const ExecutionRecord& r) {
    bool inserted = false;
    // Two statements: a savepoint keeps a failure of the second from leaving the first.
    savepoint_->run();
    try {
      // Every child of a flow carries the same source: bind it once per process.
      if (!known_sources_.count(r.flow_hash)) insert_source_->bind(1, r.flow_hash).bind(2, r.flow_source).run();
      insert_exec_->bind(1, r.id).bind(2, r.flow_name).bind(3, r.flow_file).bind(4, r.flow_hash)
          .bind(5, dump_value(r.inputs)).bind(6, r.status).bind(7, dump_value(r.trigger)).bind(8, r.created_at)
          .bind_time(9, r.started_at).bind_or_null(10, r.parent_id).bind_or_null(11, r.parent_step)
          .bind_time(12, r.run_at).bind_or_null(13, r.dedupe_key).run();
      inserted = sqlite3_changes(db_.get()) == 1;
    } catch (...) {
      if (!sqlite3_get_autocommit(db_.get())) {
        rollback_to_->run();
        release_sp_->run();
      }
      throw;
    }
    release_sp_->run();
    known_sources_.insert(r.flow_hash);
    return inserted;
  }

  // An execution failed without a run to end it: the step runs its last holders left in flight
  // were interrupted, and its subflows' executions end with it.
  void end_abandoned_tree(const std::string& root, const Error& why, std::int64_t now) {
    static constexpr const char* kTree =
        "WITH RECURSIVE tree(id) AS (SELECT ?1 UNION ALL SELECT e.id FROM executions e JOIN tree ON e.parent_id = tree.id) ";
    Statement steps(db_.get(), (std::string(kTree) +
                                "UPDATE step_runs SET status = 'interrupted', finished_at = ?2 "
                                "WHERE status = 'running' AND execution_id IN (SELECT id FROM tree)").c_str());
    steps.bind(1, root).bind(2, now).run();
    const Error child = abandoned_child_error(root, why);
    Statement children(db_.get(), (std::string(kTree) +
                                   "UPDATE executions SET status = 'failed', error = ?3, finished_at = ?2 "
                                   "WHERE id <> ?1 AND id IN (SELECT id FROM tree) AND "
                                   "(status = 'running' OR status = 'queued' OR status = 'waiting')").c_str());
    children.bind(1, root).bind(2, now).bind(3, dump_value(child.to_json())).run();
  }

  std::int64_t finished_steps(const std::string& id) {
    Statement& s = *finished_steps_;
    s.bind(1, id);
    std::int64_t n = s.next() ? s.integer(0) : 0;
    s.done();
    return n;
  }

  // Whether `fence` still holds. Checked once per root and transaction: while this store holds
  // the write lock, no other process can claim (and so re-fence) anything.
  bool fence_holds(const Fence& fence) {
    if (fence.none()) return true;
    auto it = fence_cache_.find(fence.root);
    if (it != fence_cache_.end() && it->second.first == fence.epoch) return it->second.second;
    Statement& s = *epoch_of_;
    s.bind(1, fence.root);
    bool holds = s.next() && s.integer(0) == fence.epoch;
    s.done();
    fence_cache_[fence.root] = {fence.epoch, holds};
    return holds;
  }

  template <class Body>
  void fenced_write(const Fence& fence, Durability durability, Body&& body) {
    bool refused = false;
    write(durability, [&] {
      if (!fence_holds(fence)) {
        refused = true;
        return;
      }
      body();
    });
    if (!refused) return;
    if (durability == Durability::now) throw LeaseLost(fence.root);
    fenced_.insert(fence.root);
  }

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
        ended_transaction();
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
    try {
      commit_->run();
    } catch (...) {
      sqlite::exec_noexcept(db_.get(), "ROLLBACK");
      ended_transaction();
      known_sources_.clear();
      throw;
    }
    ended_transaction();
  }

  void ended_transaction() {
    in_batch_ = false;
    batched_ = 0;
    fence_cache_.clear();
  }

  // The caller of the failed write hears of it; those whose batched records went with it hear
  // of it from the next flush, which is what they wait for.
  void remember_lost(const char* what) {
    if (lost_.empty()) lost_ = what;
  }

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
    r.run_at = s.integer(15);
    r.dedupe_key = s.text(16);
    r.lease_owner = s.text(17);
    r.lease_until = s.integer(18);
    r.epoch = s.integer(19);
    r.strikes = static_cast<int>(s.integer(20));
    r.cancel_requested = s.integer(21) != 0;
    r.retried_at = s.integer(22);
    return r;
  }

  void bind_json(Statement& s, int i, const Json& v) {
    if (v.is_null()) s.bind_null(i);
    else s.bind(i, dump_value(v));
  }

  sqlite::DbPtr db_;
  int schema_found_ = 0;  // the schema version the file had when opened (0: new)
  bool in_batch_ = false;        // a group-commit transaction is open
  int batched_ = 0;
  std::int64_t batch_started_ms_ = 0;
  std::unique_ptr<Statement> insert_source_, insert_exec_, by_dedupe_key_, free_dedupe_key_, epoch_of_, finish_exec_, reopen_child_,
      upsert_step_, begin_, commit_, get_exec_, savepoint_, rollback_to_, release_sp_, runnable_, finished_steps_,
      take_lease_, renew_, release_lease_;
  std::unordered_set<std::string> known_sources_;  // flow_sources rows known to exist
  std::string lost_;  // why batched records were rolled back outside flush(), until a flush reports it
  // root -> (epoch, holds), for the open transaction.
  std::unordered_map<std::string, std::pair<std::int64_t, bool>> fence_cache_;
  std::unordered_set<std::string> fenced_;  // roots whose batched writes were refused, until a flush reports them
};
#undef kSelectExec

}  // namespace

std::unique_ptr<ExecutionStore> open_sqlite_store(const std::string& path, bool migrate) {
  return std::make_unique<SqliteStore>(path, migrate);
}

SchemaChange migrate_sqlite_store(const std::string& path) {
  SqliteStore st(path, true);
  return {st.schema_found(), sqlite::kSchemaVersion};
}

}  // namespace spokeflow::store
