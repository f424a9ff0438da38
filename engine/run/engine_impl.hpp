#pragma once
// The executor's insides, shared by its source files (one per concern): engine.cpp (runs,
// records, commits), steps.cpp (blocks, retries, actions, try, parallel, until), loops.cpp
// (for_each), waits.cpp (wait, durable timers), subflows.cpp, inputs.cpp.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <list>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/scrub.hpp"
#include "expr/expr.hpp"
#include "run/engine.hpp"

namespace spokeflow::run {
namespace asio = boost::asio;
using asio::awaitable;
using flow::Step;
using flow::StepList;

enum class Flow { next, failed, ended, stopped };

// How a block of steps finished.
struct BlockOutcome {
  Flow flow = Flow::next;
  Error error;  // when failed
};

// What one step produced.
struct StepResult {
  std::string status = "succeeded";  // succeeded failed skipped
  Json outputs;
  std::optional<Error> error;
  bool ended = false;  // an `end` step ran inside
  Json client;         // CallActivity::to_json() of an action's HTTP calls, null when they did nothing of note
};

class Frame;

// One claimed top-level execution and the subflows it runs: what the lease covers.
struct RootRun {
  store::Fence fence;
  std::shared_ptr<RunHandle> handle;
  SecretScrubber::Scope secrets;  // forgotten when the run ends
  // Leaf steps in progress (actions, waits, page fetches): the run parks when all of them are
  // long waits.
  int active_leaves = 0;
  int waits = 0;                       // of which waits
  std::list<std::int64_t> long_waits;  // wake-up times of the long waits in progress
  std::int64_t wake_at = 0;            // when parked: the earliest wake-up
  std::shared_ptr<int> alive = std::make_shared<int>(0);  // for handlers posted while it runs

  bool stopped() const { return handle->stopped() != RunHandle::Stop::none; }
};

struct ExecState {
  std::string id;
  // Where a subflow's execution was called from, in its root's terms ("each[3].call", or
  // "a.call/b.call" two levels down); "" for a root. Only for what events show.
  std::string outer_path;
  flow::FlowPtr flow;
  RootRun* root = nullptr;
  Json inputs;          // as the steps see them (clear)
  Json vars = Json::object();
  Json execution_ctx;
  Json event;
  std::int64_t retried_at = 0;  // failed steps finished before this run again
  // The journal read on resume: the latest attempt per path, and every path's records that a
  // stopped process left `running` (marked `interrupted` once another attempt replaces them).
  std::unordered_map<std::string, store::StepRun> journal;
  // Paths of the steps with records inside them in that journal: blocks a stopped process was in.
  std::unordered_set<std::string> entered;
  int ends = 0;  // `end` steps run so far
  std::string end_status;
  Json end_message;
  // finally blocks running: their path prefix and how many `end`s had run when they started.
  // Inside one, only a later `end` (or nothing, for a cancel) stops its steps.
  std::list<std::pair<std::string, int>> shields;

  const store::StepRun* prior(const std::string& path) const {
    auto it = journal.find(path);
    return it == journal.end() ? nullptr : &it->second;
  }
  bool end_requested() const { return ends > 0; }
};

// A scope of step results: the whole flow, one loop iteration, one parallel branch.
// if/else and try/catch blocks share their parent's frame (their steps stay visible after).
// `steps.<id>` is looked up frame by frame, inner first, so an iteration costs only its own
// results (the merged view of every frame is built only for a bare `steps`).
class Frame final : public expr::Scope {
 public:
  Frame(ExecState& ex, const Frame* parent) : ex_(ex), parent_(parent) {}

  const Json* lookup(std::string_view root) const override;
  const Json* lookup_member(std::string_view root, std::string_view key) const override;
  // Secrets are those of the process's scrubber; what expressions derive from them is the run's.
  bool tracks_sensitive() const override;
  void find_sensitive(std::string_view text, std::vector<Span>& out) const override;
  void derived_sensitive(std::string_view secret) const override;

