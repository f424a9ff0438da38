// Blocks of steps, one step with its `if`, retries and timeout, actions, and the flow logic
// that needs no more than that: parallel, try/catch/finally, until, set, end.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/ids.hpp"
#include "common/log_fields.hpp"
#include "common/redact.hpp"
#include "run/engine_impl.hpp"

namespace spokeflow::run {
using asio::use_awaitable;

namespace {

// A child coroutine launched lazily, to be joined with make_parallel_group.
using SpawnOp = decltype(asio::co_spawn(std::declval<asio::any_io_executor>(), std::declval<awaitable<void>>(),
                                        asio::deferred));

// Whether `path` lies inside the block whose steps have paths starting with `prefix`.
bool covers(const std::string& prefix, const std::string& path) {
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  if (path.size() == prefix.size()) return true;
  const char c = path[prefix.size()];
  return c == '.' || c == '[' || c == '@';
}

enum class Halt { none, stopped, ended, cancelled };

Halt halt_at(const ExecState& ex, const std::string& path) {
  if (ex.root->stopped() || ex.root->handle->draining()) return Halt::stopped;
  const std::pair<std::string, int>* shield = nullptr;
  for (const auto& s : ex.shields)
    if (covers(s.first, path) && (!shield || s.first.size() > shield->first.size())) shield = &s;
  // Inside a finally: only an `end` run after it began stops its steps; a cancel does not.
  if (shield) return ex.ends > shield->second ? Halt::ended : Halt::none;
  if (ex.end_requested()) return Halt::ended;
  if (ex.root->handle->cancelling()) return Halt::cancelled;
  return Halt::none;
}

}  // namespace

bool Engine::Impl::halted(const ExecState& ex, const std::string& path) const { return halt_at(ex, path) != Halt::none; }

// ---- blocks ---------------------------------------------------------------------------------

awaitable<BlockOutcome> Engine::Impl::run_block(const StepList& steps, Frame& frame, const std::string& prefix) {
  ExecState& ex = frame.ex();
  for (const Step& step : steps) {
    std::string path = prefix.empty() ? step.path_name : prefix + "." + step.path_name;
    switch (halt_at(ex, path)) {
      case Halt::none: break;
      case Halt::stopped: co_return BlockOutcome{Flow::stopped, {}};
      case Halt::ended: co_return BlockOutcome{Flow::ended, {}};
      case Halt::cancelled: {
        // What a stopped process did is replayed and a block it was inside is entered, so that
        // what was in flight there ends cancelled and its finally steps run; nothing new starts.
        const store::StepRun* prior = ex.prior(path);
        if (ex.entered.contains(path) || (prior && is_finished_status(prior->status))) break;
        // A step a stopped process left in flight (a wait, say) ends here, cancelled.
        if (prior && prior->status == "running") {
          StepResult r = cancelled_result(path);
          journal(ex, step, path, prior->attempt, "failed", prior->inputs, &r, prior->started_at, now_unix_ms());
        }
        co_return BlockOutcome{Flow::failed, cancelled_error()};
      }
    }
    StepResult r = co_await run_step(step, frame, path);
    if (ex.root->stopped()) co_return BlockOutcome{Flow::stopped, {}};
    if (r.ended || halt_at(ex, path) == Halt::ended) co_return BlockOutcome{Flow::ended, {}};
    if (r.status == "failed" && !step.continue_on_error) co_return BlockOutcome{Flow::failed, *r.error};
  }
  co_return BlockOutcome{};
}

// ---- one step: if, retry, timeout, journal ----------------------------------------------------

awaitable<StepResult> Engine::Impl::run_step(const Step& step, Frame& frame, const std::string& path) {
  ExecState& ex = frame.ex();
  const store::StepRun* prior = ex.prior(path);
  bool take_else = false;  // a block whose `if` is false runs its `else` steps

  if (step.condition) {
    auto cond = step.condition->evaluate(frame);
    if (!cond.ok()) {
      StepResult r = fail_result(cond.error(), path);
      auto now = now_unix_ms();
      journal(ex, step, path, 1, "failed", nullptr, &r, now, now);
      frame.set_result(step.id, r);
      co_return r;
    }
    if (!expr::truthy(*cond) && step.kind == Step::Kind::block && !step.else_steps.empty()) {
      take_else = true;
    } else if (!expr::truthy(*cond)) {
      StepResult r;
      r.status = "skipped";
      if (!(prior && prior->status == "skipped")) {
        auto now = now_unix_ms();
        journal(ex, step, path, 1, "skipped", nullptr, &r, now, now);
      }
      frame.set_result(step.id, r);
      mark_unrun(step, frame);
      co_return r;
    }
  }

  const bool leaf = step.kind == Step::Kind::action || step.kind == Step::Kind::wait ||
                    step.kind == Step::Kind::subflow;
  int attempt = 1;
  if (prior) {
    attempt = prior->attempt;
    if (prior->status == "running") {
      // In flight when the process stopped: an action runs again as its next attempt; a
      // wait waits what is left; a subflow's child execution and a block are continued
      // (their finished steps come from their journals).
      if (step.kind == Step::Kind::action) {
        mark_interrupted(ex, path);
        attempt += 1;
      }
    } else if (leaf && is_finished_status(prior->status)) {
      StepResult r;
      r.status = prior->status;
      r.outputs = prior->outputs;
      if (!prior->error.is_null()) r.error = Error::from_json(prior->error);
      // An operator's retry runs the steps that had failed again (a subflow continues its child).
      const bool operator_retry = r.status == "failed" && ex.retried_at > 0 && prior->finished_at <= ex.retried_at;
      bool retry_more = r.status == "failed" && step.retry && r.error && attempt < step.retry->max_attempts &&
                        step.retry->retries(*r.error);
      if (!retry_more && !operator_retry) {
        report_replayed(ex, *prior);
        frame.set_result(step.id, r);
        co_return r;
      }
      if (step.kind != Step::Kind::subflow || !operator_retry) attempt += 1;
      if (!operator_retry) {
        // Wait what is left of the backoff that was interrupted.
        Millis left = retry_delay(*step.retry, attempt) - Millis(now_unix_ms() - prior->finished_at);
        if (left.count() > 0 && !co_await sleep(left)) co_return cancelled_result(path);
      }
    }
  }

  StepResult r;
  for (;;) {
    r = co_await run_attempt(step, frame, path, attempt, prior, take_else);
    prior = nullptr;
    if (ex.root->stopped()) break;
    if (r.status != "failed" || !step.retry || !r.error) break;
    if (attempt >= step.retry->max_attempts || !step.retry->retries(*r.error)) break;
    if (halted(ex, path)) break;
    Millis delay = retry_delay(*step.retry, attempt + 1);
    if (spdlog::should_log(spdlog::level::debug)) {
      Json fields = execution_fields(ex.id, ex.flow->name, path);
      fields["attempt"] = attempt;
      log_with(spdlog::level::debug, fields, "attempt {} failed ({}); retrying in {}", attempt, r.error->message,
               format_duration(delay));
    }
    if (!co_await sleep(delay)) {
      r = cancelled_result(path);
      break;
    }
    ++attempt;
  }
  frame.set_result(step.id, std::move(r));  // run_block needs only the status and error
  mark_unrun(step, frame);
  co_return r;
}

// Steps inside an if/else block or a try stay visible after it; those that did not run
// (a branch not taken, the rest of a failed try) read as skipped, not as unknown.
void Engine::Impl::mark_unrun(const Step& step, Frame& frame) {
  if (step.kind != Step::Kind::block && step.kind != Step::Kind::try_catch) return;
  static const StepResult skipped = [] {
    StepResult r;
    r.status = "skipped";
    return r;
  }();
  for (const StepList* list : {&step.steps, &step.else_steps, &step.try_steps, &step.catch_steps, &step.finally_steps})
    for (const Step& inner : *list) {
      if (!inner.id.empty() && !frame.has_result(inner.id)) frame.set_result(inner.id, skipped);
      mark_unrun(inner, frame);
    }
}

StepResult Engine::Impl::fail_result(Error e, const std::string& path) {
  StepResult r;
  r.status = "failed";
  if (e.step.empty()) e.step = path;
  r.error = std::move(e);
  return r;
}

StepResult Engine::Impl::cancelled_result(const std::string& path) { return fail_result(cancelled_error(), path); }

// Sleeps; false when cancelled.
awaitable<bool> Engine::Impl::sleep(Millis d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
  co_return !ec;
}

// One attempt: evaluates inputs, journals the start when the step has effects outside the
// process, runs the kind under the step's timeout, journals the end.
awaitable<StepResult> Engine::Impl::run_attempt(const Step& step, Frame& frame, const std::string& path, int attempt,
                                                const store::StepRun* prior, bool take_else) {
  ExecState& ex = frame.ex();
  std::int64_t started = now_unix_ms();
  Json record_inputs;
  StepResult r;
  try {
    if (step.timeout) {
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(co_await asio::this_coro::executor, *step.timeout);
      auto which = co_await (run_kind(step, frame, path, attempt, prior, take_else, started, record_inputs) ||
                             timer.async_wait(use_awaitable));
      if (which.index() == 0) {
        r = std::move(std::get<0>(which));
      } else {
        r = fail_result(Error::make(ErrorKind::timeout, "step timed out after " + format_duration(*step.timeout)), path);
      }
    } else {
      r = co_await run_kind(step, frame, path, attempt, prior, take_else, started, record_inputs);
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) r = cancelled_result(path);
    else r = fail_result(Error::make(ErrorKind::internal, e.what()), path);
  } catch (const store::LeaseLost& e) {
    r = fail_result(Error::make(ErrorKind::internal, e.what()), path);  // not journaled: the run is stopped
  } catch (const std::exception& e) {
    r = fail_result(Error::make(ErrorKind::internal, std::string("internal error: ") + e.what()), path);
  }
  if (r.error && r.error->step.empty()) r.error->step = path;
  journal(ex, step, path, attempt, r.status, record_inputs, &r, started, now_unix_ms());
  co_return r;
}

awaitable<StepResult> Engine::Impl::run_kind(const Step& step, Frame& frame, const std::string& path, int attempt,
                                             const store::StepRun* prior, bool take_else, std::int64_t& started,
                                             Json& record_inputs) {
  // Children of a retried block get fresh paths, so that the retry really runs them again.
  std::string child_prefix = attempt > 1 ? path + "@" + std::to_string(attempt) : path;
  switch (step.kind) {
    case Step::Kind::action: {
      StepResult r = co_await run_action(step, frame, path, attempt, started, record_inputs);
      co_return r;
    }
    case Step::Kind::block: {
      record_inputs = {{"branch", take_else ? "else" : "then"}};
      // (No co_await inside ?: : GCC 12 miscompiles it.)
      const StepList& body = take_else ? step.else_steps : step.steps;
      std::string body_prefix = take_else ? child_prefix + ".else" : child_prefix;
      BlockOutcome o = co_await run_block(body, frame, body_prefix);
      co_return from_block(o);
    }
    case Step::Kind::for_each: {
      StepResult r = co_await run_for_each(step, frame, child_prefix, record_inputs);
      co_return r;
    }
    case Step::Kind::parallel: {
      StepResult r = co_await run_parallel(step, frame, child_prefix);
      co_return r;
    }
    case Step::Kind::try_catch: {
      StepResult r = co_await run_try(step, frame, child_prefix);
      co_return r;
    }
    case Step::Kind::until: {
      StepResult r = co_await run_until(step, frame, child_prefix);
      co_return r;
    }
    case Step::Kind::wait: {
      StepResult r = co_await run_wait(step, frame, path, attempt, prior, started, record_inputs);
      co_return r;
    }
    case Step::Kind::set: {
      StepResult r;
      Json assigned = Json::object();
      for (const auto& [name, value] : step.assignments) {
        auto v = value.evaluate(frame);
        if (!v.ok()) co_return fail_result(v.error(), path);
        frame.ex().vars[name] = *v;
        assigned[name] = std::move(*v);
      }
      r.outputs = std::move(assigned);
      co_return r;
    }
    case Step::Kind::subflow: {
      StepResult r = co_await run_subflow(step, frame, path, attempt, prior, started, record_inputs);
      co_return r;
    }
    case Step::Kind::end: {
      ExecState& ex = frame.ex();
      Json message;
      if (step.end_message) {
        auto m = step.end_message->evaluate(frame);
        if (!m.ok()) co_return fail_result(m.error(), path);
        message = std::move(*m);
      }
      ++ex.ends;
      ex.end_status = step.end_status;
      ex.end_message = message;
      StepResult r;
      r.outputs = {{"status", step.end_status}, {"message", message}};
      r.ended = true;
      co_return r;
    }
  }
  co_return fail_result(Error::make(ErrorKind::internal, "unknown step kind"), path);
}

StepResult Engine::Impl::from_block(const BlockOutcome& o) {
  StepResult r;
  if (o.flow == Flow::failed) {
    r.status = "failed";
    r.error = o.error;
  }
  r.ended = o.flow == Flow::ended;
  return r;
}

// ---- actions --------------------------------------------------------------------------------

awaitable<StepResult> Engine::Impl::run_action(const Step& step, Frame& frame, const std::string& path, int attempt,
                                               std::int64_t& started, Json& record_inputs) {
  ExecState& ex = frame.ex();
  RootRun& root = *ex.root;
  const Action* action = actions.find(step.action);
  if (!action) co_return fail_result(Error::make(ErrorKind::validation, "unknown action '" + step.action + "'"), path);
  const ActionInfo& info = action->info();

  Json inputs = Json::object();
  if (!step.with.empty()) {
    auto evaluated = step.with.evaluate(frame);
    if (!evaluated.ok()) co_return fail_result(evaluated.error(), path);
    inputs = std::move(*evaluated);
  }
  if (info.inputs_sensitive) register_sensitive(root, inputs, info.input_schema);
  record_inputs = info.inputs_sensitive ? redact_by_schema(inputs, info.input_schema) : inputs;
  if (auto issues = info.inputs_checker->validate(inputs); !issues.empty())
    co_return fail_result(Error::make(ErrorKind::validation, input_issues_message(info, step.with, record_inputs, issues)), path);

  // In progress from its start record on: a run does not park while it waits for that commit.
  std::optional<ActiveLeaf> active;
  if (!info.local) {
    active.emplace(*this, root);
    // The start is durable before the action can touch the world: after a crash this
    // attempt is known to have been in flight and the next one gets a new number.
    started = now_unix_ms();
    journal(ex, step, path, attempt, "running", record_inputs, nullptr, started, 0);
    co_await committed(root);
    if (root.stopped()) co_return cancelled_result(path);
  }
  std::string connection = step.connection.empty() && info.name.rfind("okta.", 0) == 0 ? ex.flow->connection
                                                                                         : step.connection;
  ActionContext ctx{inputs, ex.id, path, attempt, connection, co_await asio::this_coro::executor};
  ctx.flow = ex.flow->name;
  CallActivity calls;
  if (spdlog::should_log(spdlog::level::debug)) {
    calls.log_fields = execution_fields(ex.id, ex.flow->name, path);
    calls.log_fields["attempt"] = attempt;
  }
  ctx.calls = &calls;
  Result<Json> out = co_await action->invoke(ctx);
  if (!out.ok()) {
    StepResult failed = fail_result(std::move(out).error(), path);
    if (!calls.empty()) failed.client = calls.to_json();
    co_return failed;
  }
  if (auto issues = info.outputs_checker->validate(*out); !issues.empty())
    co_return fail_result(Error::make(ErrorKind::internal, output_issues_message(info, *out, issues)), path);
  if (json_larger_than(*out, store::kMaxValueBytes))
    co_return fail_result(Error::make(ErrorKind::validation, "the outputs of " + info.name + " are larger than " +
                                                                 std::to_string(store::kMaxValueBytes >> 20) +
                                                                 " MiB, the most a record keeps (ask for less: a "
                                                                 "smaller page, max_items, or a for_each source)"),
                          path);
  if (info.outputs_sensitive) register_sensitive(root, *out, info.output_schema);
  StepResult r;
  r.outputs = std::move(*out);
  if (!calls.empty()) r.client = calls.to_json();
  co_return r;
}

void Engine::Impl::register_sensitive(RootRun& root, const Json& value, const Json& schema) {
  std::vector<const Json*> found;
  collect_sensitive(value, schema, found);
  for (const Json* v : found) root.secrets.add_all(*v);
}

// ---- parallel -------------------------------------------------------------------------------

awaitable<StepResult> Engine::Impl::run_parallel(const Step& step, Frame& frame, const std::string& prefix) {
  std::vector<BlockOutcome> outcomes(step.branches.size());
  std::vector<std::unique_ptr<Frame>> frames;
  std::vector<SpawnOp> ops;
  auto ex = co_await asio::this_coro::executor;
  for (std::size_t i = 0; i < step.branches.size(); ++i) {
    frames.push_back(std::make_unique<Frame>(frame.ex(), &frame));
    const auto& b = step.branches[i];
    std::string bprefix = prefix + (b.id.empty() ? "[" + std::to_string(i) + "]" : "." + b.id);
    ops.push_back(asio::co_spawn(ex, run_branch(b, *frames.back(), bprefix, outcomes[i]), asio::deferred));
  }
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  StepResult r;
  Json branches = Json::array();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    std::string status = o.flow == Flow::failed ? "failed" : "succeeded";
    branches.push_back({{"id", step.branches[i].id.empty() ? Json(i) : Json(step.branches[i].id)}, {"status", status}});
    if (o.flow == Flow::failed && !r.error) {
      r.status = "failed";
      r.error = o.error;
    }
    if (o.flow == Flow::ended) r.ended = true;
  }
  r.outputs = {{"branches", std::move(branches)}};
  co_return r;
}

