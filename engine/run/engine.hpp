#pragma once
// The executor: one io_context, each execution a coroutine that walks the flow's steps,
// journals every finished step before the next one starts, and resumes from that journal.
// It runs executions that a worker (engine/runtime) has claimed from the store's queue, under
// the claim's lease: every write carries the lease's epoch, and a run whose lease is lost
// stops at once, writing nothing more.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "action/action.hpp"
#include "common/duration.hpp"
#include "common/error.hpp"
#include "flow/loader.hpp"
#include "flow/model.hpp"
#include "store/store.hpp"

namespace spokeflow::run {

// Reported after each step run is journaled (for progress output; the store is the record).
// `outer_path` + "/" + `path` is the step's full path as a person reads it.
struct StepEvent {
  std::string_view execution_id;
  std::string_view flow;
  std::string_view outer_path;  // a subflow's: the calling step's path in its root ("" for a root)
  std::string_view path;
  std::string_view kind;
  std::string_view status;     // succeeded failed skipped
  int attempt = 1;
  std::int64_t duration_ms = 0;
  const Json* error = nullptr;   // when failed
  const Json* client = nullptr;  // the HTTP client's own retries and waits, when it had any
  bool replayed = false;         // taken from the journal on resume, not run again
};

// Reported when a for_each starts, after each of its iterations and when it ends (for a
// progress line; iterations' steps are reported as StepEvents all the same).
struct LoopProgress {
  std::string_view execution_id;
  std::string_view flow;
  std::string_view outer_path;  // as in StepEvent
  std::string_view path;
  std::size_t done = 0;         // iterations ended, replayed ones included
  std::size_t failed = 0;       // of those, failed ones
  std::size_t total = 0;        // items known so far
  bool total_known = true;      // false while a streamed source has pages to come
  bool finished = false;        // the loop itself has ended
};

struct EngineOptions {
  std::function<void(const StepEvent&)> on_step;  // may be empty
  std::function<void(const LoopProgress&)> on_loop;  // may be empty
  // Seal values that records show as [REDACTED] (sensitive inputs and outputs), kept beside the
  // redacted copy under the key "$sealed", so that a resumed execution gets them back in clear.
  // Both empty: such values are only redacted, and a resume sees "[REDACTED]".
  std::function<std::string(const std::string& aad, const std::string& plaintext)> seal;
  std::function<std::optional<std::string>(const std::string& aad, const std::string& sealed)> unseal;
};
using UnsealFn = decltype(EngineOptions::unseal);

// The key under which a record keeps the sealed clear copy of what it shows redacted.
inline constexpr const char* kSealedKey = "$sealed";
// A copy of a recorded value without its sealed copy (what people and APIs are shown).
Json without_sealed(Json value);
// Puts a recorded value's clear copy, opened from its sealed copy, in its place. False when a
// sealed copy is there but `unseal` cannot open it (the value is then left as it was).
bool open_sealed(Json& value, const std::string& aad, const UnsealFn& unseal);

struct ExecutionOutcome {
  std::string id;
  std::string flow;
  // succeeded, failed, cancelled: it ended (and is recorded so).
  // waiting: parked in the store until wake_at (a long wait); its lease is given back.
  // released: stopped without an end (drained): runnable again, its lease given back.
  // lost: another worker claimed it (this one's lease had expired); nothing more was written.
  std::string status;
  Json outputs;          // as recorded: secrets scrubbed, sealed copies left out
  Json error;
  std::int64_t wake_at = 0;  // waiting: when it runs again (Unix ms)
};

// Controls one run from outside the engine (a worker, a signal handler): cancel it, or stop it.
// All calls on the engine's executor.
class RunHandle {
 public:
  enum class Stop { none, park, drain, lease_lost };

  // Cancels in-flight I/O, runs the `finally` steps, records the execution `cancelled`.
  void cancel();
  // Stops the run without ending the execution: no step starts and nothing is written after
  // this; in-flight I/O is cancelled. The execution stays as the journal has it.
  void stop(Stop why);
  // Stops the run softly: no step starts after this, the actions in flight may end (and are
  // journaled); once none is left (waits do not count: they are durable) the run stops as
  // stop(Stop::drain) would. stop() ends a drain that takes too long.
  void drain();
  bool cancelling() const { return cancelling_; }
  bool draining() const { return draining_; }
  Stop stopped() const { return stop_; }
  // Waits longer than this park the execution in the store (its memory freed) instead of
  // sleeping in the process; a worker sets it, a one-shot `run` leaves it infinite.
  Millis park_after = Millis::max();

 private:
  friend class Engine;
  bool cancelling_ = false;
  bool draining_ = false;
  Stop stop_ = Stop::none;
  std::function<void()> on_drain_;  // set by the engine while it runs
  boost::asio::cancellation_signal signal_;
};

class Engine {
 public:
  // `library` finds subflows by name; it may be null when flows call none.
  Engine(boost::asio::any_io_executor executor, const ActionRegistry& actions, store::ExecutionStore& store,
         flow::FlowLibrary* library, EngineOptions options = {});
  ~Engine();

  // Checks given inputs against the flow's declarations and applies defaults. With
  // `from_text`, string values are converted to the declared type (CLI `--input k=v`).
  // Unknown names, missing required inputs and type mismatches are validation errors.
  Result<Json> check_inputs(const flow::Flow& flow, const Json& given, bool from_text) const;

  // The record of a new top-level execution, to enqueue: a new id, sensitive inputs redacted
  // (and sealed), the flow's source. `inputs` must have passed check_inputs. Fails (validation)
  // when the inputs are larger than a record can keep.
  Result<store::ExecutionRecord> new_execution(const flow::FlowPtr& flow, const Json& inputs, const Json& trigger) const;

  // What the caller of run() may hand over when it has just made and enqueued the execution:
  // then nothing is read from the store for its first claim.
  struct Fresh {
    store::ExecutionRecord record;
    flow::FlowPtr flow;
    Json clear_inputs;
  };

  // Runs a claimed execution until it ends, parks or is stopped (see ExecutionOutcome). On a
  // long wait the run parks and gives its lease back; stopped for a drain, it gives it back
  // runnable. `handle` (made when null) lets the caller cancel or stop it.
  boost::asio::awaitable<ExecutionOutcome> run(store::Claim claim, std::shared_ptr<RunHandle> handle = nullptr,
                                               std::optional<Fresh> fresh = std::nullopt);

  // How many runs are in progress.
  std::size_t running() const;

  struct Impl;  // engine_impl.hpp, for the executor's own source files

 private:
  std::unique_ptr<Impl> impl_;
};

// The delay before attempt `next_attempt` with the policy's jitter applied (full delay
// without jitter; with it, uniformly between half and all of it).
Millis retry_delay(const flow::RetryPolicy& policy, int next_attempt);

}  // namespace spokeflow::run