  void set_result(const std::string& id, const StepResult& r) {
    if (id.empty()) return;
    put(id, r, Json(r.outputs));
  }
  // Takes the outputs over: `r` keeps its status and error, its outputs are left empty.
  void set_result(const std::string& id, StepResult&& r) {
    if (id.empty()) return;
    put(id, r, std::move(r.outputs));
  }
  bool has_result(const std::string& id) const { return local_.contains(id); }
  void set_item(std::string name, const Json* item, std::size_t index) {
    item_name_ = std::move(name);
    item_ = item;
    index_ = index;
  }
  void set_error(const Json* error) { error_ = error; }
  const Json* error() const { return error_; }
  ExecState& ex() const { return ex_; }
  // How many times a bare `steps` was merged from every frame (for tests: lookups of
  // `steps.<id>` must not need it).
  static std::size_t merged_copies();

 private:
  void put(const std::string& id, const StepResult& r, Json outputs);
  const Json* merged_steps() const;

  ExecState& ex_;
  const Frame* parent_;
  Json local_ = Json::object();
  mutable Json merged_;
  mutable bool merged_valid_ = false;
  std::string item_name_;
  const Json* item_ = nullptr;
  Json index_;
  const Json* error_ = nullptr;
};

std::string kind_name(const Step& s);
// An action's outputs that do not fit its output schema (an action's or Okta's defect), each
// issue with the value found (unless the outputs may hold secrets) and the type wanted.
std::string output_issues_message(const ActionInfo& info, const Json& outputs, const std::vector<SchemaIssue>& issues);
// Inputs that do not fit an action's schema, each issue with the value given, the `with:`
// expression that produced it and the type wanted: "/user_id is null (from ${{ steps.who.outputs.userid }}
// at line 14): Value type not permitted by 'type' constraint (it must be string)".
std::string input_issues_message(const ActionInfo& info, const flow::ValueTemplate& with, const Json& shown_inputs,
                                 const std::vector<SchemaIssue>& issues);
bool is_finished_status(const std::string& s);
Error cancelled_error();
bool valid_email(const std::string& s);
// Whether a value's compact JSON text would be longer than `limit` bytes (counted without
// making the text, and without recursion).
bool json_larger_than(const Json& value, std::size_t limit);

struct Engine::Impl {
  asio::any_io_executor executor;
  const ActionRegistry& actions;
  store::ExecutionStore& store;
  flow::FlowLibrary* library;
  EngineOptions options;

  Impl(asio::any_io_executor ex, const ActionRegistry& a, store::ExecutionStore& s, flow::FlowLibrary* l, EngineOptions o)
      : executor(std::move(ex)), actions(a), store(s), library(l), options(std::move(o)) {}
  ~Impl();

  // ---- runs and records (engine.cpp) ----------------------------------------------------------
  std::unordered_map<std::string, RootRun*> live;  // by root id: whom a refused write concerns
  // Flows loaded from stored sources, by hash: resuming 10,000 parked executions of one flow
  // parses it once.
  std::unordered_map<std::string, flow::FlowPtr> loaded_flows;

  awaitable<ExecutionOutcome> run_root(store::Claim claim, std::shared_ptr<RunHandle> handle, flow::FlowPtr flow,
                                       std::optional<Json> clear_inputs, std::optional<store::ExecutionRecord> fresh);
  // Runs one execution (a root or a subflow's child) whose record is `rec`.
  awaitable<ExecutionOutcome> run_execution(store::ExecutionRecord rec, flow::FlowPtr flow, std::optional<Json> clear_inputs,
                                            std::vector<store::StepRun> journal, RootRun& root, const Json* event, std::string outer_path);
  Result<flow::FlowPtr> stored_flow(const store::ExecutionRecord& rec);

  bool commit_posted = false;
  struct CommitWaiter {
    std::string root;
    asio::any_completion_handler<void(std::exception_ptr)> handler;
  };
  std::vector<CommitWaiter> commit_waiters;
  void schedule_commit();
  void commit();
  void commit_done(std::vector<CommitWaiter> waiters, const store::CommitResult& result);
  // Resumes once everything recorded so far is committed; throws when the commit failed or
  // the root's lease was lost.
  awaitable<void> committed(RootRun& root);

  Json sealed_copy(const Json& clear, Json shown, const std::string& aad) const;
  // Opens a sealed record; what its redaction hid is registered with `secrets` again.
  void reveal(Json& value, const std::string& aad, SecretScrubber::Scope& secrets) const;
  void journal(ExecState& ex, const Step& step, const std::string& path, int attempt, const std::string& status,
               const Json& inputs, const StepResult* result, std::int64_t started, std::int64_t finished);
  // Marks the attempt a stopped process left in flight at `path` as interrupted (once).
  void mark_interrupted(ExecState& ex, const std::string& path);
  void report_replayed(ExecState& ex, const store::StepRun& r);
  static void report_store_failure(const std::exception& e);

