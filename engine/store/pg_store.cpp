// PostgreSQL implementation of the execution store and its work queue, for several processes
// on several hosts sharing one database. The semantics are the SQLite store's (sqlite_store.cpp);
// what differs is how they hold across processes without a database-wide write lock:
// - a claim is one statement that locks the runnable rows it takes with FOR UPDATE SKIP LOCKED,
//   so workers claiming at once never wait on each other nor take the same execution;
// - a fenced write locks its root's row FOR SHARE before checking the epoch, once per
//   transaction: until that transaction ends no claim can take the root (claims skip locked
//   rows), so the epoch checked cannot change under the writes that rely on it;
// - a write that fails is undone alone (a savepoint around it when the open batch holds
//   others' writes), as SQLite undoes a failed statement alone;
// - uniqueness (dedupe keys, delivery ids, schedule fires, token names) is the tables'.
// Batched writes share one transaction per commit, as with SQLite. What makes an execution
// runnable NOTIFYs the store's channel, so that workers elsewhere claim it at once (pg_listen).
#include <chrono>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_listen.hpp"
#include "store/pg_purge.hpp"
#include "store/pg_reads.hpp"
#include "store/pg_schema.hpp"
#include "store/pg_service.hpp"
#include "store/store.hpp"

namespace spokeflow::store {
namespace {
using pg::Params;
using pg::Result;

// Claims in one statement: the runnable rows (queued or waiting whose time has come, oldest
// run_at first; then running ones whose lease expired), locked and skipped when another
// claimer or a lease holder's open transaction has them, leased with a new epoch. The strikes
// of a lease that expired without a step finished since its claim grow by one.
constexpr const char* kClaim = R"sql(
WITH due AS (
  SELECT id, status FROM executions
  WHERE parent_id IS NULL AND status IN ('queued', 'waiting') AND run_at <= $1 AND ($3::text = '' OR id = $3)
  ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED),
expired AS (
  SELECT id, status FROM executions
  WHERE parent_id IS NULL AND status = 'running' AND lease_until <= $1 AND ($3::text = '' OR id = $3)
  ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED),
taken AS (SELECT id, status FROM due UNION ALL SELECT id, status FROM expired LIMIT $2),
counted AS (
  SELECT t.id, t.status AS was,
         (SELECT count(*) FROM step_runs s
          WHERE s.execution_id = t.id AND s.status <> 'running' AND s.status <> 'interrupted') AS finished
  FROM taken t)
UPDATE executions e SET status = 'running', lease_owner = $4, lease_until = $1 + $5, epoch = e.epoch + 1,
  strikes = CASE WHEN c.was = 'running' AND c.finished <= e.progress THEN e.strikes + 1 ELSE 0 END,
  progress = c.finished, started_at = COALESCE(e.started_at, $1), run_at = NULL
FROM counted c WHERE e.id = c.id
RETURNING e.id, e.flow_name, e.epoch, c.was, e.strikes
)sql";

constexpr const char* kFinish =
    "UPDATE executions SET status = $2, outputs = $3, error = $4, finished_at = $5, lease_owner = NULL, "
    "lease_until = NULL, cancel_requested = 0 WHERE id = $1";

class PgStore final : public ExecutionStore {
 public:
  PgStore(const std::string& url, bool migrate) : url_(url), conn_(url) {
    schema_found_ = pg::create_or_migrate(conn_, migrate);
    // One channel per schema: stores sharing a database in schemas of their own wake only
    // their own workers.
    channel_ = ("spokeflow_" + conn_.exec("SELECT current_schema()").text(0, 0)).substr(0, 63);
  }

  int schema_found() const { return schema_found_; }