awaitable<void> Engine::Impl::run_branch(const flow::Branch& b, Frame& frame, std::string prefix, BlockOutcome& out) {
  out = co_await run_block(b.steps, frame, prefix);
}

// ---- try / catch / finally ------------------------------------------------------------------

awaitable<StepResult> Engine::Impl::run_try(const Step& step, Frame& frame, const std::string& prefix) {
  ExecState& ex = frame.ex();
  BlockOutcome body = co_await run_block(step.try_steps, frame, prefix);
  StepResult r;
  r.outputs = {{"caught", false}};
  if (body.flow == Flow::stopped) co_return r;
  // A cancel is not caught: catch steps could carry the flow on. finally steps run.
  const bool cancelled = body.flow == Flow::failed && body.error.kind == ErrorKind::cancelled && ex.root->handle->cancelling();
  if (body.flow == Flow::failed) {
    if (!step.catch_steps.empty() && !cancelled) {
      Json err = body.error.to_json();
      // The catch block runs in the same frame (its steps stay visible after the try step),
      // with `error` in scope for its duration.
      const Json* outer_error = frame.error();
      frame.set_error(&err);
      BlockOutcome c = co_await run_block(step.catch_steps, frame, prefix + ".catch");
      frame.set_error(outer_error);
      if (c.flow == Flow::stopped) co_return r;
      r.outputs = {{"caught", true}, {"error", err}};
      if (c.flow == Flow::failed) {
        r.status = "failed";
        r.error = c.error;
      }
      if (c.flow == Flow::ended) r.ended = true;
    } else {
      r.status = "failed";
      r.error = body.error;
    }
  }
  if (body.flow == Flow::ended) r.ended = true;
  if (!step.finally_steps.empty() && !ex.root->stopped()) {
    // finally runs even after `end` or a cancel: its steps are shielded from both (only an
    // `end` run inside it stops it). Other branches running meanwhile are not.
    const std::string fprefix = prefix + ".finally";
    ex.shields.emplace_back(fprefix, ex.ends);
    auto shield = std::prev(ex.shields.end());
    // A cancel has been delivered to what the body awaited; what finally awaits must work.
    if (ex.root->handle->cancelling()) co_await asio::this_coro::reset_cancellation_state();
    BlockOutcome f = co_await run_block(step.finally_steps, frame, fprefix);
    ex.shields.erase(shield);
    if (f.flow == Flow::stopped) co_return r;
    if (f.flow == Flow::failed && r.status != "failed") {
      r.status = "failed";
      r.error = f.error;
    }
    if (f.flow == Flow::ended) r.ended = true;
  }
  co_return r;
}

