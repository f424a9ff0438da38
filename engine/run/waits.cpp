// wait: durable. The wake-up time is journaled when the wait starts, so a resumed execution
// waits only what is left; a wait longer than the run's park_after threshold parks the whole
// execution in the store (when nothing else of it is in progress) and frees its memory.
#include <boost/asio/post.hpp>

#include "common/ids.hpp"
#include "run/engine_impl.hpp"

namespace spokeflow::run {

namespace {

// The wake-up time a `wait` asks for, evaluated when it starts.
Result<std::int64_t> wake_time(const Step& step, Frame& frame, std::int64_t now) {
  if (step.wait_until) {
    auto v = step.wait_until->evaluate(frame);
    if (!v.ok()) return v.error();
    if (v->is_number_integer()) return v->get<std::int64_t>();
    if (v->is_string())
      if (auto t = parse_timestamp(v->get_ref<const std::string&>())) return *t;
    return Error::make(ErrorKind::validation, "wait until: " + (v->is_string() ? "'" + v->get<std::string>() + "'" : v->dump()) +
                                                  " is not a point in time (give ISO 8601 with a zone, such as "
                                                  "2026-12-08T09:00:00Z, or Unix milliseconds)");
  }
  if (step.wait_for) {
    auto v = step.wait_for->evaluate(frame);
    if (!v.ok()) return v.error();
    if (v->is_string())
      if (auto d = parse_duration(v->get_ref<const std::string&>())) return now + d->count();
    return Error::make(ErrorKind::validation, "wait: " + (v->is_string() ? "'" + v->get<std::string>() + "'" : v->dump()) +
                                                  " is not a duration (give 250ms, 10s, 5m, 2h, 1d or sums like 1h30m)");
  }
  return now + step.wait.count();
}

}  // namespace

awaitable<StepResult> Engine::Impl::run_wait(const Step& step, Frame& frame, const std::string& path, int attempt,
                                             const store::StepRun* prior, std::int64_t& started, Json& record_inputs) {
  ExecState& ex = frame.ex();
  RootRun& root = *ex.root;
  ActiveLeaf leaf(*this, root);
  ++root.waits;
  struct Counted {
    int& n;
    ~Counted() { --n; }
  } counted{root.waits};
  std::int64_t wake_at = 0;
  if (in_flight(prior, attempt) && prior->started_at > 0) {
    started = prior->started_at;
    record_inputs = prior->inputs;
    std::optional<std::int64_t> journaled;
    if (prior->inputs.is_object() && prior->inputs.contains("until") && prior->inputs["until"].is_string())
      journaled = parse_timestamp(prior->inputs["until"].get_ref<const std::string&>());
    wake_at = journaled ? *journaled : started + step.wait.count();
  } else {
    started = now_unix_ms();
    auto at = wake_time(step, frame, started);
    if (!at.ok()) co_return fail_result(at.error(), path);
    wake_at = *at;
    record_inputs = {{"until", format_timestamp(wake_at)}};
    journal(ex, step, path, attempt, "running", record_inputs, nullptr, started, 0);
    co_await committed(root);
  }
  const std::int64_t left = wake_at - now_unix_ms();
  if (left > 0) {
    const bool long_wait = Millis(left) > root.handle->park_after;
    std::list<std::int64_t>::iterator mine;
    if (long_wait) {
      root.long_waits.push_back(wake_at);
      mine = std::prev(root.long_waits.end());
      settle(root);
    }
    bool slept = false;
    try {
      slept = co_await sleep(Millis(left));
    } catch (...) {
      if (long_wait) root.long_waits.erase(mine);
      throw;
    }
    if (long_wait) root.long_waits.erase(mine);
    if (!slept) co_return cancelled_result(path);
  }
  StepResult r;
  r.outputs = {{"waited_ms", now_unix_ms() - started}};
  co_return r;
}

void Engine::Impl::settle(RootRun& root) {
  if (root.stopped() || root.handle->cancelling()) return;
  if (root.handle->draining()) {
    // Checked once the loop has run what is ready: the step that just ended is journaled first.
    if (root.active_leaves == root.waits)
      asio::post(executor, [&root, alive = std::weak_ptr<int>(root.alive)] {
        if (alive.expired() || root.stopped() || root.active_leaves != root.waits) return;
        root.handle->stop(RunHandle::Stop::drain);
      });
    return;
  }
  if (root.long_waits.empty()) return;
  if (static_cast<std::size_t>(root.active_leaves) != root.long_waits.size()) return;
  root.wake_at = *std::min_element(root.long_waits.begin(), root.long_waits.end());
  root.handle->stop(RunHandle::Stop::park);
}

}  // namespace spokeflow::run
