#pragma once
// The execution store: durable records of executions and their step runs, and the work queue
// every way of running shares. The executor and the worker write through this interface only;
// SQLite is the embedded implementation.
//
// The queue: an execution is `queued` (runnable from `run_at`), `running` under a lease held by
// one worker until `lease_until`, `waiting` (parked in the store until `run_at`, holding no
// memory anywhere), and at last `succeeded`, `failed` or `cancelled`. A claim takes runnable
// executions (queued or waiting whose time has come, or running whose lease has expired: its
// holder is gone or stuck) and bumps their `epoch`; every later write for the execution carries
// the epoch it was claimed with (a Fence), and a write with an older epoch is refused. No process
// judges another by its pid: a lease that is not renewed simply expires, on any host.
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace spokeflow::store {

// Execution statuses: queued, running, waiting, succeeded, failed, cancelled.
// Step run statuses: running, succeeded, failed, skipped, interrupted (an attempt a stopped
// process left in flight; the next attempt ran instead).
struct ExecutionRecord {
  std::string id;              // sortable (ULID layout)
  std::string flow_name;
  std::string flow_file;       // where the flow was loaded from, as given
  std::string flow_source;     // the YAML the execution ran (kept once per distinct hash)
  std::string flow_hash;       // SHA-256 of flow_source
  Json inputs = Json::object();  // sensitive inputs already redacted
  std::string status = "queued";
  Json trigger = Json::object();  // {"type": "cli"|"schedule"|"okta_event"|"subflow"|..., ...}
  std::int64_t created_at = 0;    // Unix ms
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
  Json outputs;                   // null until finished
  Json error;                     // null unless failed / cancelled
  std::string parent_id;          // for subflow executions
  std::string parent_step;        // the parent's step path that started it
  // The queue (top-level executions only; a child runs inside its parent's lease).
  std::int64_t run_at = 0;        // queued / waiting: runnable from then (Unix ms)
  std::string dedupe_key;         // "" = none; a second enqueue with the same key returns the first
  // Enqueue only: how long the key holds (by the first's created_at); a later enqueue with it
  // starts a new execution and the key names that one from then on. 0 = for ever.
  std::int64_t dedupe_window_ms = 0;
  std::string lease_owner;        // the worker holding the lease, "" when none
  std::int64_t lease_until = 0;
  std::int64_t epoch = 0;         // bumped by every claim
  int strikes = 0;                // claims in a row whose holder stopped without any progress
  bool cancel_requested = false;
  std::int64_t retried_at = 0;    // the last `executions retry`: failed steps before it run again
};

struct StepRun {
  std::string execution_id;
  std::string path;            // "each_user[3].add"
  int attempt = 1;
  std::string kind;            // the action name, or the flow-logic kind (for_each, wait, ...)
  std::string status = "running";
  Json inputs;                 // evaluated `with:`, sensitive fields redacted
  Json outputs;
  Json error;
  // What the HTTP client did on its own (CallActivity: retries, waits); null when nothing.
  Json client;
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
};

struct StepRunPage {
  std::vector<StepRun> runs;
  std::size_t total = 0;  // the execution's step runs in all
};

struct ExecutionFilter {
  std::string flow;            // "" = any
  std::string status;          // "" = any
  int limit = 50;
  bool top_level_only = false; // leave out subflow executions
  std::string trigger_type;    // "" = any; else the trigger's "type" (cli, api, schedule, okta_event, ...)
  std::int64_t created_since = 0;  // Unix ms, inclusive; 0 = no bound
  std::int64_t created_until = 0;  // Unix ms, exclusive; 0 = no bound
  std::string before_id;       // a cursor: only executions with an id below this one (newest first)
  bool light = false;          // leave out the flow source (lists never need it)
  // "" = any; else executions whose id starts with it or one of whose input values (strings at
  // any depth, never the sealed copies of sensitive ones) holds it, ASCII case ignored.
  std::string search;
};

// One scheduled fire of a flow's schedule trigger, recorded once per (flow, trigger, instant):
// however many services share the store, a fire happens once.
struct ScheduleFire {
  std::string flow;
  std::string trigger;          // the trigger's key: its index, cron and time zone
  std::int64_t scheduled_at = 0;  // the instant it was due (Unix ms)
  std::int64_t recorded_at = 0;
  std::string outcome;          // enqueued | skipped_overlap | missed
  std::string execution_id;     // enqueued: the execution it started
  std::int64_t missed = 0;      // fires before this one (since the previous record) that were not made
};

// Where a page of hook deliveries starts: after the delivery that ended the previous page
// (newest first); an empty event_id starts at the newest.
struct DeliveryCursor {
  std::int64_t received_at = 0;
  std::string event_id;
};

// A caller of the service. Only a hash of the token itself is kept.
struct ApiToken {
  std::string name;            // unique; how people and `tokens revoke` name it
  std::string role;            // viewer | operator | admin
  std::string hash;            // SHA-256 of the token, hex
  std::int64_t created_at = 0; // Unix ms
  std::int64_t expires_at = 0; // 0 = never
  std::int64_t revoked_at = 0; // 0 = not revoked
  std::int64_t last_used_at = 0; // 0 = not seen used (services write it at most once a minute)
};

// A web view sign-in: the browser holds the session id in a cookie; the store keeps only its
// hash and the hash of the API token it was made with (judged again at each request).
struct UiSession {
  std::string id_hash;         // SHA-256 of the session id, hex
  std::string token_hash;      // the API token's hash (ApiToken::hash)
  std::int64_t created_at = 0; // Unix ms
  std::int64_t expires_at = 0; // Unix ms
};

// One Okta event hook delivery, as received (events are deduplicated by their own uuid when
// their executions are enqueued; this is the delivery's record, deduplicated by eventId).
struct HookDelivery {
  std::string event_id;        // Okta's eventId of the delivery
  std::string hook;            // the configured hook's name
  std::int64_t received_at = 0;
  int events = 0;              // events the delivery held
  Json started = Json::array();  // [{"event": uuid, "flow": name, "execution": id, "created": bool}]
  int redeliveries = 0;              // times the same delivery was received again (Okta retries)
  std::int64_t last_redelivered_at = 0;
};

// Which executions a purge removes (retention). Only finished (succeeded, failed, cancelled)
// top-level executions are chosen; a subflow's execution goes with its top-level one, never
// alone. The conditions combine (all must hold).
struct PurgeFilter {
  std::int64_t finished_before = 0;  // Unix ms: finished before this instant; 0 = any age
  std::string flow;                  // "" = every flow
  std::vector<std::string> except_flows;  // left out (flows with retention rules of their own)
  std::string status;                // "" = any finished status
  int keep_last = 0;                 // per flow, the newest (by id) N matching executions are kept
  std::string after;                 // a cursor: PurgeResult::next of the batch before ("" = start)
};

struct PurgeResult {
  std::int64_t executions = 0;  // deleted, subflow executions included
  std::int64_t top_level = 0;   // of which top-level
  bool more = false;            // there may be more: call again, with `after` = `next`
  std::string next;             // the cursor for the next batch
};

// The lease a write is made under: the top-level execution that was claimed (a subflow's
// records are written under its root's lease) and the epoch of that claim. An empty root is
// no fence (tools and tests that own the store alone).
struct Fence {
  std::string root;
  std::int64_t epoch = 0;
  bool none() const { return root.empty(); }
};

// A write refused because the execution was claimed again since `fence` was taken: whoever
// made it no longer holds the lease and must stop running the execution.
class LeaseLost : public std::runtime_error {
 public:
  explicit LeaseLost(const std::string& root)
      : std::runtime_error("the lease on execution " + root + " was lost (another worker claimed it)"), root_(root) {}
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// When a write must be on disk. Writes go to disk in the order they were made, so a write
// that is durable makes every write before it durable too.
enum class Durability {
  now,      // committed when the call returns
  batched,  // group-committed: at the next `now` write or flush(), at the latest after
            // kMaxBatchRecords writes or kMaxBatchAgeMs (checked at each write)
};

// What a commit tells those who waited for it.
struct CommitResult {
  std::exception_ptr failure;       // the commit failed (everything batched since the last one is lost)
  std::vector<std::string> fenced;  // roots whose batched writes were refused: their lease was lost
};

struct Claim {
  std::string id;
  std::string flow_name;
  std::int64_t epoch = 0;
  std::string was;  // the status it was claimed from: queued, waiting, or running (an expired lease)
};

struct ClaimOptions {
  std::string worker;             // the lease holder's name
  int limit = 1;
  std::int64_t lease_ms = 30'000;
  int max_strikes = 3;            // an execution whose holders stopped this often without progress fails
  std::string only_id;            // claim this execution only (when runnable)
};

// The answer to a renewal, per lease.
enum class RenewStatus { held, lost, cancel_requested };

struct EnqueueResult {
  std::string id;
  bool created = true;  // false: an execution with the same dedupe key existed; `id` is that one
};

// What `executions cancel` found.
struct CancelResult {
  bool found = false;
  std::string status;           // after the request
  bool finished_now = false;    // it had not started: recorded cancelled at once
  std::string lease_owner;      // running under this worker's lease
  std::int64_t lease_until = 0;
};

class ExecutionStore {
 public:
  virtual ~ExecutionStore() = default;

  // ---- the queue (each call is durable when it returns) --------------------------------------
  // Records a new top-level execution, queued, runnable from record.run_at (0 = now). With a
  // dedupe key already used, nothing is written and the first execution's id comes back.
  virtual EnqueueResult enqueue(ExecutionRecord record) = 0;
  // Leases up to options.limit runnable top-level executions to options.worker, oldest run_at
  // first. An execution whose previous holders stopped max_strikes times in a row without any
  // step finishing is failed instead (kind internal), and not returned.
  virtual std::vector<Claim> claim(const ClaimOptions& options, std::int64_t now_ms) = 0;
  // Extends the leases that are still held; says for each which are lost or asked to cancel.
  // `progressed`: for each lease, whether a step finished since the last renewal.
  virtual std::vector<RenewStatus> renew(const std::vector<Fence>& leases, std::int64_t lease_until) = 0;
  // Gives a lease back: the execution becomes runnable again at `run_at` (queued) or, parked,
  // `waiting` until then. False when the lease was already lost.
  virtual bool release(const Fence& lease, std::int64_t run_at, bool waiting) = 0;
  // Asks for an execution to be cancelled. One that never started is recorded cancelled at
  // once; one that is parked or queued is made runnable now, so that whoever claims it runs its
  // cancellation (its `finally` steps); one under a lease is left to its holder, who sees the
  // request when it renews.
  virtual CancelResult request_cancel(const std::string& id, std::int64_t now_ms) = 0;
  // Makes a failed or cancelled top-level execution runnable again; its failed steps run again
  // as their next attempt. False (and nothing written) when it is in another state.
  virtual bool reopen(const std::string& id, std::int64_t now_ms) = 0;
  // The earliest run_at among queued and waiting executions, and the earliest lease expiry; 0
  // when there are none: when the next claim can find something without anyone enqueueing.
  virtual std::int64_t next_runnable_at() = 0;
  // How many top-level executions are queued, running and waiting (parked), by status; each
  // of the three is present (0 when none). For the service's metrics.
  virtual std::map<std::string, std::int64_t> queue_depth() = 0;

  // ---- records of a leased execution --------------------------------------------------------
  // Writes take their records by value: a store may keep them to write later (on_own_thread).
  // A write whose fence is stale is refused: LeaseLost for a `now` write; a batched one is
  // dropped and its root is reported by the next commit (CommitResult::fenced).
  virtual void create_execution(ExecutionRecord record, const Fence& fence, Durability durability = Durability::now) = 0;
  // A child execution continued after its parent's operator retry: running again, no result.
  virtual void reopen_child(std::string id, const Fence& fence, Durability durability = Durability::batched) = 0;
  virtual void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t finished_at,
                                const Fence& fence, Durability durability = Durability::now) = 0;
  // Inserts or replaces the run identified by (execution_id, path, attempt).
  virtual void record_step(StepRun run, const Fence& fence, Durability durability = Durability::now) = 0;
  // Commits whatever is batched. Throws std::runtime_error when the commit fails (the batch
  // is then rolled back and lost), or when batched records were lost since the last flush
  // (rolled back with another caller's failing write) or a batched write failed. Returns the
  // roots whose batched writes were refused for a stale fence since the last commit.
  virtual std::vector<std::string> flush() = 0;
  // flush() without waiting for it: `done` is called (on any thread) once everything written
  // before is committed. `done` must not throw and must not call the store.
  virtual void flush_async(std::function<void(CommitResult)> done);
  // Whether batched writes (or a failure flush() has yet to report) wait for a commit.
  virtual bool has_batched() const = 0;
  // Calls `wake` (on any thread; it must not call the store) whenever another process may
  // have queued an execution or made one runnable, so that a worker claims it at once instead
  // of at its next poll; nullptr stops the calls (none is under way when this returns). A
  // store that cannot tell (SQLite) never calls it: workers poll.
  virtual void on_runnable(std::function<void()> wake);
  // Runs `task` after every write made before it, on the store's own thread when it has one
  // (inline otherwise): how an event loop reads and claims without waiting for the store.
  virtual void post(std::function<void(ExecutionStore&)> task);

  // ---- reads --------------------------------------------------------------------------------
  virtual std::optional<ExecutionRecord> get_execution(const std::string& id) = 0;
  virtual std::vector<ExecutionRecord> list_executions(const ExecutionFilter& filter) = 0;
  // In the order they were first recorded.
  virtual std::vector<StepRun> step_runs(const std::string& execution_id) = 0;
  // Those of step_runs() from `offset`, at most `limit`, and how many there are in all: one page
  // of a large execution is read without reading the rest. (This default reads them all.)
  virtual StepRunPage step_run_page(const std::string& execution_id, std::size_t offset, std::size_t limit);

  // ---- the service's records (each write durable when it returns) ----------------------------
  // False (nothing written) when a token with that name exists.
  virtual bool add_token(ApiToken token) = 0;
  virtual std::optional<ApiToken> token_by_hash(const std::string& hash) = 0;
  virtual std::vector<ApiToken> list_tokens() = 0;
  // False when no token has that name or it was revoked already.
  virtual bool revoke_token(const std::string& name, std::int64_t now_ms) = 0;
  // The token was used at `at` (kept when later than what is recorded).
  virtual void note_token_used(const std::string& name, std::int64_t at) = 0;
  // Records a web view session; sessions expired by its creation time go, and when more than
  // `keep_at_most` are left the oldest go too.
  virtual void add_ui_session(UiSession session, std::size_t keep_at_most) = 0;
  virtual std::optional<UiSession> ui_session(const std::string& id_hash) = 0;
  // False when there was none.
  virtual bool end_ui_session(const std::string& id_hash) = 0;
  // False (nothing written) when a delivery with that eventId was recorded before.
  virtual bool record_delivery(HookDelivery delivery) = 0;
  virtual std::optional<HookDelivery> delivery(const std::string& event_id) = 0;
  // Counts the delivery received again at `at`; false when none with that eventId was recorded.
  virtual bool record_redelivery(const std::string& event_id, std::int64_t at) = 0;
  // Newest first, from `after` on.
  virtual std::vector<HookDelivery> recent_deliveries(int limit, const DeliveryCursor& after) = 0;
  // False (nothing written) when that fire was recorded before.
  virtual bool record_fire(ScheduleFire fire) = 0;
  // The latest recorded fire of a trigger (only `enqueued` ones with enqueued_only).
  virtual std::optional<ScheduleFire> last_fire(const std::string& flow, const std::string& trigger, bool enqueued_only) = 0;
  // Newest first; "" = every flow.
  virtual std::vector<ScheduleFire> recent_fires(const std::string& flow, int limit) = 0;

  // ---- retention ----------------------------------------------------------------------------
  // Deletes up to `batch` top-level executions that `filter` chooses (oldest id first), in one
  // short transaction, with everything that is theirs: subflow executions, step runs, and
  // records no longer used by any execution left (a flow source; a schedule fire naming one of
  // them, except each trigger's latest, which the scheduler needs and which then names none;
  // with finished_before, an event hook delivery received before it whose executions are all
  // gone). Queued, running and waiting executions are never touched. A batch reads a bounded
  // number of rows, so one may delete nothing and still say `more`. Callers loop while `more`,
  // passing `next` back as `filter.after` and pausing between batches so that the queue's
  // writes go first. Durable on return.
  virtual PurgeResult purge_executions(const PurgeFilter& filter, int batch) = 0;
};

inline constexpr int kMaxBatchRecords = 1000;
inline constexpr std::int64_t kMaxBatchAgeMs = 20;

// The largest value (as compact JSON) a record keeps: a step's outputs, an execution's inputs
// or outputs. Larger values are refused when they are produced, never shortened: a resume
// needs them whole.
inline constexpr std::size_t kMaxValueBytes = 16u << 20;

// Opens (creating when needed, mode 0600: records hold user profiles) the SQLite store at `path`
// in WAL mode. Throws std::runtime_error with SQLite's message when the file cannot be opened
// or is not a store. A store of an older schema is migrated with `migrate`, else refused with
// an error saying to run `spokeflow store migrate`.
std::unique_ptr<ExecutionStore> open_sqlite_store(const std::string& path, bool migrate = true);

// Opens the PostgreSQL store at `url` (postgresql://... or postgres://..., libpq's URL form),
// creating its tables in the connection's schema when they are missing. Throws
// std::runtime_error saying what failed (the URL's password left out).
// `migrate` as with SQLite.
std::unique_ptr<ExecutionStore> open_pg_store(const std::string& url, bool migrate = true);

// The store `location` names: a PostgreSQL URL, else an SQLite file.
// The error of an execution failed for its strikes (it stopped every process that ran it), and
// the one its unfinished subflow executions get: the same words from every store.
Error strikes_error(std::int64_t strikes);
// `text` for a LIKE pattern with backslash as the escape: its % _ and \ match only themselves.
std::string like_escaped(std::string_view text);
Error abandoned_child_error(const std::string& root, const Error& why);

std::unique_ptr<ExecutionStore> open_store(const std::string& location, bool migrate = true);

// `spokeflow store migrate`: brings the store `location` names to this spokeflow's schema
// (creating it when new). `from` is the version it had (0: new), `to` the version it has now.
struct SchemaChange {
  int from = 0;
  int to = 0;
};
SchemaChange migrate_store(const std::string& location);
SchemaChange migrate_sqlite_store(const std::string& path);
SchemaChange migrate_pg_store(const std::string& url);

// Runs `inner` on a thread of its own, so that the caller's thread (the engine's event loop)
// spends no time in SQLite or in turning records into JSON text. Batched writes return at
// once; they are handed to the store's thread a few at a time (so it writes them while the
// caller makes more), at the latest at the next flush_async, and applied there in order.
// `now` writes, flush() and reads wait for their turn, so they see every write made before
// them (when the store's thread is idle they run on the caller's, which waits anyway); post()
// never waits. A batched write that fails is reported by the next commit, and the batched
// writes after it until then are dropped (reported with it): what reaches disk has no holes.
// Calls must come from one thread at a time, as with any store.
std::unique_ptr<ExecutionStore> on_own_thread(std::unique_ptr<ExecutionStore> inner);

}  // namespace spokeflow::store