// ---- until ----------------------------------------------------------------------------------

awaitable<StepResult> Engine::Impl::run_until(const Step& step, Frame& frame, const std::string& prefix) {
  StepResult r;
  int i = 0;
  for (; i < step.max_iterations; ++i) {
    if (i > 0 && step.delay && !co_await sleep(*step.delay)) co_return cancelled_result(prefix);
    Frame iter(frame.ex(), &frame);
    BlockOutcome o = co_await run_block(step.steps, iter, prefix + "[" + std::to_string(i) + "]");
    if (o.flow == Flow::stopped) co_return r;
    if (o.flow == Flow::failed) {
      r.status = "failed";
      r.error = o.error;
      r.outputs = {{"iterations", i + 1}};
      co_return r;
    }
    if (o.flow == Flow::ended) {
      r.ended = true;
      r.outputs = {{"iterations", i + 1}};
      co_return r;
    }
    auto done = step.until->evaluate(iter);
    if (!done.ok()) co_return fail_result(done.error(), prefix);
    if (expr::truthy(*done)) {
      r.outputs = {{"iterations", i + 1}};
      co_return r;
    }
  }
  r.status = "failed";
  r.error = Error::make(ErrorKind::action, "until: condition still false after " + std::to_string(step.max_iterations) +
                                               " iterations (max_iterations)");
  r.outputs = {{"iterations", i}};
  co_return r;
}

}  // namespace spokeflow::run