  ~PgStore() override {
    listener_.reset();
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
    with_source_again(r, [&] { write(Durability::now, [&] {
      if (!r.run_at) r.run_at = r.created_at;
      r.status = "queued";
      if (insert_execution(r)) {
        notify_runnable();
        return;
      }
      auto holder = [&] {
        Params p;
        p.add(r.dedupe_key);
        Result found = conn_.run("by_dedupe_key", "SELECT id, created_at FROM executions WHERE dedupe_key = $1", p);
        return found.rows() ? std::make_pair(found.text(0, 0), found.integer(0, 1)) : std::make_pair(std::string(), std::int64_t{0});
      };
      auto [first, first_created] = holder();
      // A key past its window names the new execution from now on. Another process may free it
      // and insert first: the key then names that one, which the second read finds.
      if (!first.empty() && r.dedupe_window_ms > 0 && r.created_at - first_created >= r.dedupe_window_ms) {
        Params f;
        f.add(first).add(r.dedupe_key);
        conn_.run("free_dedupe_key", "UPDATE executions SET dedupe_key = NULL WHERE id = $1 AND dedupe_key = $2", f);
        if (insert_execution(r)) {
          notify_runnable();
          return;
        }
        first = holder().first;
      }
      out.created = false;
      out.id = first;
    }); });
    return out;
  }

  std::vector<Claim> claim(const ClaimOptions& o, std::int64_t now) override {
    std::vector<Claim> out;
    if (o.limit <= 0) return out;
    write(Durability::now, [&] {
      Params p;
      p.add(now).add(static_cast<std::int64_t>(o.limit)).add(o.only_id).add(o.worker).add(o.lease_ms);
      Result r = conn_.run("claim", kClaim, p);
      for (int i = 0; i < r.rows(); ++i) {
        const std::string id = r.text(i, 0);
        const std::int64_t strikes = r.integer(i, 4);
        fence_cache_.erase(id);
        if (strikes >= o.max_strikes) {
          // Its holders kept stopping before any step finished: failed, so that the queue runs on.
          const Error e = strikes_error(strikes);
          Params f;
          f.add(id).add(std::string("failed")).add_null().add(dump_json(e.to_json())).add(now);
          conn_.run("finish", kFinish, f);
          end_abandoned_tree(id, e, now);
          continue;
        }
        out.push_back(Claim{id, r.text(i, 1), r.integer(i, 2), r.text(i, 3)});
      }
    });
    return out;
  }

  std::vector<RenewStatus> renew(const std::vector<Fence>& leases, std::int64_t lease_until) override {
    std::vector<RenewStatus> out;
    out.reserve(leases.size());
    write(Durability::now, [&] {
      for (const auto& l : leases) {
        Params p;
        p.add(l.root).add(l.epoch).add(lease_until);
        Result r = conn_.run("renew",
                             "UPDATE executions SET lease_until = $3 WHERE id = $1 AND epoch = $2 AND status = 'running' "
                             "RETURNING cancel_requested",
                             p);
        out.push_back(r.rows() == 0 ? RenewStatus::lost
                                    : r.integer(0, 0) ? RenewStatus::cancel_requested : RenewStatus::held);
      }
    });
    return out;
  }

  bool release(const Fence& lease, std::int64_t run_at, bool waiting) override {
    bool held = false;
    write(Durability::now, [&] {
      Params p;
      p.add(lease.root).add(lease.epoch).add(std::string(waiting ? "waiting" : "queued")).add(run_at);
      held = conn_.run("release",
                       "UPDATE executions SET status = $3, run_at = $4, lease_owner = NULL, lease_until = NULL, strikes = 0 "
                       "WHERE id = $1 AND epoch = $2 AND status = 'running'",
                       p)
                 .affected() == 1;
      if (held) notify_runnable();
    });
    return held;
  }

