// Runs of claimed executions, their records and the group commits they wait for.
#include "run/engine.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "common/log_fields.hpp"
#include "common/redact.hpp"
#include "run/engine_impl.hpp"
#include "store/async.hpp"

namespace spokeflow::run {
using asio::use_awaitable;

Millis retry_delay(const flow::RetryPolicy& policy, int next_attempt) {
  Millis base = policy.delay_before(next_attempt);
  if (!policy.jitter || base.count() <= 1) return base;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> dist(base.count() / 2, base.count());
  return Millis(dist(rng));
}

void RunHandle::cancel() {
  if (cancelling_ || stop_ != Stop::none) return;
  cancelling_ = true;
  signal_.emit(asio::cancellation_type::terminal);
}

void RunHandle::drain() {
  if (draining_ || stop_ != Stop::none) return;
  draining_ = true;
  if (on_drain_) on_drain_();
}

void RunHandle::stop(Stop why) {
  if (stop_ != Stop::none || why == Stop::none) return;
  stop_ = why;
  signal_.emit(asio::cancellation_type::terminal);
}

// ---- frames ---------------------------------------------------------------------------------

const Json* Frame::lookup(std::string_view root) const {
  if (root == "steps") return merged_steps();
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

const Json* Frame::lookup_member(std::string_view root, std::string_view key) const {
  if (root != "steps") return expr::Scope::lookup_member(root, key);
  for (const Frame* f = this; f; f = f->parent_) {
    auto it = f->local_.find(key);
    if (it != f->local_.end()) return &*it;
  }
  return nullptr;
}

bool Frame::tracks_sensitive() const { return !SecretScrubber::instance().empty(); }

void Frame::find_sensitive(std::string_view text, std::vector<Span>& out) const {
  std::vector<SecretScrubber::Span> found;
  SecretScrubber::instance().find(text, found);
  for (const auto& f : found) out.push_back({f.begin, f.end});
}

void Frame::derived_sensitive(std::string_view secret) const { ex_.root->secrets.add(secret); }

void Frame::put(const std::string& id, const StepResult& r, Json outputs) {
  Json entry = Json::object();
  entry["status"] = r.status;
  entry["outputs"] = std::move(outputs);
  entry["error"] = r.error ? r.error->to_json() : Json(nullptr);
  local_[id] = std::move(entry);
  merged_valid_ = false;
}

namespace {
std::size_t merges = 0;  // the loop's thread only
}  // namespace

std::size_t Frame::merged_copies() { return merges; }

const Json* Frame::merged_steps() const {
  if (!parent_) return &local_;
  const Json* outer = parent_->merged_steps();
  if (local_.empty()) return outer;
  if (!merged_valid_) {
    ++merges;
    merged_ = *outer;
    for (const auto& [k, v] : local_.items()) merged_[k] = v;
    merged_valid_ = true;
  }
  return &merged_;
}

// ---- small shared helpers -------------------------------------------------------------------

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

namespace {

// The "type" the schema asks for at a value's JSON pointer ("" when it cannot tell).
std::string schema_type_at(const Json& schema, const std::string& pointer) {
  const Json* node = &schema;
  for (const std::string& token : pointer_tokens(pointer)) {
    if (node->contains("properties") && (*node)["properties"].contains(token)) node = &(*node)["properties"][token];
    else if (node->contains("items") && (*node)["items"].is_object()) node = &(*node)["items"];
    else return {};
  }
  if (!node->contains("type")) return {};
  const Json& t = (*node)["type"];
  if (t.is_string()) return t.get<std::string>();
  std::string out;
  if (t.is_array())
    for (const auto& one : t)
      if (one.is_string()) out += (out.empty() ? "" : " or ") + one.get<std::string>();
  return out;
}

// "<what> do not fit its schema: " and each issue: where, the value found there (unless
// `values` is null), the expression of `with` that made it (when given), what is wrong, and
// the type the schema wants.
std::string issues_message(const std::string& what, const Json& schema, const Json* values,
                           const flow::ValueTemplate* with, const std::vector<SchemaIssue>& issues) {
  std::string msg = what + " do not fit its schema:";
  for (std::size_t i = 0; i < issues.size(); ++i) {
    const SchemaIssue& issue = issues[i];
    msg += (i ? "; " : " ") + (issue.pointer.empty() ? std::string("/") : issue.pointer) + " ";
    const Json* value = nullptr;
    if (values) {
      try {
        const Json::json_pointer ptr(issue.pointer);
        if (values->contains(ptr)) value = &values->at(ptr);
      } catch (const std::exception&) {
      }
    }
    if (value && !issue.pointer.empty()) {
      std::string text = dump_json(*value);
      if (text.size() > 80) text = text.substr(0, 77) + "...";
      msg += "is " + text;
      if (const auto* node = with ? with->node_at(issue.pointer) : nullptr;
          node && node->kind == flow::ValueTemplate::Node::Kind::expression)
        msg += " (from " + node->expression.source() + " at line " + std::to_string(node->pos.line) + ")";
      msg += ": ";
    }
    msg += issue.message;
    // A type mismatch says the type wanted (valijson's message does not).
    if (issue.message.find("'type' constraint") != std::string::npos)
      if (std::string wants = schema_type_at(schema, issue.pointer); !wants.empty()) msg += " (it must be " + wants + ")";
  }
  return msg;
}

}  // namespace

std::string output_issues_message(const ActionInfo& info, const Json& outputs, const std::vector<SchemaIssue>& issues) {
  // Outputs that may hold secrets are not quoted: a record or a log line would keep them.
  return issues_message("outputs of " + info.name, info.output_schema, info.outputs_sensitive ? nullptr : &outputs,
                        nullptr, issues);
}

std::string input_issues_message(const ActionInfo& info, const flow::ValueTemplate& with, const Json& shown_inputs,
                                 const std::vector<SchemaIssue>& issues) {
  return issues_message("inputs of " + info.name, info.input_schema, &shown_inputs, &with, issues);
}

bool is_finished_status(const std::string& s) { return s == "succeeded" || s == "failed" || s == "skipped"; }

Error cancelled_error() { return Error::make(ErrorKind::cancelled, "cancelled"); }

bool json_larger_than(const Json& value, std::size_t limit) {
  std::size_t size = 0;
  std::vector<const Json*> todo{&value};
  while (!todo.empty()) {
    const Json* v = todo.back();
    todo.pop_back();
    switch (v->type()) {
      case Json::value_t::string: size += v->get_ref<const std::string&>().size() + 2; break;
      case Json::value_t::object:
        size += 2 + v->size();
        for (auto it = v->begin(); it != v->end(); ++it) {
          size += it.key().size() + 3;
          todo.push_back(&it.value());
        }
        break;
      case Json::value_t::array:
        size += 2 + v->size();
        for (const auto& item : *v) todo.push_back(&item);
        break;
      default: size += 8; break;  // numbers, booleans, null: a few bytes; exactness does not matter here
    }
    if (size > limit) return true;
  }
  return false;
}

// ---- the engine -----------------------------------------------------------------------------

Engine::Impl::~Impl() {
  // Waits for commits still running on the store's thread: they post the waiters' resumption
  // to the loop, whose io_context outlives the engine but not necessarily the store's work.
  try {
    store.flush();
  } catch (const std::exception& e) {
    report_store_failure(e);
  }
}

void Engine::Impl::report_store_failure(const std::exception& e) {
  spdlog::error("the execution store could not write or commit: {}; records since the last commit may be lost", e.what());
}

// ---- records --------------------------------------------------------------------------------

// Every record is group-committed: written into the store's open batch, which is committed
// once the loop has run the handlers that were ready when the first record of the batch was
// written, so that executions progressing together share one commit. Before anything that
// must not be repeated after a crash (an action with effects outside the process, a wait)
// the step awaits committed(): its start, and everything recorded before it, is then on disk.
// A crash can lose the records of the last few hundred microseconds; resume then re-runs an
// action whose end was not yet committed (as if the crash had hit during the call), which
// the Okta actions converge on (`if_already`). Commits run on the store's own thread: the
// loop never waits for one.
void Engine::Impl::schedule_commit() {
  if (commit_posted) return;
  commit_posted = true;
  asio::post(executor, [this] { commit(); });
}

void Engine::Impl::commit() {
  commit_posted = false;
  auto waiters = std::make_shared<std::vector<CommitWaiter>>(std::move(commit_waiters));
  commit_waiters.clear();
  store.flush_async([this, ex = executor, waiters](store::CommitResult result) {
    // Logging, resuming and the fenced roots stay on the loop.
    asio::post(ex, [this, waiters, result = std::move(result)] { commit_done(std::move(*waiters), result); });
  });
}

void Engine::Impl::commit_done(std::vector<CommitWaiter> waiters, const store::CommitResult& result) {
  if (result.failure) {
    try {
      std::rethrow_exception(result.failure);
    } catch (const std::exception& e) {
      report_store_failure(e);
    }
    // Everything batched since the last commit is lost, whichever runs wrote it (the database
    // restarted or went away). A run that went on would fail its step on the error, or end with
    // a journal missing records; each run of this process stops here instead, writing nothing
    // more, as if its lease were lost: the lease lapses and a claim resumes the execution from
    // the journal on disk (a step whose end was lost runs again as its next attempt).
    std::vector<std::string> roots;
    for (const auto& [id, run] : live)
      if (run->handle->stopped() == RunHandle::Stop::none) roots.push_back(id);
    for (const auto& id : roots) {
      auto it = live.find(id);
      if (it == live.end()) continue;
      log_with(spdlog::level::warn, execution_fields(id),
               "a commit to the store failed: stopping this execution here; it resumes from its journal once its "
               "lease lapses");
      it->second->handle->stop(RunHandle::Stop::lease_lost);
    }
  }
  for (const auto& root : result.fenced) {
    auto it = live.find(root);
    if (it == live.end()) continue;
    log_with(spdlog::level::warn, execution_fields(root),
             "the lease on this execution was lost (another worker claimed it): stopping it here");
    it->second->handle->stop(RunHandle::Stop::lease_lost);
  }
  for (auto& w : waiters) {
    std::exception_ptr e = result.failure;
    if (!e && std::find(result.fenced.begin(), result.fenced.end(), w.root) != result.fenced.end())
      e = std::make_exception_ptr(store::LeaseLost(w.root));
    asio::post(executor, [h = std::move(w.handler), e]() mutable { std::move(h)(e); });
  }
}

awaitable<void> Engine::Impl::committed(RootRun& root) {
  if (!store.has_batched()) co_return;
  co_await asio::async_initiate<decltype(use_awaitable), void(std::exception_ptr)>(
      [this, &root](auto handler) {
        commit_waiters.push_back(CommitWaiter{root.fence.root, std::move(handler)});
        schedule_commit();
      },
      use_awaitable);
}

// `shown` (a redacted copy of `clear`) plus, when something was hidden and a sealer is set,
// the clear value sealed under "$sealed", bound to `aad` (the execution and step path).
Json Engine::Impl::sealed_copy(const Json& clear, Json shown, const std::string& aad) const {
  if (!options.seal || !shown.is_object() || shown == clear) return shown;
  shown[kSealedKey] = options.seal(aad, clear.dump());
  return shown;
}

// Puts the clear value back from its sealed copy when it can; drops the copy either way. The
// process that wrote the record registered what it hid (sensitive values, and what the run
// computed from them), which this one may never compute again: what differs is registered.
void Engine::Impl::reveal(Json& value, const std::string& aad, SecretScrubber::Scope& secrets) const {
  if (!value.is_object() || !value.contains(kSealedKey)) return;
  if (options.unseal) {
    Json shown = without_sealed(value);
    if (open_sealed(value, aad, options.unseal)) {
      secrets.add_hidden(shown, value);
      return;
    }
    spdlog::warn("cannot unseal the record of {}: its sensitive values stay redacted", aad);
  }
  value.erase(kSealedKey);
}

void Engine::Impl::journal(ExecState& ex, const Step& step, const std::string& path, int attempt,
                           const std::string& status, const Json& inputs, const StepResult* result,
                           std::int64_t started, std::int64_t finished) {
  // A stopped run writes nothing more: the execution is someone else's now, or parked as the
  // journal stands.
  if (ex.root->stopped()) return;
  store::StepRun run;
  run.execution_id = ex.id;
  run.path = path;
  run.attempt = attempt;
  run.kind = kind_name(step);
  run.status = status;
  run.inputs = inputs;
  if (result) {
    if (result->error) run.error = result->error->to_json();
    run.client = result->client;
    const Json& out = result->outputs;
    const Action* a = step.kind == Step::Kind::action && result->status == "succeeded" ? actions.find(step.action) : nullptr;
    if (a && a->info().outputs_sensitive) run.outputs = redact_by_schema(out, a->info().output_schema);
    else run.outputs = out;
  }
  run.started_at = started;
  run.finished_at = finished;
  const SecretScrubber& scrubber = SecretScrubber::instance();
  if (!scrubber.empty()) {
    run.inputs = scrubber.scrub(std::move(run.inputs));
    run.outputs = scrubber.scrub(std::move(run.outputs));
    run.error = scrubber.scrub(std::move(run.error));
    run.client = scrubber.scrub(std::move(run.client));
  }
  if (result && result->status == "succeeded")
    run.outputs = sealed_copy(result->outputs, std::move(run.outputs), ex.id + "/" + path);
  // The record goes to the store; the event is made of what stays here.
  const bool report = result && options.on_step;
  Json err = report ? run.error : Json();
  Json client = report ? run.client : Json();
  std::string kind = report ? run.kind : std::string();
  store.record_step(std::move(run), ex.root->fence, store::Durability::batched);
  schedule_commit();
  if (report) {
    StepEvent ev;
    ev.execution_id = ex.id;
    ev.flow = ex.flow->name;
    ev.outer_path = ex.outer_path;
    ev.path = path;
    ev.kind = kind;
    ev.status = status;
    ev.attempt = attempt;
    ev.duration_ms = finished - started;
    ev.error = err.is_null() ? nullptr : &err;
    ev.client = client.is_null() ? nullptr : &client;
    options.on_step(ev);
  }
}

void Engine::Impl::mark_interrupted(ExecState& ex, const std::string& path) {
  auto it = ex.journal.find(path);
  if (it == ex.journal.end() || it->second.status != "running" || ex.root->stopped()) return;
  store::StepRun run = it->second;
  run.status = "interrupted";
  run.outputs = nullptr;
  run.error = Error::make(ErrorKind::internal, "the process running this attempt stopped before it ended").to_json();
  if (!run.finished_at) run.finished_at = now_unix_ms();
  it->second.status = "interrupted";
  store.record_step(std::move(run), ex.root->fence, store::Durability::batched);
  schedule_commit();
}

void Engine::Impl::report_replayed(ExecState& ex, const store::StepRun& r) {
  if (!options.on_step) return;
  StepEvent ev;
  ev.execution_id = ex.id;
  ev.flow = ex.flow->name;
  ev.outer_path = ex.outer_path;
  ev.path = r.path;
  ev.kind = r.kind;
  ev.status = r.status;
  ev.attempt = r.attempt;
  ev.duration_ms = r.finished_at - r.started_at;
  ev.error = r.error.is_null() ? nullptr : &r.error;
  ev.client = r.client.is_null() ? nullptr : &r.client;
  ev.replayed = true;
  options.on_step(ev);
}

// ---- runs -----------------------------------------------------------------------------------

Result<flow::FlowPtr> Engine::Impl::stored_flow(const store::ExecutionRecord& rec) {
  if (auto it = loaded_flows.find(rec.flow_hash); it != loaded_flows.end()) return it->second;
  // Resume runs the flow exactly as it was when the execution started.
  flow::LoadResult loaded = flow::load_flow_text(rec.flow_source, rec.flow_file, actions);
  if (!loaded.ok())
    return Error::make(ErrorKind::validation, "stored flow no longer loads: " + loaded.diagnostics.format());
  if (loaded_flows.size() >= 64) loaded_flows.clear();  // a bound, not a policy: reloading is correct
  loaded_flows.emplace(rec.flow_hash, loaded.flow);
  return loaded.flow;
}

awaitable<ExecutionOutcome> Engine::Impl::run_root(store::Claim claim, std::shared_ptr<RunHandle> handle,
                                                   flow::FlowPtr flow, std::optional<Json> clear_inputs,
                                                   std::optional<store::ExecutionRecord> fresh) {
  RootRun root;
  root.fence = store::Fence{claim.id, claim.epoch};
  root.handle = handle;
  live[claim.id] = &root;
  struct Unlive {
    Impl& e;
    std::string id;
    ~Unlive() { e.live.erase(id); }
  } unlive{*this, claim.id};

  ExecutionOutcome outcome;
  outcome.id = claim.id;
  outcome.flow = claim.flow_name;
  store::ExecutionRecord rec;
  std::vector<store::StepRun> journal;
  if (fresh && claim.epoch == 1) {
    rec = std::move(*fresh);  // made and enqueued by the caller, claimed for the first time: no journal
    rec.status = "running";
  } else {
    // An execution claimed for the first time from the queue has no journal yet.
    const bool first = claim.was == "queued" && claim.epoch == 1;
    auto read = [id = claim.id, first](store::ExecutionStore& s) {
      auto r = s.get_execution(id);
      std::vector<store::StepRun> steps;
      if (r && !first) steps = s.step_runs(id);
      return std::make_pair(std::move(r), std::move(steps));
    };
    auto [got, runs] = co_await store::on_store(store, std::move(read));
    if (!got) {
      outcome.status = "failed";
      outcome.error = Error::make(ErrorKind::internal, "no execution " + claim.id).to_json();
      co_return outcome;
    }
    rec = std::move(*got);
    journal = std::move(runs);
    clear_inputs.reset();  // the record's (sealed) inputs are the ones that count
  }
  if (!flow) {
    auto loaded = stored_flow(rec);
    if (!loaded.ok()) {
      store.finish_execution(rec.id, "failed", nullptr, loaded.error().to_json(), now_unix_ms(), root.fence,
                             store::Durability::batched);
      outcome.status = "failed";
      outcome.error = loaded.error().to_json();
      try {
        co_await committed(root);
      } catch (const store::LeaseLost&) {
        outcome.status = "lost";
      }
      co_return outcome;
    }
    flow = *loaded;
  }
  if (rec.cancel_requested) handle->cancel();
  handle->on_drain_ = [this, &root] { settle(root); };
  struct ForgetDrain {
    RunHandle& h;
    ~ForgetDrain() { h.on_drain_ = nullptr; }
  } forget_drain{*handle};
  if (handle->draining()) settle(root);

  // The run itself is a coroutine of its own, bound to the handle: cancel() and stop() reach
  // whatever it awaits, wherever in the step tree.
  std::string root_path;  // a root is not inside anything
  ExecutionOutcome inner = co_await asio::co_spawn(
      executor, run_execution(std::move(rec), flow, std::move(clear_inputs), std::move(journal), root, nullptr,
                              std::move(root_path)),
      asio::bind_cancellation_slot(handle->signal_.slot(), use_awaitable));
  outcome.status = inner.status;
  outcome.outputs = std::move(inner.outputs);
  outcome.error = std::move(inner.error);

  // A drain that ended with nothing in flight stops like a hard one, without cancelling anything.
  RunHandle::Stop stop = handle->stopped();
  if (stop == RunHandle::Stop::none && handle->draining()) stop = RunHandle::Stop::drain;
  switch (stop) {
    case RunHandle::Stop::none:
      try {
        co_await committed(root);  // the end record
      } catch (const store::LeaseLost&) {
        outcome.status = "lost";
      } catch (const std::exception& e) {
        // The end is not on disk: the next claim runs the execution's end again.
        report_store_failure(e);
        outcome.status = "released";
      }
      break;
    case RunHandle::Stop::park:
    case RunHandle::Stop::drain: {
      const bool park = stop == RunHandle::Stop::park;
      const std::int64_t at = park ? root.wake_at : now_unix_ms();
      bool held = false;
      try {
        auto give_back = [f = root.fence, at, park](store::ExecutionStore& s) { return s.release(f, at, park); };
        held = co_await store::on_store(store, std::move(give_back));
      } catch (const std::exception& e) {
        report_store_failure(e);  // the lease expires instead; the next claim resumes it
      }
      outcome.status = !held ? "lost" : park ? "waiting" : "released";
      outcome.wake_at = park ? at : 0;
      if (park) log_with(spdlog::level::info, execution_fields(claim.id), "parked until {}", format_timestamp(at));
      break;
    }
    case RunHandle::Stop::lease_lost: outcome.status = "lost"; break;
  }
  if (outcome.status == "lost" || outcome.status == "released" || outcome.status == "waiting") {
    outcome.outputs = nullptr;
    outcome.error = nullptr;
  }
  co_return outcome;
}

awaitable<ExecutionOutcome> Engine::Impl::run_execution(store::ExecutionRecord rec, flow::FlowPtr flow,
                                                        std::optional<Json> clear_inputs,
                                                        std::vector<store::StepRun> runs, RootRun& root,
                                                        const Json* event, std::string outer_path) {
  ExecutionOutcome outcome;
  outcome.id = rec.id;
  outcome.flow = rec.flow_name;
  const std::string id = rec.id;
  auto state = std::make_unique<ExecState>();
  ExecState& ex = *state;
  ex.id = id;
  ex.outer_path = std::move(outer_path);
  ex.flow = flow;
  ex.root = &root;
  if (clear_inputs) {
    ex.inputs = std::move(*clear_inputs);
  } else {
    ex.inputs = rec.inputs;
    reveal(ex.inputs, id + "/inputs", root.secrets);
  }
  for (const auto& d : flow->inputs)
    if (d.sensitive && ex.inputs.contains(d.name)) root.secrets.add_all(ex.inputs[d.name]);
  if (event) ex.event = *event;
  else if (rec.trigger.is_object() && rec.trigger.contains("event")) ex.event = rec.trigger["event"];
  ex.retried_at = rec.retried_at;
  std::int64_t started = rec.started_at ? rec.started_at : now_unix_ms();
  ex.execution_ctx = {{"id", id}, {"flow", flow->name}, {"started_at", format_timestamp(started)},
                      {"trigger", rec.trigger.value("type", "")}};
  if (!runs.empty()) {
    for (auto& run : runs) {
      for (std::size_t cut = run.path.find_first_of(".[@"); cut != std::string::npos;
           cut = run.path.find_first_of(".[@", cut + 1))
        ex.entered.insert(run.path.substr(0, cut));
      reveal(run.outputs, id + "/" + run.path, root.secrets);
      auto [it, inserted] = ex.journal.try_emplace(run.path, run);
      if (!inserted && run.attempt >= it->second.attempt) it->second = std::move(run);
    }
    log_with(spdlog::level::info, execution_fields(id, flow->name), "resuming ({} step runs in the journal)",
             ex.journal.size());
  }

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
  if (root.stopped() || root.handle->draining()) {
    outcome.status = "stopped";
    co_return outcome;
  }
  if (root.handle->cancelling() && status != "succeeded") {
    status = "cancelled";
    if (error.is_null() || Error::from_json(error).kind != ErrorKind::cancelled) error = cancelled_error().to_json();
  }
  if (status == "succeeded" || (status == "failed" && ex.end_requested())) {
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
    if (status != "failed" || ex.end_requested()) {
      if (json_larger_than(outputs, store::kMaxValueBytes)) {
        status = "failed";
        error = Error::make(ErrorKind::validation, "the flow's outputs are larger than " +
                                                       std::to_string(store::kMaxValueBytes >> 20) +
                                                       " MiB, the most a record keeps")
                    .to_json();
        outputs = nullptr;
      }
    }
  }
  // Attempts a stopped process left in flight and that this run did not take up again (a path
  // the flow no longer reached) were interrupted all the same.
  for (auto& [path, run] : ex.journal)
    if (run.status == "running" && run.kind != "wait" && run.kind != "flow") mark_interrupted(ex, path);
  Json shown_outputs = SecretScrubber::instance().scrub(outputs);
  Json shown_error = SecretScrubber::instance().scrub(error);
  store.finish_execution(id, status, sealed_copy(outputs, shown_outputs, id + "/outputs"), shown_error, now_unix_ms(),
                         root.fence, store::Durability::batched);
  schedule_commit();
  outcome.status = status;
  // A child's caller reads its outputs in clear; a root's are handed out as recorded.
  const bool child = !rec.parent_id.empty();
  outcome.outputs = child ? std::move(outputs) : std::move(shown_outputs);
  outcome.error = std::move(shown_error);
  co_return outcome;
}

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

Result<store::ExecutionRecord> Engine::new_execution(const flow::FlowPtr& flow, const Json& inputs,
                                                     const Json& trigger) const {
  if (json_larger_than(inputs, store::kMaxValueBytes))
    return Error::make(ErrorKind::validation, "flow '" + flow->name + "': the inputs are larger than " +
                                                  std::to_string(store::kMaxValueBytes >> 20) +
                                                  " MiB, the most a record keeps");
  return impl_->make_record(flow, inputs, trigger, new_sortable_id());
}

asio::awaitable<ExecutionOutcome> Engine::run(store::Claim claim, std::shared_ptr<RunHandle> handle,
                                              std::optional<Fresh> fresh) {
  if (!handle) handle = std::make_shared<RunHandle>();
  flow::FlowPtr flow;
  std::optional<Json> clear;
  std::optional<store::ExecutionRecord> record;
  if (fresh) {
    flow = std::move(fresh->flow);
    clear = std::move(fresh->clear_inputs);
    record = std::move(fresh->record);
  }
  // (Not `co_return co_await ...`: GCC 12 can destroy that expression's temporaries twice.)
  ExecutionOutcome outcome =
      co_await impl_->run_root(std::move(claim), std::move(handle), std::move(flow), std::move(clear), std::move(record));
  co_return outcome;
}

std::size_t Engine::running() const { return impl_->live.size(); }

}  // namespace spokeflow::run
