// flow: a subflow runs as a child execution inside its parent's run (and lease). The child's
// id is in the parent step's start record before the child's own record is written, so the
// child is never on disk without it: a resumed parent finds its child in its own journal.
#include <spdlog/spdlog.h>

#include "common/ids.hpp"
#include "run/engine_impl.hpp"
#include "store/async.hpp"

namespace spokeflow::run {

awaitable<StepResult> Engine::Impl::run_subflow(const Step& step, Frame& frame, const std::string& path, int attempt,
                                                const store::StepRun* prior, std::int64_t& started,
                                                Json& record_inputs) {
  ExecState& ex = frame.ex();
  RootRun& root = *ex.root;
  std::string key = attempt > 1 ? path + "@" + std::to_string(attempt) : path;
  std::string child_id;
  // An attempt interrupted in flight, or one that failed and that an operator's retry continues
  // (a retry by the step's policy is a new attempt, with a child of its own).
  const bool continued = prior && prior->attempt == attempt && (prior->status == "running" || prior->status == "failed");
  if (continued) {
    const Json* named = prior->inputs.is_object() && prior->inputs.contains("execution_id")
                            ? &prior->inputs["execution_id"] : nullptr;
    // Records are scrubbed of secrets: an id that no longer reads as one is not guessed at.
    if (!named || !named->is_string() || !is_sortable_id(named->get_ref<const std::string&>()))
      co_return fail_result(Error::make(ErrorKind::internal, "the journal of flow step '" + path +
                                                                 "' does not name the child execution it started"),
                            path);
    child_id = named->get<std::string>();
    record_inputs = {{"flow", step.flow_name}, {"execution_id", child_id}};
    if (prior->started_at > 0) started = prior->started_at;
  }
  // A child named by the journal but not on disk: the process stopped between the two records.
  std::optional<store::ExecutionRecord> on_disk;
  std::vector<store::StepRun> child_runs;
  if (!child_id.empty()) {
    auto read = [id = child_id](store::ExecutionStore& s) {
      auto r = s.get_execution(id);
      std::vector<store::StepRun> steps;
      if (r) steps = s.step_runs(id);
      return std::make_pair(std::move(r), std::move(steps));
    };
    auto [rec, runs] = co_await store::on_store(store, std::move(read));
    on_disk = std::move(rec);
    child_runs = std::move(runs);
  }
  if (root.stopped()) co_return cancelled_result(path);

  flow::FlowPtr child_flow;
  store::ExecutionRecord child;
  std::optional<Json> clear_inputs;
  if (!on_disk) {
    if (!library)
      co_return fail_result(Error::make(ErrorKind::validation, "no flows directory to find subflow '" + step.flow_name + "' in"), path);
    flow::LoadResult loaded = library->load(step.flow_name);
    if (!loaded.ok())
      co_return fail_result(Error::make(ErrorKind::validation, "subflow '" + step.flow_name + "': " +
                                                                   loaded.diagnostics.format()), path);
    child_flow = loaded.flow;
    Json given = Json::object();
    if (!step.with.empty()) {
      auto w = step.with.evaluate(frame);
      if (!w.ok()) co_return fail_result(w.error(), path);
      given = std::move(*w);
    }
    auto inputs = check_inputs(*child_flow, given, false);
    if (!inputs.ok()) co_return fail_result(inputs.error(), path);
    if (json_larger_than(*inputs, store::kMaxValueBytes))
      co_return fail_result(Error::make(ErrorKind::validation, "the inputs of subflow '" + step.flow_name +
                                                                   "' are larger than the most a record keeps"),
                            path);
    if (child_id.empty()) {
      child_id = new_sortable_id();
      record_inputs = {{"flow", step.flow_name}, {"execution_id", child_id}};
      started = now_unix_ms();
      journal(ex, step, path, attempt, "running", record_inputs, nullptr, started, 0);
    }
    child = make_record(child_flow, *inputs, {{"type", "subflow"}, {"parent", ex.id}, {"step", path}}, child_id);
    child.parent_id = ex.id;
    child.parent_step = key;
    // A child starts at once: its record joins the parent's batch (one write, not two).
    child.status = "running";
    child.started_at = child.created_at;
    child.run_at = 0;
    store.create_execution(child, root.fence, store::Durability::batched);
    schedule_commit();
    child.flow_source.clear();
    clear_inputs = std::move(*inputs);
  } else {
    auto loaded = stored_flow(*on_disk);
    if (!loaded.ok()) co_return fail_result(loaded.error(), path);
    child_flow = *loaded;
    child = std::move(*on_disk);
    const bool finished = child.status == "succeeded" || child.status == "failed" || child.status == "cancelled";
    if (finished && prior->status == "failed" && child.status != "succeeded") {
      // The operator's retry: the child continues too, its failed steps as their next attempts.
      store.reopen_child(child.id, root.fence);
      journal(ex, step, path, attempt, "running", record_inputs, nullptr, started, 0);
      child.status = "running";
    } else if (finished) {
      // It ended, but the parent's record of that did not reach the disk.
      StepResult r;
      reveal(child.outputs, child.id + "/outputs", root.secrets);
      r.outputs = child.outputs;
      if (child.status != "succeeded") {
        r.status = "failed";
        Error e = child.error.is_null() ? Error::make(ErrorKind::action, "subflow " + child.status)
                                        : Error::from_json(child.error);
        e.message = "subflow '" + step.flow_name + "' (" + child.id + ") " + child.status + ": " + e.message;
        e.step = path;
        r.error = std::move(e);
      }
      co_return r;
    }
  }
  // (A local, not a temporary in the call: GCC 12 frees such a temporary twice in a coroutine.)
  std::string outer_path = ex.outer_path.empty() ? path : ex.outer_path + "/" + path;
  ExecutionOutcome outcome = co_await run_execution(std::move(child), child_flow, std::move(clear_inputs),
                                                    std::move(child_runs), root, &ex.event, std::move(outer_path));
  if (outcome.status == "stopped") co_return cancelled_result(path);
  StepResult r;
  r.outputs = std::move(outcome.outputs);
  if (outcome.status != "succeeded") {
    r.status = "failed";
    Error e = outcome.error.is_null() ? Error::make(ErrorKind::action, "subflow " + outcome.status)
                                      : Error::from_json(outcome.error);
    e.message = "subflow '" + step.flow_name + "' (" + child_id + ") " + outcome.status + ": " + e.message;
    e.step = path;
    r.error = std::move(e);
  }
  co_return r;
}

}  // namespace spokeflow::run