  CancelResult request_cancel(const std::string& id, std::int64_t now) override {
    CancelResult out;
    write(Durability::now, [&] {
      Params p;
      p.add(id);
      // Locked: a claim cannot take it between what is read here and what is written.
      Result s = conn_.exec("SELECT status, epoch, COALESCE(lease_owner, ''), COALESCE(lease_until, 0), "
                            "parent_id IS NOT NULL FROM executions WHERE id = $1 FOR UPDATE",
                            p);
      if (!s.rows()) return;
      out.found = true;
      out.status = s.text(0, 0);
      const std::int64_t epoch = s.integer(0, 1);
      out.lease_owner = s.text(0, 2);
      out.lease_until = s.integer(0, 3);
      const bool child = s.integer(0, 4) != 0;
      if (child || out.status == "succeeded" || out.status == "failed" || out.status == "cancelled") return;
      if (out.status == "queued" && epoch == 0) {
        Error e = Error::make(ErrorKind::cancelled, "cancelled before it started");
        Params f;
        f.add(id).add(std::string("cancelled")).add_null().add(dump_json(e.to_json())).add(now);
        conn_.run("finish", kFinish, f);
        out.status = "cancelled";
        out.finished_now = true;
        return;
      }
      Params m;
      m.add(id).add(now);
      conn_.exec("UPDATE executions SET cancel_requested = 1, "
                 "run_at = CASE WHEN status = 'running' THEN run_at ELSE $2 END WHERE id = $1",
                 m);
      if (out.status != "running") notify_runnable();
    });
    return out;
  }

  bool reopen(const std::string& id, std::int64_t now) override {
    bool done = false;
    write(Durability::now, [&] {
      Params p;
      p.add(id).add(now);
      done = conn_.exec("UPDATE executions SET status = 'queued', run_at = $2, retried_at = $2, finished_at = NULL, "
                        "outputs = NULL, error = NULL, strikes = 0, cancel_requested = 0, lease_owner = NULL, "
                        "lease_until = NULL WHERE id = $1 AND parent_id IS NULL AND status IN ('failed', 'cancelled')",
                        p)
                 .affected() == 1;
      if (done) notify_runnable();
    });
    return done;
  }

  std::int64_t next_runnable_at() override {
    return read([&] {
      Result r = conn_.run("next_runnable",
                           "SELECT LEAST((SELECT min(run_at) FROM executions WHERE parent_id IS NULL AND "
                           "status IN ('queued', 'waiting')), (SELECT min(lease_until) FROM executions "
                           "WHERE parent_id IS NULL AND status = 'running'))",
                           Params());
      return r.integer(0, 0);
    });
  }

  PurgeResult purge_executions(const PurgeFilter& filter, int batch) override {
    PurgeResult out;
    write(Durability::now, [&] { out = pg::purge_batch(conn_, filter, batch); });
    known_sources_.clear();  // a source no execution uses any more may be gone
    return out;
  }

  std::map<std::string, std::int64_t> queue_depth() override {
    return read([&] {
      std::map<std::string, std::int64_t> out = {{"queued", 0}, {"running", 0}, {"waiting", 0}};
      Result r = conn_.run("queue_depth",
                           "SELECT status, count(*) FROM executions WHERE parent_id IS NULL AND "
                           "status IN ('queued', 'running', 'waiting') GROUP BY status",
                           Params());
      for (int i = 0; i < r.rows(); ++i) out[r.text(i, 0)] = r.integer(i, 1);
      return out;
    });
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

  bool has_batched() const override { return in_batch_ || !lost_.empty() || !fenced_.empty(); }

  void create_execution(ExecutionRecord r, const Fence& fence, Durability durability) override {
    with_source_again(r, [&] {
      fenced_write(fence, durability, [&] {
        if (!insert_execution(r)) throw std::runtime_error("store: execution " + r.id + " exists already");
      });
    });
  }

  void reopen_child(std::string id, const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] {
      Params p;
      p.add(id);
      conn_.run("reopen_child",
                "UPDATE executions SET status = 'running', outputs = NULL, error = NULL, finished_at = NULL WHERE id = $1",
                p);
    });
  }

