#include "run/engine.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <unordered_map>

#include "common/ids.hpp"
#include "common/redact.hpp"
#include "common/regex.hpp"
#include "common/scrub.hpp"

namespace spokeflow::run {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using flow::Step;
using flow::StepList;

Millis retry_delay(const flow::RetryPolicy& policy, int next_attempt) {
  Millis base = policy.delay_before(next_attempt);
  if (!policy.jitter || base.count() <= 1) return base;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> dist(base.count() / 2, base.count());
  return Millis(dist(rng));
}

namespace {

enum class Flow { next, failed, ended };

// A child coroutine launched lazily, to be joined with make_parallel_group.
using SpawnOp = decltype(asio::co_spawn(std::declval<asio::any_io_executor>(), std::declval<awaitable<void>>(),
                                        asio::deferred));

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
};

struct ExecState {
  std::string id;
  flow::FlowPtr flow;
  Json inputs;          // as the steps see them (clear)
  Json vars = Json::object();
  Json execution_ctx;
  Json event;
  std::unordered_map<std::string, store::StepRun> journal;  // latest attempt per path, on resume
  bool end_requested = false;
  std::string end_status;
  Json end_message;

  const store::StepRun* prior(const std::string& path) const {
    auto it = journal.find(path);
    return it == journal.end() ? nullptr : &it->second;
  }
};

// A scope of step results: the whole flow, one loop iteration, one parallel branch.
// if/else and try/catch blocks share their parent's frame (their steps stay visible after).
class Frame final : public expr::Scope {
 public:
  Frame(ExecState& ex, const Frame* parent) : ex_(ex), parent_(parent) {}

  const Json* lookup(std::string_view root) const override {
    if (root == "steps") return visible_steps();
    if (root == "inputs") return &ex_.inputs;
    if (root == "vars") return &ex_.vars;
    if (root == "execution") return &ex_.execution_ctx;
    if (root == "event") return &ex_.event;
    for (const Frame* f = this; f; f = f->parent_) {
      if (f->item_ && root == f->item_name_) return f->item_;
      if (f->item_ && root == "index") return &f->index_;
      if (f->error_ && root == "error") return f->error_;
    }
    return nullptr;
  }

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

 private:
  void put(const std::string& id, const StepResult& r, Json outputs) {
    Json entry = Json::object();
    entry["status"] = r.status;
    entry["outputs"] = std::move(outputs);
    entry["error"] = r.error ? r.error->to_json() : Json(nullptr);
    local_[id] = std::move(entry);
    merged_valid_ = false;
  }

  const Json* visible_steps() const {
    if (!parent_) return &local_;
    const Json* outer = parent_->visible_steps();
    if (local_.empty()) return outer;
    if (!merged_valid_) {
      merged_ = *outer;
      for (const auto& [k, v] : local_.items()) merged_[k] = v;
      merged_valid_ = true;
    }
    return &merged_;
  }

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

std::string kind_name(const Step& s) {
  switch (s.kind) {
    case Step::Kind::action: return s.action;
    case Step::Kind::block: return "steps";
    case Step::Kind::for_each: return "for_each";
    case Step::Kind::parallel: return "parallel";
    case Step::Kind::try_catch: return "try";
    case Step::Kind::until: return "until";
    case Step::Kind::wait: return "wait";
    case Step::Kind::set: return "set";
    case Step::Kind::subflow: return "flow";
    case Step::Kind::end: return "end";
  }
  return "step";
}

// "inputs of core.wait do not fit its schema: /duration: ...; /x: ..."
std::string schema_message(const std::string& what, const std::vector<SchemaIssue>& issues) {
  std::string msg = what + " do not fit its schema:";
  for (std::size_t i = 0; i < issues.size(); ++i)
    msg += (i ? "; " : " ") + (issues[i].pointer.empty() ? std::string("/") : issues[i].pointer) + ": " + issues[i].message;
  return msg;
}

bool is_finished_status(const std::string& s) { return s == "succeeded" || s == "failed" || s == "skipped"; }

Error cancelled_error() { return Error::make(ErrorKind::cancelled, "cancelled"); }

bool valid_email(const std::string& s) { return is_email_address(s); }  // RE2: linear time, bounded stack

}  // namespace

struct Engine::Impl {
  asio::any_io_executor executor;
  const ActionRegistry& actions;
  store::ExecutionStore& store;
  flow::FlowLibrary* library;
  EngineOptions options;

  Impl(asio::any_io_executor ex, const ActionRegistry& a, store::ExecutionStore& s, flow::FlowLibrary* l, EngineOptions o)
      : executor(std::move(ex)), actions(a), store(s), library(l), options(std::move(o)) {}
  // Waits for commits still running on the store's thread: they post the waiters' resumption
  // to the loop, whose io_context outlives the engine but not necessarily the store's work.
  ~Impl() {
    try {
      store.flush();
    } catch (const std::exception& e) {
      report_store_failure(e);
    }
  }

  static void report_store_failure(const std::exception& e) {
    spdlog::error("the execution store could not write or commit: {}; records since the last commit may be lost", e.what());
  }

  // ---- records ----------------------------------------------------------------------------