  // ---- steps (steps.cpp) ------------------------------------------------------------------
  // Whether the steps at `path` may no longer start: the run is stopped, an `end` ran (outside
  // a finally that began after it), or a cancel was asked (outside a finally).
  bool halted(const ExecState& ex, const std::string& path) const;
  awaitable<BlockOutcome> run_block(const StepList& steps, Frame& frame, const std::string& prefix);
  awaitable<StepResult> run_step(const Step& step, Frame& frame, const std::string& path);
  static void mark_unrun(const Step& step, Frame& frame);
  static StepResult fail_result(Error e, const std::string& path);
  static StepResult cancelled_result(const std::string& path);
  awaitable<bool> sleep(Millis d);
  awaitable<StepResult> run_attempt(const Step& step, Frame& frame, const std::string& path, int attempt,
                                    const store::StepRun* prior, bool take_else = false);
  awaitable<StepResult> run_kind(const Step& step, Frame& frame, const std::string& path, int attempt,
                                 const store::StepRun* prior, bool take_else, std::int64_t& started, Json& record_inputs);
  static StepResult from_block(const BlockOutcome& o);
  awaitable<StepResult> run_action(const Step& step, Frame& frame, const std::string& path, int attempt,
                                   std::int64_t& started, Json& record_inputs);
  void register_sensitive(RootRun& root, const Json& value, const Json& schema);
  awaitable<StepResult> run_parallel(const Step& step, Frame& frame, const std::string& prefix);
  awaitable<void> run_branch(const flow::Branch& b, Frame& frame, std::string prefix, BlockOutcome& out);
  awaitable<StepResult> run_try(const Step& step, Frame& frame, const std::string& prefix);
  awaitable<StepResult> run_until(const Step& step, Frame& frame, const std::string& prefix);
  static bool in_flight(const store::StepRun* prior, int attempt) {
    return prior && prior->status == "running" && prior->attempt == attempt;
  }

  // ---- for_each (loops.cpp) ---------------------------------------------------------------
  struct LoopState;
  struct PageFetch;
  awaitable<StepResult> run_for_each(const Step& step, Frame& frame, const std::string& prefix, Json& record_inputs);
  awaitable<void> run_pool(const Step& step, Frame& frame, const std::string& prefix, LoopState& st);
  awaitable<void> loop_worker(const Step& step, Frame& frame, const std::string& prefix, LoopState& st);
  void report_loop(const ExecState& ex, const std::string& path, const LoopState& st, bool finished);
  awaitable<void> fetch_page(const Step& step, Frame& frame, const std::string& prefix, const Json& base_inputs,
                             int page, Json cursor, PageFetch& out);

  // ---- wait (waits.cpp) -------------------------------------------------------------------
  awaitable<StepResult> run_wait(const Step& step, Frame& frame, const std::string& path, int attempt,
                                 const store::StepRun* prior, std::int64_t& started, Json& record_inputs);
  // When the leaves in progress change: a draining run whose only leaves left are waits stops;
  // a run whose leaves are all long waits parks.
  void settle(RootRun& root);

  // ---- subflows (subflows.cpp) ------------------------------------------------------------
  awaitable<StepResult> run_subflow(const Step& step, Frame& frame, const std::string& path, int attempt,
                                    const store::StepRun* prior, std::int64_t& started, Json& record_inputs);

  // ---- inputs (inputs.cpp) ----------------------------------------------------------------
  Result<Json> check_inputs(const flow::Flow& flow, const Json& given, bool from_text) const;
  Json redacted_inputs(const flow::Flow& flow, const Json& inputs) const;
  store::ExecutionRecord make_record(const flow::FlowPtr& flow, const Json& inputs, const Json& trigger,
                                     const std::string& id) const;
};

// Counts a leaf step in progress for its run, however it ends.
struct ActiveLeaf {
  Engine::Impl& engine;
  RootRun& root;
  ActiveLeaf(Engine::Impl& e, RootRun& r) : engine(e), root(r) { ++root.active_leaves; }
  ~ActiveLeaf() {
    --root.active_leaves;
    engine.settle(root);
  }
  ActiveLeaf(const ActiveLeaf&) = delete;
  ActiveLeaf& operator=(const ActiveLeaf&) = delete;
};

}  // namespace spokeflow::run