  void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t finished_at,
                        const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] {
      Params p;
      p.add(id).add(status).add_json(outputs).add_json(error).add(finished_at);
      conn_.run("finish", kFinish, p);
    });
  }

  void record_step(StepRun r, const Fence& fence, Durability durability) override {
    fenced_write(fence, durability, [&] {
      Params p;
      p.add(r.execution_id).add(r.path).add(static_cast<std::int64_t>(r.attempt)).add(r.kind).add(r.status)
          .add_json(r.inputs).add_json(r.outputs).add_json(r.error).add_time(r.started_at).add_time(r.finished_at)
          .add_json(r.client);
      conn_.run("upsert_step",
                "INSERT INTO step_runs(execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, "
                "finished_at, client) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                "ON CONFLICT(execution_id, path, attempt) DO UPDATE SET status = excluded.status, "
                "inputs = excluded.inputs, outputs = excluded.outputs, error = excluded.error, "
                "started_at = excluded.started_at, finished_at = excluded.finished_at, client = excluded.client",
                p);
    });
  }

  void on_runnable(std::function<void()> wake) override {
    std::lock_guard lock(listener_mutex_);
    if (!listener_) {
      if (!wake) return;
      listener_ = std::make_unique<pg::Listener>(url_, channel_);
    }
    listener_->set(std::move(wake));
  }

  // ---- reads --------------------------------------------------------------------------------

  std::optional<ExecutionRecord> get_execution(const std::string& id) override {
    return read([&] { return pg::get_execution(conn_, id); });
  }
  std::vector<ExecutionRecord> list_executions(const ExecutionFilter& f) override {
    return read([&] { return pg::list_executions(conn_, f); });
  }
  std::vector<StepRun> step_runs(const std::string& execution_id) override {
    return read([&] { return pg::step_runs(conn_, execution_id); });
  }
  StepRunPage step_run_page(const std::string& execution_id, std::size_t offset, std::size_t limit) override {
    return read([&] { return pg::step_run_page(conn_, execution_id, offset, limit); });
  }

  // ---- the service's records ----------------------------------------------------------------

  bool add_token(ApiToken t) override {
    bool added = false;
    write(Durability::now, [&] { added = pg::add_token(conn_, t); });
    return added;
  }
  std::optional<ApiToken> token_by_hash(const std::string& hash) override {
    return read([&] { return pg::token_by_hash(conn_, hash); });
  }
  std::vector<ApiToken> list_tokens() override {
    return read([&] { return pg::list_tokens(conn_); });
  }
  bool revoke_token(const std::string& name, std::int64_t now) override {
    bool revoked = false;
    write(Durability::now, [&] { revoked = pg::revoke_token(conn_, name, now); });
    return revoked;
  }
  void note_token_used(const std::string& name, std::int64_t at) override {
    write(Durability::now, [&] { pg::note_token_used(conn_, name, at); });
  }
  void add_ui_session(UiSession s, std::size_t keep_at_most) override {
    write(Durability::now, [&] { pg::add_ui_session(conn_, s, keep_at_most); });
  }
  std::optional<UiSession> ui_session(const std::string& id_hash) override {
    return read([&] { return pg::ui_session(conn_, id_hash); });
  }
  bool end_ui_session(const std::string& id_hash) override {
    bool ended = false;
    write(Durability::now, [&] { ended = pg::end_ui_session(conn_, id_hash); });
    return ended;
  }
  bool record_delivery(HookDelivery d) override {
    bool recorded = false;
    write(Durability::now, [&] { recorded = pg::record_delivery(conn_, d); });
    return recorded;
  }
  std::optional<HookDelivery> delivery(const std::string& event_id) override {
    return read([&] { return pg::delivery(conn_, event_id); });
  }
  bool record_redelivery(const std::string& event_id, std::int64_t at) override {
    bool counted = false;
    write(Durability::now, [&] { counted = pg::record_redelivery(conn_, event_id, at); });
    return counted;
  }
  std::vector<HookDelivery> recent_deliveries(int limit, const DeliveryCursor& after) override {
    return read([&] { return pg::recent_deliveries(conn_, limit, after); });
  }
  bool record_fire(ScheduleFire f) override {
    bool recorded = false;
    write(Durability::now, [&] { recorded = pg::record_fire(conn_, f); });
    return recorded;
  }
  std::optional<ScheduleFire> last_fire(const std::string& flow, const std::string& trigger, bool enqueued_only) override {
    return read([&] { return pg::last_fire(conn_, flow, trigger, enqueued_only); });
  }
  std::vector<ScheduleFire> recent_fires(const std::string& flow, int limit) override {
    return read([&] { return pg::recent_fires(conn_, flow, limit); });
  }

 private:
  // Sent with the transaction's commit (and once per transaction, however often it is asked).
  void notify_runnable() {
    Params p;
    p.add(channel_);
    conn_.run("notify", "SELECT pg_notify($1, '')", p);
  }

  // Another process's purge may have deleted a flow source this one had written (when no
  // execution used it any more): the insert of an execution then fails its foreign key. The
  // write is made again once, the source with it (a failed write forgets the sources it knew).
  template <class Write>
  void with_source_again(const ExecutionRecord& r, Write&& w) {
    const bool cached = known_sources_.count(r.flow_hash) > 0;
    try {
      w();
    } catch (const LeaseLost&) {
      throw;
    } catch (const std::runtime_error& e) {
      if (!cached || r.flow_source.empty() || std::string(e.what()).find("(SQLSTATE 23503)") == std::string::npos) throw;
      known_sources_.erase(r.flow_hash);
      w();
    }
  }

  // False when the row was not inserted: its id or dedupe key is taken.
  bool insert_execution(const ExecutionRecord& r) {
    // Every child of a flow carries the same source: sent once per process and connection.
    if (!known_sources_.count(r.flow_hash)) {
      Params s;
      s.add(r.flow_hash).add(r.flow_source);
      conn_.run("insert_source", "INSERT INTO flow_sources(hash, source) VALUES($1, $2) ON CONFLICT DO NOTHING", s);
    }
    Params p;
    p.add(r.id).add(r.flow_name).add(r.flow_file).add(r.flow_hash).add(dump_json(r.inputs)).add(r.status)
        .add(dump_json(r.trigger)).add(r.created_at).add_time(r.started_at).add_or_null(r.parent_id)
        .add_or_null(r.parent_step).add_time(r.run_at).add_or_null(r.dedupe_key);
    const bool inserted =
        conn_.run("insert_exec",
                  "INSERT INTO executions(id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, "
                  "started_at, parent_id, parent_step, run_at, dedupe_key) "
                  "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
                  p)
            .affected() == 1;
    known_sources_.insert(r.flow_hash);
    return inserted;
  }

  // An execution failed without a run to end it: the step runs its last holders left in flight
  // were interrupted, and its subflows' executions end with it.
  void end_abandoned_tree(const std::string& root, const Error& why, std::int64_t now) {
    static constexpr const char* kTree =
        "WITH RECURSIVE tree(id) AS (SELECT $1::text UNION ALL "
        "SELECT e.id FROM executions e JOIN tree ON e.parent_id = tree.id) ";
    Params p;
    p.add(root).add(now);
    conn_.exec(std::string(kTree) +
                   "UPDATE step_runs SET status = 'interrupted', finished_at = $2 "
                   "WHERE status = 'running' AND execution_id IN (SELECT id FROM tree)",
               p);
    const Error child = abandoned_child_error(root, why);
    p.add(dump_json(child.to_json()));
    conn_.exec(std::string(kTree) +
                   "UPDATE executions SET status = 'failed', error = $3, finished_at = $2 "
                   "WHERE id <> $1 AND id IN (SELECT id FROM tree) AND status IN ('running', 'queued', 'waiting')",
               p);
  }

  // Whether `fence` still holds. The root's row stays locked (FOR SHARE) until the transaction
  // ends, so the answer holds for the rest of it: a claim skips locked rows.
  bool fence_holds(const Fence& fence) {
    if (fence.none()) return true;
    auto it = fence_cache_.find(fence.root);
    if (it != fence_cache_.end() && it->second.first == fence.epoch) return it->second.second;
    Params p;
    p.add(fence.root);
    Result r = conn_.run("epoch_of", "SELECT epoch FROM executions WHERE id = $1 FOR SHARE", p);
    const bool holds = r.rows() == 1 && r.integer(0, 0) == fence.epoch;
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

  // Connects again when the server went away since the last call (a restart, the network):
  // only between transactions, where nothing unwritten is lost by it.
  void ensure_connected() {
    if (!conn_.ok()) {
      conn_.reconnect();
      known_sources_.clear();
    }
  }

  // A read: inside the open batch (it sees its own writes) or on its own, then tried a second
  // time when the connection had been lost (reading twice does no harm).
  template <class Body>
  std::invoke_result_t<Body&> read(Body&& body) {
    if (in_batch_) return body();
    ensure_connected();
    try {
      return body();
    } catch (const std::runtime_error&) {
      if (conn_.ok()) throw;
      ensure_connected();
      return body();
    }
  }

  void begin() {
    ensure_connected();
    try {
      conn_.exec("BEGIN");
    } catch (const std::runtime_error&) {
      if (conn_.ok()) throw;
      ensure_connected();  // lost since the last call: nothing was written yet
      conn_.exec("BEGIN");
    }
  }

  // Every write joins the open group-commit transaction (opening one when needed); `now` then
  // commits the whole batch. A write that fails is undone alone and the batch before it stays;
  // a failure that ends the transaction (the connection lost) ends the batch.
  template <class Body>
  void write(Durability durability, Body&& body) {
    // Records that others batched were lost: until a commit has told those waiting for it, a
    // new batch would put later records on disk without the earlier ones.
    if (durability == Durability::batched && !lost_.empty())
      throw std::runtime_error("store: not written: batched records were rolled back with a failed write and no commit has reported it yet");
    std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch()).count();
    if (!in_batch_) {
      begin();
      in_batch_ = true;
      batch_started_ms_ = now;
    }
    const int earlier = batched_;  // writes of others in this batch
    // PostgreSQL ends a transaction at its first failed statement: a savepoint keeps the
    // writes before this one when it fails.
    const bool guarded = earlier > 0;
    try {
      if (guarded) conn_.exec("SAVEPOINT w");
      body();
      if (guarded) conn_.exec("RELEASE SAVEPOINT w");
    } catch (const std::exception& e) {
      // Locks taken and sources inserted since the savepoint are gone with it.
      fence_cache_.clear();
      known_sources_.clear();
      bool kept = false;
      if (guarded && conn_.ok()) {
        try {
          conn_.exec("ROLLBACK TO SAVEPOINT w");
          conn_.exec("RELEASE SAVEPOINT w");
          kept = true;
        } catch (const std::exception&) {
          // The transaction is gone: handled below.
        }
      }
      if (!kept) {
        abandon_transaction();
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
      // COMMIT of a transaction that failed answers ROLLBACK, without an error.
      if (conn_.exec("COMMIT").command_status() != "COMMIT")
        throw std::runtime_error("store: the transaction was rolled back by the server");
    } catch (...) {
      abandon_transaction();
      throw;
    }
    ended_transaction();
  }

  void abandon_transaction() {
    if (conn_.ok() && conn_.in_transaction()) {
      try {
        conn_.exec("ROLLBACK");
      } catch (const std::exception&) {
        // The connection went: so did the transaction.
      }
    }
    known_sources_.clear();
    ended_transaction();
  }

  void ended_transaction() {
    in_batch_ = false;
    batched_ = 0;
    fence_cache_.clear();
  }

  void remember_lost(const char* what) {
    if (lost_.empty()) lost_ = what;
  }

  int schema_found_ = 0;  // the schema version the store had when opened (0: new)
  std::string url_;  // for the listener's connection
  pg::Conn conn_;
  std::string channel_;
  std::mutex listener_mutex_;
  std::unique_ptr<pg::Listener> listener_;
  bool in_batch_ = false;
  int batched_ = 0;
  std::int64_t batch_started_ms_ = 0;
  std::unordered_set<std::string> known_sources_;
  std::string lost_;
  std::unordered_map<std::string, std::pair<std::int64_t, bool>> fence_cache_;
  std::unordered_set<std::string> fenced_;
};

}  // namespace

std::unique_ptr<ExecutionStore> open_pg_store(const std::string& url, bool migrate) {
  return std::make_unique<PgStore>(url, migrate);
}

SchemaChange migrate_pg_store(const std::string& url) {
  PgStore st(url, true);
  return {st.schema_found(), pg::kSchemaVersion};
}

}  // namespace spokeflow::store
