#pragma once
// The executor: one io_context, each execution a coroutine that walks the flow's steps,
// journals every finished step before the next one starts, and resumes from that journal.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
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
struct StepEvent {
  std::string_view execution_id;
  std::string_view flow;
  std::string_view path;
  std::string_view kind;
  std::string_view status;     // succeeded failed skipped
  int attempt = 1;
  std::int64_t duration_ms = 0;
  const Json* error = nullptr;   // when failed
  bool replayed = false;         // taken from the journal on resume, not run again
};

struct EngineOptions {
  std::function<void(const StepEvent&)> on_step;  // may be empty
  std::string owner;  // written on the executions this engine runs ("host:pid")
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
  std::string status;    // succeeded failed cancelled
  Json outputs;
  Json error;
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

  // Records a new execution (status queued) and returns its id. `inputs` must have passed
  // check_inputs. `trigger` describes what started it ({"type": "cli"}, ...).
  std::string create(const flow::FlowPtr& flow, const Json& inputs, const Json& trigger);

  // Runs an execution to its end: a new one, or one left unfinished by a crash (finished
  // steps are taken from the journal, the step in flight runs again as its next attempt).
  // `flow` may be given to skip re-reading the stored source.
  boost::asio::awaitable<ExecutionOutcome> run(std::string id, flow::FlowPtr flow = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The delay before attempt `next_attempt` with the policy's jitter applied (full delay
// without jitter; with it, uniformly between half and all of it).
Millis retry_delay(const flow::RetryPolicy& policy, int next_attempt);

}  // namespace spokeflow::run
