#include "runtime/worker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "common/ids.hpp"
#include "common/log_fields.hpp"
#include "store/async.hpp"

namespace spokeflow::runtime {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

std::string worker_name() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  char tag[9];
  std::snprintf(tag, sizeof tag, "%08x", rd());
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + tag;
}

Worker::Worker(asio::any_io_executor executor, store::ExecutionStore& store, run::Engine& engine, WorkerOptions options)
    : executor_(std::move(executor)), store_(store), engine_(engine), options_(std::move(options)) {
  if (options_.name.empty()) options_.name = worker_name();
  if (options_.concurrency < 1) options_.concurrency = 1;
  wake_ = std::make_unique<asio::steady_timer>(executor_);
  grace_ = std::make_unique<asio::steady_timer>(executor_);
  // Another process queued work (a store that can tell: PostgreSQL): look now, not at the next
  // poll. Called on the store's listener thread: only a post to the loop happens there.
  if (options_.claim_others)
    store_.on_runnable([ex = executor_, alive = std::weak_ptr<bool>(alive_), this] {
      asio::post(ex, [alive, this] {
        if (!alive.expired()) kick();
      });
    });
}

Worker::~Worker() {
  if (options_.claim_others) store_.on_runnable(nullptr);
  *alive_ = false;
}

void Worker::kick() { wake_->cancel(); }

awaitable<run::ExecutionOutcome> Worker::run_claimed(store::Claim claim, std::optional<run::Engine::Fresh> fresh) {
  auto handle = std::make_shared<run::RunHandle>();
  handle->park_after = options_.park_after;
  const std::string id = claim.id;
  active_[id] = Active{store::Fence{id, claim.epoch}, handle};
  if (draining_) handle->drain();
  ensure_renewing();
  run::ExecutionOutcome outcome;
  try {
    outcome = co_await engine_.run(std::move(claim), handle, std::move(fresh));
  } catch (const std::exception& e) {
    // A bug, not an outcome: the lease expires and another claim resumes the execution.
    log_with(spdlog::level::err, execution_fields(id), "the run stopped on an internal error: {}", e.what());
    outcome.id = id;
    outcome.status = "released";
    outcome.error = Error::make(ErrorKind::internal, e.what()).to_json();
  }
  active_.erase(id);
  if (on_outcome) on_outcome(outcome);
  kick();
  co_return outcome;
}

void Worker::start(store::Claim claim) {
  asio::co_spawn(executor_, run_claimed(std::move(claim), std::nullopt),
                 [](std::exception_ptr e, run::ExecutionOutcome) {
                   if (e) std::rethrow_exception(e);
                 });
}

awaitable<run::ExecutionOutcome> Worker::run_one(std::string id, std::optional<run::Engine::Fresh> fresh) {
  store::ClaimOptions o;
  o.worker = options_.name;
  o.limit = 1;
  o.lease_ms = options_.lease.count();
  o.max_strikes = options_.max_strikes;
  o.only_id = id;
  auto claim = [o](store::ExecutionStore& s) { return s.claim(o, now_unix_ms()); };
  auto claims = co_await store::on_store(store_, std::move(claim));
  if (claims.empty()) {
    run::ExecutionOutcome out;
    out.id = id;
    out.status = "not_claimed";
    co_return out;
  }
  run::ExecutionOutcome outcome = co_await run_claimed(std::move(claims.front()), std::move(fresh));
  co_return outcome;
}

bool Worker::cancel(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return false;
  it->second.handle->cancel();
  return true;
}

bool Worker::stop(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return false;
  it->second.handle->stop(run::RunHandle::Stop::drain);
  return true;
}

std::vector<std::string> Worker::running_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, _] : active_) ids.push_back(id);
  return ids;
}

void Worker::drain(Millis grace) {
  if (draining_) {
    grace = Millis(0);  // asked twice: stop now
  }
  draining_ = true;
  for (auto& [_, a] : active_) a.handle->drain();
  kick();
  if (active_.empty()) return;  // nothing to give a grace period to
  grace_->expires_after(grace);
  grace_->async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    for (auto& [id, a] : active_) {
      log_with(spdlog::level::warn, execution_fields(id),
               "still in progress after the drain's grace period: stopping it (it stays runnable)");
      a.handle->stop(run::RunHandle::Stop::drain);
    }
  });
}

