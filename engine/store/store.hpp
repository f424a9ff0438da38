#pragma once
// The execution store: durable records of executions and their step runs.
// The executor writes through this interface only; SQLite is the embedded implementation.
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"

namespace spokeflow::store {

// Execution statuses: queued, running, succeeded, failed, cancelled.
// Step run statuses: running, succeeded, failed, skipped.
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
  std::string owner;              // the process running it ("host:pid"), "" when none
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
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
};

struct ExecutionFilter {
  std::string flow;            // "" = any
  std::string status;          // "" = any
  int limit = 50;
  bool top_level_only = false; // leave out subflow executions
};

// When a write must be on disk. Writes go to disk in the order they were made, so a write
// that is durable makes every write before it durable too.
enum class Durability {
  now,      // committed when the call returns
  batched,  // group-committed: at the next `now` write or flush(), at the latest after
            // kMaxBatchRecords writes or kMaxBatchAgeMs (checked at each write)
};

class ExecutionStore {
 public:
  virtual ~ExecutionStore() = default;
  // Writes take their records by value: a store may keep them to write later (on_own_thread).
  virtual void create_execution(ExecutionRecord record, Durability durability = Durability::now) = 0;
  // Marks it running (keeping the first start time) and owned by `owner`.
  virtual void set_execution_running(std::string id, std::int64_t started_at, std::string owner,
                                     Durability durability = Durability::now) = 0;
  // Takes an unfinished execution over from `expected_owner` (who is known to be gone);
  // false when someone else changed the owner first. Always durable: other processes race for it.
  virtual bool claim_execution(const std::string& id, const std::string& expected_owner, const std::string& new_owner) = 0;
  virtual void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t finished_at,
                                Durability durability = Durability::now) = 0;
  // Inserts or replaces the run identified by (execution_id, path, attempt).
  virtual void record_step(StepRun run, Durability durability = Durability::now) = 0;
  // Commits whatever is batched. Throws std::runtime_error when the commit fails (the batch
  // is then rolled back and lost), or when batched records were lost since the last flush
  // (rolled back with another caller's failing write) or a batched write failed.
  virtual void flush() = 0;
  // flush() without waiting for it: `done` is called (on any thread) once everything written
  // before is committed, with the failure flush() would have thrown, or null. `done` must not
  // throw and must not call the store.
  virtual void flush_async(std::function<void(std::exception_ptr)> done);
  // Whether batched writes (or a failure flush() has yet to report) wait for a commit.
  virtual bool has_batched() const = 0;

  virtual std::optional<ExecutionRecord> get_execution(const std::string& id) = 0;
  virtual std::vector<ExecutionRecord> list_executions(const ExecutionFilter& filter) = 0;
  // In the order they were first recorded.
  virtual std::vector<StepRun> step_runs(const std::string& execution_id) = 0;
  // Top-level executions left `running` (or `queued`), oldest first, with id, flow_name and
  // owner filled in: what `spokeflow resume` continues.
  virtual std::vector<ExecutionRecord> unfinished_executions() = 0;
};

inline constexpr int kMaxBatchRecords = 1000;
inline constexpr std::int64_t kMaxBatchAgeMs = 20;

// Values larger than this (as compact JSON) are stored as a truncation marker:
// {"$truncated": true, "bytes": N, "preview": "<first 1 KiB>"}.
inline constexpr std::size_t kDefaultValueCap = 256u << 10;
// The compact JSON text stored for `value`: itself, or the marker when over `cap`.
std::string capped_dump(const Json& value, std::size_t cap);

// Opens (creating when needed) the SQLite store at `path` in WAL mode. Throws
// std::runtime_error with SQLite's message when the file cannot be opened or is not a store.
std::unique_ptr<ExecutionStore> open_sqlite_store(const std::string& path, std::size_t value_cap = kDefaultValueCap);

// Runs `inner` on a thread of its own, so that the caller's thread (the engine's event loop)
// spends no time in SQLite or in turning records into JSON text. Batched writes return at
// once; they are handed to the store's thread a few at a time (so it writes them while the
// caller makes more), at the latest at the next flush_async, and applied there in order.
// `now` writes, flush() and reads wait for their turn, so they see every write made before
// them (when the store's thread is idle they run on the caller's, which waits anyway). A
// batched write that fails is reported by the next commit, and the batched writes after it
// until then are dropped (reported with it): what reaches disk has no holes. Calls must come
// from one thread at a time, as with any store.
std::unique_ptr<ExecutionStore> on_own_thread(std::unique_ptr<ExecutionStore> inner);

}  // namespace spokeflow::store