  // Every record is group-committed: written into the store's open batch, which is committed
  // once the loop has run the handlers that were ready when the first record of the batch was
  // written, so that executions progressing together share one commit. Before anything that
  // must not be repeated after a crash (an action with effects outside the process, a wait)
  // the step awaits committed(): its start, and everything recorded before it, is then on disk.
  // A crash can lose the records of the last few hundred microseconds; resume then re-runs an
  // action whose end was not yet committed (as if the crash had hit during the call), which
  // the Okta actions converge on (`if_already`).
  bool commit_posted = false;
  using CommitWaiter = asio::any_completion_handler<void(std::exception_ptr)>;
  std::vector<CommitWaiter> commit_waiters;

  void schedule_commit() {
    if (commit_posted) return;
    commit_posted = true;
    asio::post(executor, [this] { commit(); });
  }

  // With actions in flight the loop has other work: the store commits on its own thread
  // while the loop goes on. With none, the loop would only wait for the commit: it commits in
  // place (no thread to wake and be woken by), as with one execution at a time.
  // Shared: an action's coroutine frame may be destroyed after the engine (a loop stopped by
  // an exception), and its count must not be written into a freed engine then.
  std::shared_ptr<int> actions_in_flight = std::make_shared<int>(0);

  void commit() {
    commit_posted = false;
    auto waiters = std::make_shared<std::vector<CommitWaiter>>(std::move(commit_waiters));
    commit_waiters.clear();
    auto resume = [ex = executor, waiters](std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          report_store_failure(e);
        }
      }
      for (auto& w : *waiters) asio::post(ex, [w = std::move(w), failure]() mutable { std::move(w)(failure); });
    };
    if (*actions_in_flight == 0) {
      std::exception_ptr failure;
      try {
        store.flush();
      } catch (const std::exception&) {
        failure = std::current_exception();
      }
      resume(failure);
      return;
    }
    store.flush_async([ex = executor, resume](std::exception_ptr failure) {
      asio::post(ex, [resume, failure] { resume(failure); });  // logging and resuming stay on the loop
    });
  }

  // Resumes once everything recorded so far is committed; throws when the commit failed.
  awaitable<void> committed() {
    if (!store.has_batched()) co_return;
    co_await asio::async_initiate<decltype(use_awaitable), void(std::exception_ptr)>(
        [this](auto handler) {
          commit_waiters.emplace_back(std::move(handler));
          schedule_commit();
        },
        use_awaitable);
  }

  // `shown` (a redacted copy of `clear`) plus, when something was hidden and a sealer is set,
  // the clear value sealed under "$sealed", bound to `aad` (the execution and step path).
  Json sealed_copy(const Json& clear, Json shown, const std::string& aad) const {
    if (!options.seal || !shown.is_object() || shown == clear) return shown;
    shown[kSealedKey] = options.seal(aad, clear.dump());
    return shown;
  }
  // Puts the clear value back from its sealed copy when it can; drops the copy either way.
  void reveal(Json& value, const std::string& aad) const {
    if (!value.is_object() || !value.contains(kSealedKey)) return;
    if (options.unseal) {
      if (open_sealed(value, aad, options.unseal)) return;
      spdlog::warn("cannot unseal the record of {}: its sensitive values stay redacted", aad);
    }
    value.erase(kSealedKey);
  }

  void journal(ExecState& ex, const Step& step, const std::string& path, int attempt, const std::string& status,
               const Json& inputs, const StepResult* result, std::int64_t started, std::int64_t finished) {
    store::StepRun run;
    run.execution_id = ex.id;
    run.path = path;
    run.attempt = attempt;
    run.kind = kind_name(step);
    run.status = status;
    run.inputs = inputs;
    if (result) {
      if (result->error) run.error = result->error->to_json();
      const Json& out = result->outputs;
      const Action* a = step.kind == Step::Kind::action && result->status == "succeeded" ? actions.find(step.action) : nullptr;
      if (a && step.stream_page && out.is_object()) {
        run.outputs = {{"count", out.contains("items") ? out["items"].size() : 0}, {"next", out.value("next", Json())}};
      } else if (a && a->info().outputs_sensitive) {
        run.outputs = redact_by_schema(out, a->info().output_schema);
      } else {
        run.outputs = out;
      }
    }
    run.started_at = started;
    run.finished_at = finished;
    const SecretScrubber& scrubber = SecretScrubber::instance();
    if (!scrubber.empty()) {
      run.inputs = scrubber.scrub(std::move(run.inputs));
      run.outputs = scrubber.scrub(std::move(run.outputs));
      run.error = scrubber.scrub(std::move(run.error));
    }
    if (result && result->status == "succeeded" && !step.stream_page)
      run.outputs = sealed_copy(result->outputs, std::move(run.outputs), ex.id + "/" + path);
    // The record goes to the store; the event is made of what stays here.
    const bool report = result && options.on_step;
    Json err = report ? run.error : Json();
    std::string kind = report ? run.kind : std::string();
    store.record_step(std::move(run), store::Durability::batched);
    schedule_commit();
    if (report) {
      StepEvent ev;
      ev.execution_id = ex.id;
      ev.flow = ex.flow->name;
      ev.path = path;
      ev.kind = kind;
      ev.status = status;
      ev.attempt = attempt;
      ev.duration_ms = finished - started;
      ev.error = err.is_null() ? nullptr : &err;
      options.on_step(ev);
    }
  }

  void report_replayed(ExecState& ex, const store::StepRun& r) {
    if (!options.on_step) return;
    StepEvent ev;
    ev.execution_id = ex.id;
    ev.flow = ex.flow->name;
    ev.path = r.path;
    ev.kind = r.kind;
    ev.status = r.status;
    ev.attempt = r.attempt;
    ev.duration_ms = r.finished_at - r.started_at;
    ev.error = r.error.is_null() ? nullptr : &r.error;
    ev.replayed = true;
    options.on_step(ev);
  }

  // ---- blocks -----------------------------------------------------------------------------

  awaitable<BlockOutcome> run_block(const StepList& steps, Frame& frame, const std::string& prefix) {
    for (const Step& step : steps) {
      if (frame.ex().end_requested) co_return BlockOutcome{Flow::ended, {}};
      std::string path = prefix.empty() ? step.path_name : prefix + "." + step.path_name;
      StepResult r = co_await run_step(step, frame, path);
      if (r.ended || frame.ex().end_requested) co_return BlockOutcome{Flow::ended, {}};
      if (r.status == "failed" && !step.continue_on_error) co_return BlockOutcome{Flow::failed, *r.error};
    }
    co_return BlockOutcome{};
  }

  // ---- one step: if, retry, timeout, journal ---------------------------------------------

  awaitable<StepResult> run_step(const Step& step, Frame& frame, const std::string& path) {
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
        if (step.kind == Step::Kind::action) attempt += 1;
      } else if (leaf && is_finished_status(prior->status)) {
        StepResult r;
        r.status = prior->status;
        r.outputs = prior->outputs;
        if (!prior->error.is_null()) r.error = Error::from_json(prior->error);
        bool retry_more = r.status == "failed" && step.retry && r.error && attempt < step.retry->max_attempts &&
                          step.retry->retries(*r.error);
        if (!retry_more) {
          report_replayed(ex, *prior);
          frame.set_result(step.id, r);
          co_return r;
        }
        attempt += 1;
        // Wait what is left of the backoff that was interrupted.
        Millis left = retry_delay(*step.retry, attempt) - Millis(now_unix_ms() - prior->finished_at);
        if (left.count() > 0 && !co_await sleep(left)) co_return cancelled_result(path);
      }
    }

    StepResult r;
    for (;;) {
      r = co_await run_attempt(step, frame, path, attempt, prior, take_else);
      prior = nullptr;
      if (r.status != "failed" || !step.retry || !r.error) break;
      if (attempt >= step.retry->max_attempts || !step.retry->retries(*r.error)) break;
      Millis delay = retry_delay(*step.retry, attempt + 1);
      spdlog::debug("[{}] {} attempt {} failed ({}); retrying in {}", ex.id, path, attempt, r.error->message,
                    format_duration(delay));
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
  static void mark_unrun(const Step& step, Frame& frame) {
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

  static StepResult fail_result(Error e, const std::string& path) {
    StepResult r;
    r.status = "failed";
    if (e.step.empty()) e.step = path;
    r.error = std::move(e);
    return r;
  }
  static StepResult cancelled_result(const std::string& path) { return fail_result(cancelled_error(), path); }

  // Sleeps; false when cancelled.
  awaitable<bool> sleep(Millis d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
    co_return !ec;
  }

  // One attempt: evaluates inputs, journals the start when the step has effects outside the
  // process, runs the kind under the step's timeout, journals the end.
  awaitable<StepResult> run_attempt(const Step& step, Frame& frame, const std::string& path, int attempt,
                                    const store::StepRun* prior, bool take_else = false) {
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
    } catch (const std::exception& e) {
      r = fail_result(Error::make(ErrorKind::internal, std::string("internal error: ") + e.what()), path);
    }
    if (r.error && r.error->step.empty()) r.error->step = path;
    journal(ex, step, path, attempt, r.status, record_inputs, &r, started, now_unix_ms());
    co_return r;
  }

  awaitable<StepResult> run_kind(const Step& step, Frame& frame, const std::string& path, int attempt,
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
        StepResult r = co_await run_for_each(step, frame, child_prefix, started, record_inputs);
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
        StepResult r = co_await run_wait(step, frame, path, attempt, prior, started);
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
        ex.end_requested = true;
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

  static StepResult from_block(const BlockOutcome& o) {
    StepResult r;
    if (o.flow == Flow::failed) {
      r.status = "failed";
      r.error = o.error;
    }
    r.ended = o.flow == Flow::ended;
    return r;
  }

  // ---- actions ----------------------------------------------------------------------------

  awaitable<StepResult> run_action(const Step& step, Frame& frame, const std::string& path, int attempt,
                                   std::int64_t& started, Json& record_inputs) {
    ExecState& ex = frame.ex();
    const Action* action = actions.find(step.action);
    if (!action) co_return fail_result(Error::make(ErrorKind::validation, "unknown action '" + step.action + "'"), path);
    const ActionInfo& info = action->info();

    Json inputs = Json::object();
    if (!step.with.empty()) {
      auto evaluated = step.with.evaluate(frame);
      if (!evaluated.ok()) co_return fail_result(evaluated.error(), path);
      inputs = std::move(*evaluated);
    }
    if (info.inputs_sensitive) register_sensitive(inputs, info.input_schema);
    record_inputs = info.inputs_sensitive ? redact_by_schema(inputs, info.input_schema) : inputs;
    if (auto issues = info.inputs_checker->validate(inputs); !issues.empty())
      co_return fail_result(Error::make(ErrorKind::validation, schema_message("inputs of " + info.name, issues)), path);

    if (!info.local) {
      // The start is durable before the action can touch the world: after a crash this
      // attempt is known to have been in flight and the next one gets a new number.
      started = now_unix_ms();
      journal(ex, step, path, attempt, "running", record_inputs, nullptr, started, 0);
      co_await committed();
    }
    std::string connection = step.connection.empty() && info.name.rfind("okta.", 0) == 0 ? ex.flow->connection
                                                                                           : step.connection;
    ActionContext ctx{inputs, ex.id, path, attempt, connection, co_await asio::this_coro::executor};
    struct Counted {  // in actions_in_flight while it runs, however it ends
      std::shared_ptr<int> n;
      explicit Counted(std::shared_ptr<int> count) : n(std::move(count)) {
        if (n) ++*n;
      }
      ~Counted() {
        if (n) --*n;
      }
    } counted(info.local ? nullptr : actions_in_flight);
    Result<Json> out = co_await action->invoke(ctx);
    if (!out.ok()) co_return fail_result(std::move(out).error(), path);
    if (auto issues = info.outputs_checker->validate(*out); !issues.empty())
      co_return fail_result(Error::make(ErrorKind::internal, schema_message("outputs of " + info.name, issues)), path);
    if (info.outputs_sensitive) register_sensitive(*out, info.output_schema);
    StepResult r;
    r.outputs = std::move(*out);
    co_return r;
  }

  static void register_sensitive(const Json& value, const Json& schema) {
    std::vector<const Json*> found;
    collect_sensitive(value, schema, found);
    for (const Json* v : found) SecretScrubber::instance().add_all(*v);
  }

  // ---- wait -------------------------------------------------------------------------------

  // Whether `prior` is the start of this very attempt, left in flight by a process that stopped.
  static bool in_flight(const store::StepRun* prior, int attempt) {
    return prior && prior->status == "running" && prior->attempt == attempt;
  }

  awaitable<StepResult> run_wait(const Step& step, Frame& frame, const std::string& path, int attempt,
                                 const store::StepRun* prior, std::int64_t& started) {
    // Durable: the start is journaled, so a resumed execution waits only what is left.
    if (in_flight(prior, attempt) && prior->started_at > 0) {
      started = prior->started_at;
    } else {
      started = now_unix_ms();
      journal(frame.ex(), step, path, attempt, "running", nullptr, nullptr, started, 0);
      co_await committed();
    }
    Millis left = step.wait - Millis(now_unix_ms() - started);
    if (left.count() > 0 && !co_await sleep(left)) co_return cancelled_result(path);
    StepResult r;
    r.outputs = {{"waited_ms", now_unix_ms() - started}};
    co_return r;
  }

  // ---- for_each ---------------------------------------------------------------------------

  struct LoopState {
    const Json* items = nullptr;  // the list, or the current page of a streamed source
    std::size_t base = 0;         // index of items[0] among all items (pages before it)
    std::size_t next = 0;
    std::size_t failed = 0;
    Json results;
    std::optional<Error> first_error;
    bool ended = false;
  };

  awaitable<StepResult> run_for_each(const Step& step, Frame& frame, const std::string& prefix, std::int64_t&,
                                     Json& record_inputs) {
    LoopState st;
    st.results = Json::array();
    std::size_t total = 0;
    std::optional<Error> source_error;
    if (step.items) {
      auto v = step.items->evaluate(frame);
      if (!v.ok()) co_return fail_result(v.error(), prefix);
      Json items = std::move(*v);
      if (items.is_null()) items = Json::array();
      if (!items.is_array())
        co_return fail_result(Error::make(ErrorKind::validation, "for_each needs a list, got " +
                                                                     std::string(items.type_name())),
                              prefix);
      total = items.size();
      st.items = &items;
      st.results.get_ref<Json::array_t&>().resize(items.size());
      co_await run_pool(step, frame, prefix, st);
    } else {
      // A list action streamed page by page: only the page being worked on (and the next one,
      // fetched while it is) is held in memory, however long the list.
      Json base_inputs = Json::object();
      if (!step.items_with.empty()) {
        auto w = step.items_with.evaluate(frame);
        if (!w.ok()) co_return fail_result(w.error(), prefix);
        base_inputs = std::move(*w);
      }
      PageFetch fetch;
      co_await fetch_page(step, frame, prefix, base_inputs, 0, Json(), fetch);
      for (int page = 0;; ++page) {
        if (!fetch.error.empty()) {
          source_error = Error::from_json(fetch.error);
          break;
        }
        Json items = std::move(fetch.items);
        Json cursor = std::move(fetch.next);
        st.items = &items;
        st.base = total;
        st.next = 0;
        total += items.size();
        st.results.get_ref<Json::array_t&>().resize(total);
        fetch = PageFetch{};
        if (cursor.is_null()) {
          co_await run_pool(step, frame, prefix, st);
          break;
        }
        // Work on this page while the next one is fetched.
        std::vector<SpawnOp> ops;
        auto ex = co_await asio::this_coro::executor;
        ops.push_back(asio::co_spawn(ex, run_pool(step, frame, prefix, st), asio::deferred));
        ops.push_back(asio::co_spawn(ex, fetch_page(step, frame, prefix, base_inputs, page + 1, cursor, fetch),
                                     asio::deferred));
        auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                   .async_wait(asio::experimental::wait_for_all(), use_awaitable);
        for (auto& e : errors)
          if (e) std::rethrow_exception(e);
        if (st.ended || frame.ex().end_requested) break;
      }
    }
    record_inputs = {{"count", total}};

    StepResult r;
    r.outputs = {{"count", total}, {"failed", st.failed}, {"results", std::move(st.results)}};
    r.ended = st.ended;
    if (source_error) {
      r.status = "failed";
      Error e = std::move(*source_error);
      e.message = "for_each source " + step.items_action + " failed after " + std::to_string(total) +
                  " items: " + e.message;
      r.error = std::move(e);
    } else if (st.failed > 0) {
      r.status = "failed";
      Error e = *st.first_error;
      e.message = std::to_string(st.failed) + " of " + std::to_string(total) +
                  " iterations failed; first: " + e.message;
      r.error = std::move(e);
    }
    co_return r;
  }

  // Runs the loop body over st.items with the step's concurrency.
  awaitable<void> run_pool(const Step& step, Frame& frame, const std::string& prefix, LoopState& st) {
    std::size_t workers =
        std::min<std::size_t>(static_cast<std::size_t>(std::max(1, step.concurrency)), st.items->size());
    if (workers <= 1) {
      co_await loop_worker(step, frame, prefix, st);
      co_return;
    }
    std::vector<SpawnOp> ops;
    for (std::size_t i = 0; i < workers; ++i)
      ops.push_back(asio::co_spawn(co_await asio::this_coro::executor, loop_worker(step, frame, prefix, st),
                                   asio::deferred));
    auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                               .async_wait(asio::experimental::wait_for_all(), use_awaitable);
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  awaitable<void> loop_worker(const Step& step, Frame& frame, const std::string& prefix, LoopState& st) {
    while (st.next < st.items->size() && !frame.ex().end_requested) {
      std::size_t local = st.next++;
      std::size_t i = st.base + local;
      Frame iter(frame.ex(), &frame);
      iter.set_item(step.as, &(*st.items)[local], i);
      std::string iter_prefix = prefix + "[" + std::to_string(i) + "]";
      BlockOutcome o = co_await run_block(step.steps, iter, iter_prefix);
      if (o.flow == Flow::ended) st.ended = true;
      if (o.flow == Flow::failed) {
        ++st.failed;
        if (!st.first_error) st.first_error = o.error;
        continue;
      }
      if (step.collect) {
        auto v = step.collect->evaluate(iter);
        if (v.ok()) {
          st.results[i] = std::move(*v);
        } else {
          ++st.failed;
          if (!st.first_error) st.first_error = v.error();
        }
      }
    }
  }

  struct PageFetch {
    Json items = Json::array();
    Json next;   // the cursor for the page after, null at the end
    Json error;  // set when the page could not be had
  };

  // One page of a `for_each: {action, with}` source. Protocol: the action takes `stream: true`
  // and `after` (the previous page's cursor) and returns {items: [...], next: cursor or null}.
  awaitable<void> fetch_page(const Step& step, Frame& frame, const std::string& prefix, const Json& base_inputs,
                             int page, Json cursor, PageFetch& out) {
    Json inputs = base_inputs;
    inputs["stream"] = true;
    if (!cursor.is_null()) inputs["after"] = cursor;
    Step page_step;
    page_step.kind = Step::Kind::action;
    page_step.action = step.items_action;
    page_step.connection = step.connection;
    page_step.stream_page = true;
    std::string path = prefix + ".page[" + std::to_string(page) + "]";
    const store::StepRun* prior = frame.ex().prior(path);
    Json result;
    if (prior && prior->status == "succeeded" && prior->outputs.is_object() && prior->outputs.contains("items") &&
        prior->outputs["items"].is_array()) {
      result = prior->outputs;
    } else {
      // (Also for a page journaled as fetched: its record holds the cursor, not the items.)
      flow::ValueTemplate::Node node;
      node.literal = std::move(inputs);
      page_step.with = flow::ValueTemplate(std::move(node));
      StepResult r = co_await run_attempt(page_step, frame, path, prior ? prior->attempt + 1 : 1, nullptr);
      if (r.status != "succeeded") {
        out.error = r.error ? r.error->to_json() : Error::make(ErrorKind::internal, "page failed").to_json();
        co_return;
      }
      result = std::move(r.outputs);
    }
    if (!result.is_object() || !result.contains("items") || !result["items"].is_array()) {
      out.error = Error::make(ErrorKind::validation,
                              step.items_action + " is not a list action (no `items` list in its outputs)")
                      .to_json();
      co_return;
    }
    out.items = std::move(result["items"]);
    out.next = result.value("next", Json());
    if (out.next.is_string() && out.next.get<std::string>().empty()) out.next = nullptr;
  }

  // ---- parallel ---------------------------------------------------------------------------

  awaitable<StepResult> run_parallel(const Step& step, Frame& frame, const std::string& prefix) {
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

  awaitable<void> run_branch(const flow::Branch& b, Frame& frame, std::string prefix, BlockOutcome& out) {
    out = co_await run_block(b.steps, frame, prefix);
  }

  // ---- try / catch / finally --------------------------------------------------------------

  awaitable<StepResult> run_try(const Step& step, Frame& frame, const std::string& prefix) {
    BlockOutcome body = co_await run_block(step.try_steps, frame, prefix);
    StepResult r;
    r.outputs = {{"caught", false}};
    if (body.flow == Flow::failed) {
      if (!step.catch_steps.empty()) {
        Json err = body.error.to_json();
        // The catch block runs in the same frame (its steps stay visible after the try step),
        // with `error` in scope for its duration.
        const Json* outer_error = frame.error();
        frame.set_error(&err);
        BlockOutcome c = co_await run_block(step.catch_steps, frame, prefix + ".catch");
        frame.set_error(outer_error);
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
    if (!step.finally_steps.empty()) {
      // finally runs even after `end`; it cannot be stopped by the end request it follows.
      bool was_ending = frame.ex().end_requested;
      frame.ex().end_requested = false;
      BlockOutcome f = co_await run_block(step.finally_steps, frame, prefix + ".finally");
      frame.ex().end_requested = frame.ex().end_requested || was_ending;
      if (f.flow == Flow::failed && r.status != "failed") {
        r.status = "failed";
        r.error = f.error;
      }
      if (f.flow == Flow::ended) r.ended = true;
    }
    co_return r;
  }

  // ---- until ------------------------------------------------------------------------------

  awaitable<StepResult> run_until(const Step& step, Frame& frame, const std::string& prefix) {
    StepResult r;
    int i = 0;
    for (; i < step.max_iterations; ++i) {
      if (i > 0 && step.delay && !co_await sleep(*step.delay)) co_return cancelled_result(prefix);
      Frame iter(frame.ex(), &frame);
      BlockOutcome o = co_await run_block(step.steps, iter, prefix + "[" + std::to_string(i) + "]");
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

  // ---- subflow ----------------------------------------------------------------------------

  // The child's id is in this step's start record before the child's own record is written,
  // so the child is never on disk without it: a resumed parent finds its child in its own
  // journal (no index over all executions by parent to keep up on every child's insert).
  awaitable<StepResult> run_subflow(const Step& step, Frame& frame, const std::string& path, int attempt,
                                    const store::StepRun* prior, std::int64_t& started, Json& record_inputs) {
    ExecState& ex = frame.ex();
    std::string key = attempt > 1 ? path + "@" + std::to_string(attempt) : path;
    std::string child_id;
    flow::FlowPtr child_flow;
    // An attempt interrupted in flight (a retry is a new attempt, with a child of its own).
    if (in_flight(prior, attempt)) {
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
    if (!child_id.empty()) on_disk = store.get_execution(child_id);
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
      if (child_id.empty()) {
        child_id = new_sortable_id();
        record_inputs = {{"flow", step.flow_name}, {"execution_id", child_id}};
        started = now_unix_ms();
        journal(ex, step, path, attempt, "running", record_inputs, nullptr, started, 0);
      }
      create_execution(child_flow, *inputs, {{"type", "subflow"}, {"parent", ex.id}, {"step", path}}, ex.id, key,
                       child_id);
    }
    ExecutionOutcome child = co_await run_execution(child_id, child_flow, &ex.event, std::move(on_disk));
    StepResult r;
    r.outputs = child.outputs;
    if (child.status != "succeeded") {
      r.status = "failed";
      Error e = child.error.is_null() ? Error::make(ErrorKind::action, "subflow " + child.status)
                                      : Error::from_json(child.error);
      e.message = "subflow '" + step.flow_name + "' (" + child_id + ") " + child.status + ": " + e.message;
      e.step = path;
      r.error = std::move(e);
    }
    co_return r;
  }

  // ---- executions -------------------------------------------------------------------------

  Result<Json> check_inputs(const flow::Flow& flow, const Json& given, bool from_text) const {
    if (!given.is_object()) return Error::make(ErrorKind::validation, "inputs must be an object");
    Json out = Json::object();
    std::vector<std::string> problems;
    for (const auto& [name, _] : given.items()) {
      bool known = false;
      for (const auto& d : flow.inputs) known = known || d.name == name;
      if (!known) {
        std::string names;
        for (const auto& d : flow.inputs) names += (names.empty() ? "" : ", ") + d.name;
        problems.push_back("unknown input '" + name + "' (" + (names.empty() ? "the flow declares no inputs" : "declared: " + names) + ")");
      }
    }
    for (const auto& d : flow.inputs) {
      auto it = given.find(d.name);
      if (it == given.end() || it->is_null()) {
        if (d.default_value) out[d.name] = *d.default_value;
        else if (d.required) problems.push_back("missing required input '" + d.name + "'");
        continue;
      }
      Json v = *it;
      if (from_text && v.is_string() && d.type != "string") {
        const std::string s = v.get<std::string>();
        Json parsed = Json::parse(s, nullptr, false);
        if (!parsed.is_discarded()) v = parsed;
      }
      bool ok = (d.type == "string" && v.is_string()) || (d.type == "integer" && v.is_number_integer()) ||
                (d.type == "number" && v.is_number()) || (d.type == "boolean" && v.is_boolean()) ||
                (d.type == "object" && v.is_object()) || (d.type == "array" && v.is_array());
      if (!ok) {
        problems.push_back("input '" + d.name + "' must be " + (d.type == "integer" || d.type == "array" || d.type == "object" ? "an " : "a ") + d.type +
                           (d.sensitive ? "" : ", got " + v.dump()));
        continue;
      }
      if (!d.enum_values.empty() && std::find(d.enum_values.begin(), d.enum_values.end(), v) == d.enum_values.end()) {
        std::string allowed;
        for (const auto& e : d.enum_values) allowed += (allowed.empty() ? "" : ", ") + e.dump();
        problems.push_back("input '" + d.name + "' must be one of " + allowed);
        continue;
      }
      if (d.format == "email" && !valid_email(v.get<std::string>())) {
        problems.push_back("input '" + d.name + "' must be an email address" + (d.sensitive ? "" : ", got " + v.dump()));
        continue;
      }
      out[d.name] = std::move(v);
    }
    if (!problems.empty()) {
      std::string msg = "flow '" + flow.name + "': ";
      for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
      return Error::make(ErrorKind::validation, msg);
    }
    return out;
  }

  Json redacted_inputs(const flow::Flow& flow, const Json& inputs) const {
    Json out = inputs;
    for (const auto& d : flow.inputs)
      if (d.sensitive && out.contains(d.name) && !out[d.name].is_null()) out[d.name] = kRedacted;
    return out;
  }

  std::string create_execution(const flow::FlowPtr& flow, const Json& inputs, const Json& trigger,
                               const std::string& parent_id, const std::string& parent_step, const std::string& id) {
    store::ExecutionRecord rec;
    rec.id = id;
    rec.flow_name = flow->name;
    rec.flow_file = flow->source_file;
    rec.flow_source = flow->source_text;
    rec.flow_hash = flow->source_hash;
    rec.inputs = sealed_copy(inputs, redacted_inputs(*flow, inputs), rec.id + "/inputs");
    rec.trigger = trigger;
    rec.created_at = now_unix_ms();
    rec.parent_id = parent_id;
    rec.parent_step = parent_step;
    // A top-level execution is on disk, queued, before it is handed out. A child starts at
    // once: its record joins the parent's batch already running (one write, not two).
    if (parent_id.empty()) {
      rec.status = "queued";
      store.create_execution(rec, store::Durability::now);
    } else {
      rec.status = "running";
      rec.started_at = rec.created_at;
      rec.owner = options.owner;
      store.create_execution(rec, store::Durability::batched);
    }
    // Sensitive inputs are stored redacted (and sealed when a sealer is set); the clear values
    // stay at hand for this process, and so does the record, so that running it needs no read.
    rec.flow_source.clear();  // the flow itself is handed to run_execution
    created.emplace(id, Created{std::move(rec), inputs});
    return id;
  }

  // Executions this process created and has not started yet.
  struct Created {
    store::ExecutionRecord record;
    Json clear_inputs;
  };
  std::unordered_map<std::string, Created> created;

  // `stored`: its record, when the caller has just read it from the store.
  awaitable<ExecutionOutcome> run_execution(std::string id, flow::FlowPtr flow, const Json* event,
                                            std::optional<store::ExecutionRecord> stored = std::nullopt) {
    ExecutionOutcome outcome;
    outcome.id = id;
    std::optional<store::ExecutionRecord> rec = std::move(stored);
    std::optional<Json> clear_inputs;
    auto made = created.find(id);
    const bool fresh = made != created.end();  // made by this engine and not run yet
    if (fresh) {
      if (flow) rec = std::move(made->second.record);
      clear_inputs = std::move(made->second.clear_inputs);
      created.erase(made);
    }
    if (!rec) rec = store.get_execution(id);
    if (!rec) {
      outcome.status = "failed";
      outcome.error = Error::make(ErrorKind::internal, "no execution " + id).to_json();
      co_return outcome;
    }
    outcome.flow = rec->flow_name;
    if (rec->status == "succeeded" || rec->status == "failed" || rec->status == "cancelled") {
      outcome.status = rec->status;
      outcome.outputs = without_sealed(rec->outputs);
      outcome.error = rec->error;
      co_return outcome;
    }
    if (!flow) {
      // Resume runs the flow exactly as it was when the execution started.
      flow::LoadResult loaded = flow::load_flow_text(rec->flow_source, rec->flow_file, actions);
      if (!loaded.ok()) {
        Error e = Error::make(ErrorKind::validation, "stored flow no longer loads: " + loaded.diagnostics.format());
        store.finish_execution(id, "failed", nullptr, e.to_json(), now_unix_ms());
        outcome.status = "failed";
        outcome.error = e.to_json();
        co_return outcome;
      }
      flow = loaded.flow;
    }

    auto state = std::make_unique<ExecState>();
    ExecState& ex = *state;
    ex.id = id;
    ex.flow = flow;
    if (clear_inputs) {
      ex.inputs = std::move(*clear_inputs);
    } else {
      ex.inputs = rec->inputs;
      reveal(ex.inputs, id + "/inputs");
    }
    for (const auto& d : flow->inputs)
      if (d.sensitive && ex.inputs.contains(d.name)) SecretScrubber::instance().add_all(ex.inputs[d.name]);
    if (event) ex.event = *event;
    else if (rec->trigger.is_object() && rec->trigger.contains("event")) ex.event = rec->trigger["event"];
    std::int64_t started = rec->started_at ? rec->started_at : now_unix_ms();
    ex.execution_ctx = {{"id", id}, {"flow", flow->name}, {"started_at", format_timestamp(started)},
                        {"trigger", rec->trigger.value("type", "")}};
    if (rec->status == "running" && !fresh) {
      for (auto& run : store.step_runs(id)) {
        reveal(run.outputs, id + "/" + run.path);
        auto [it, inserted] = ex.journal.try_emplace(run.path, run);
        if (!inserted && run.attempt >= it->second.attempt) it->second = std::move(run);
      }
      spdlog::info("[{}] resuming {} ({} step runs in the journal)", id, flow->name, ex.journal.size());
    }
    // A child made here was recorded running already.
    if (!fresh || rec->status != "running") store.set_execution_running(id, started, options.owner, store::Durability::batched);

    Frame top(ex, nullptr);
    std::string status = "succeeded";
    Json error;
    Json outputs;
    try {
      if (flow->vars) {
        auto v = flow->vars->evaluate(top);
        if (!v.ok()) throw std::runtime_error(v.error().message);
        if (v->is_object()) ex.vars = std::move(*v);
      }
      BlockOutcome o;
      if (flow->timeout) {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(co_await asio::this_coro::executor,
                                 *flow->timeout - Millis(std::max<std::int64_t>(0, now_unix_ms() - started)));
        auto which = co_await (run_block(flow->steps, top, "") || timer.async_wait(use_awaitable));
        if (which.index() == 0) o = std::get<0>(which);
        else o = BlockOutcome{Flow::failed, Error::make(ErrorKind::timeout, "execution timed out after " + format_duration(*flow->timeout))};
      } else {
        o = co_await run_block(flow->steps, top, "");
      }
      if (o.flow == Flow::failed) {
        status = o.error.kind == ErrorKind::cancelled ? "cancelled" : "failed";
        error = o.error.to_json();
      } else if (o.flow == Flow::ended) {
        status = ex.end_status;
        if (status == "failed")
          error = Error::make(ErrorKind::action, ex.end_message.is_string() ? ex.end_message.get<std::string>()
                                                                            : ex.end_message.dump()).to_json();
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) {
        status = "cancelled";
        error = cancelled_error().to_json();
      } else {
        status = "failed";
        error = Error::make(ErrorKind::internal, e.what()).to_json();
      }
    } catch (const std::exception& e) {
      status = "failed";
      error = Error::make(ErrorKind::internal, e.what()).to_json();
    }
    if (status == "succeeded" || (status == "failed" && ex.end_requested)) {
      outputs = Json::object();
      for (const auto& [name, value] : flow->outputs) {
        auto v = value.evaluate(top);
        if (!v.ok()) {
          status = "failed";
          Error e = v.error();
          e.message = "output '" + name + "': " + e.message;
          error = e.to_json();
          break;
        }
        outputs[name] = std::move(*v);
      }
    }
    // A top-level result is on disk before it is reported; a child's is committed with its parent's next records.
    store.finish_execution(id, status, sealed_copy(outputs, SecretScrubber::instance().scrub(outputs), id + "/outputs"),
                           SecretScrubber::instance().scrub(error), now_unix_ms(),
                           rec->parent_id.empty() ? store::Durability::now : store::Durability::batched);
    if (!rec->parent_id.empty()) schedule_commit();
    outcome.status = status;
    outcome.outputs = std::move(outputs);
    outcome.error = std::move(error);
    co_return outcome;
  }
};

Json without_sealed(Json value) {
  if (value.is_object()) value.erase(kSealedKey);
  return value;
}

bool open_sealed(Json& value, const std::string& aad, const UnsealFn& unseal) {
  if (!value.is_object() || !value.contains(kSealedKey)) return true;
  const Json& sealed = value[kSealedKey];
  if (!sealed.is_string()) return false;
  auto clear = unseal(aad, sealed.get<std::string>());
  if (!clear) return false;
  Json parsed = Json::parse(*clear, nullptr, false);
  if (parsed.is_discarded()) return false;
  value = std::move(parsed);
  return true;
}

Engine::Engine(asio::any_io_executor executor, const ActionRegistry& actions, store::ExecutionStore& store,
               flow::FlowLibrary* library, EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), actions, store, library, std::move(options))) {}
Engine::~Engine() = default;

Result<Json> Engine::check_inputs(const flow::Flow& flow, const Json& given, bool from_text) const {
  return impl_->check_inputs(flow, given, from_text);
}

std::string Engine::create(const flow::FlowPtr& flow, const Json& inputs, const Json& trigger) {
  return impl_->create_execution(flow, inputs, trigger, "", "", new_sortable_id());
}

asio::awaitable<ExecutionOutcome> Engine::run(std::string id, flow::FlowPtr flow) {
  // (Not `co_return co_await ...`: GCC 12 can destroy that expression's temporaries twice.)
  ExecutionOutcome outcome = co_await impl_->run_execution(std::move(id), std::move(flow), nullptr);
  co_return outcome;
}

}  // namespace spokeflow::run