void Worker::ensure_renewing() {
  if (renewing_) return;
  renewing_ = true;
  asio::co_spawn(executor_, renew_loop(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

// Renews every lease this worker holds, a few times per lease period, and hears of cancel
// requests and lost leases on the way.
awaitable<void> Worker::renew_loop() {
  auto alive = std::weak_ptr<bool>(alive_);
  asio::steady_timer timer(executor_);
  const Millis every = std::min(Millis(2'000), std::max(Millis(50), options_.lease / 3));
  while (!alive.expired() && !active_.empty()) {
    timer.expires_after(every);
    co_await timer.async_wait(asio::as_tuple(use_awaitable));
    if (alive.expired() || active_.empty()) break;
    std::vector<store::Fence> fences;
    for (const auto& [_, a] : active_) fences.push_back(a.fence);
    std::vector<store::RenewStatus> got;
    try {
      const std::int64_t until = now_unix_ms() + options_.lease.count();
      auto renew = [fences, until](store::ExecutionStore& s) { return s.renew(fences, until); };
      got = co_await store::on_store(store_, std::move(renew));
    } catch (const std::exception& e) {
      spdlog::error("could not renew {} leases: {} (retrying)", fences.size(), e.what());
      continue;
    }
    if (alive.expired()) break;
    for (std::size_t i = 0; i < fences.size() && i < got.size(); ++i) {
      auto it = active_.find(fences[i].root);
      if (it == active_.end() || it->second.fence.epoch != fences[i].epoch) continue;
      if (got[i] == store::RenewStatus::lost) {
        log_with(spdlog::level::warn, execution_fields(fences[i].root),
                 "the lease was lost (another worker claimed it): stopping it here");
        it->second.handle->stop(run::RunHandle::Stop::lease_lost);
      } else if (got[i] == store::RenewStatus::cancel_requested && !it->second.handle->cancelling()) {
        log_with(spdlog::level::info, execution_fields(fences[i].root), "cancel requested");
        it->second.handle->cancel();
      }
    }
  }
  if (!alive.expired()) renewing_ = false;
  // A run that started after the last check above keeps its lease renewed.
  if (!alive.expired() && !active_.empty()) ensure_renewing();
}

awaitable<void> Worker::run() {
  auto alive = std::weak_ptr<bool>(alive_);
  const std::int64_t idle_deadline = now_unix_ms() + options_.lease.count() + 1'000;
  while (!draining_) {
    const int free = options_.concurrency - static_cast<int>(active_.size());
    std::size_t got = 0;
    if (free > 0 && options_.claim_others) {
      store::ClaimOptions o;
      o.worker = options_.name;
      o.limit = free;
      o.lease_ms = options_.lease.count();
      o.max_strikes = options_.max_strikes;
      try {
        auto claim = [o](store::ExecutionStore& s) { return s.claim(o, now_unix_ms()); };
        auto claims = co_await store::on_store(store_, std::move(claim));
        got = claims.size();
        for (auto& c : claims) {
          if (c.was == "running")
            log_with(spdlog::level::warn, execution_fields(c.id, c.flow_name), "resuming (its previous lease expired)");
          start(std::move(c));
        }
      } catch (const std::exception& e) {
        spdlog::error("could not claim executions: {} (retrying)", e.what());
      }
      if (alive.expired()) co_return;
      if (static_cast<int>(got) == free) continue;  // there may be more
    }
    // When the next claim could find something without anyone enqueueing.
    std::int64_t next = 0;
    try {
      auto peek = [](store::ExecutionStore& s) { return s.next_runnable_at(); };
      next = co_await store::on_store(store_, std::move(peek));
    } catch (const std::exception& e) {
      spdlog::error("could not read the queue: {}", e.what());
    }
    if (alive.expired()) co_return;
    const std::int64_t now = now_unix_ms();
    if (options_.exit_when_idle && active_.empty() && got == 0 && (next == 0 || next > idle_deadline)) break;
    Millis wait = options_.poll;
    if (next > 0) wait = std::min(wait, Millis(std::max<std::int64_t>(0, next - now)));
    if (options_.exit_when_idle && active_.empty() && next > now)
      spdlog::info("waiting up to {} for leases that may belong to stopped processes", format_duration(Millis(next - now)));
    // A full worker waits for a slot (run_claimed kicks); otherwise for the next runnable
    // time, the poll interval, or a kick.
    wake_->expires_after(free > 0 || active_.empty() ? wait : Millis(60'000));
    co_await wake_->async_wait(asio::as_tuple(use_awaitable));
    if (alive.expired()) co_return;
  }
  // Draining: wait for every run to stop.
  while (!active_.empty()) {
    wake_->expires_after(Millis(60'000));
    co_await wake_->async_wait(asio::as_tuple(use_awaitable));
    if (alive.expired()) co_return;
  }
  // Nothing is left for the grace period to stop; its pending timer would keep the event loop
  // (and the process) alive until it expired.
  grace_->cancel();
}

}  // namespace spokeflow::runtime
