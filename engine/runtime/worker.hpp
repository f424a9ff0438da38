#pragma once
// The worker: claims executions from the store's queue under leases, runs them on the engine,
// renews the leases while they run, cancels them on request, and drains. Every way of running
// (`run`, `resume`, `worker`, `serve`) goes through one.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/duration.hpp"
#include "run/engine.hpp"
#include "store/store.hpp"

namespace spokeflow::runtime {

struct WorkerOptions {
  std::string name;             // the lease holder, as records show it ("host:pid:random")
  int concurrency = 16;         // executions run at once
  Millis lease{30'000};         // a lease not renewed for this long is anyone's to claim
  Millis poll{1'000};           // how often to look for work other processes queued
  Millis park_after{5'000};     // a wait longer than this parks its execution in the store
  int max_strikes = 3;          // claims in a row that died without progress before an execution fails
  bool claim_others = true;     // false: runs only what run_one() is given
  // Stop once nothing is runnable, after waiting (at most one lease) for leases held by
  // processes that may be gone: what `spokeflow resume` does.
  bool exit_when_idle = false;
};

// A lease holder's name for this process: host, pid and a random part (a pid may be reused;
// the name is for people, the epoch is what fences).
std::string worker_name();

class Worker {
 public:
  Worker(boost::asio::any_io_executor executor, store::ExecutionStore& store, run::Engine& engine, WorkerOptions options);
  ~Worker();

  // Claims and runs executions until drained (or, with exit_when_idle, until nothing is left).
  boost::asio::awaitable<void> run();
  // Claims `id` (when it is runnable) and runs it to its end, renewing its lease meanwhile. The
  // outcome's status is "not_claimed" when another worker holds it or it is not runnable.
  boost::asio::awaitable<run::ExecutionOutcome> run_one(std::string id,
                                                        std::optional<run::Engine::Fresh> fresh = std::nullopt);
  // Cancels an execution this worker runs (false when it runs no such execution).
  bool cancel(const std::string& id);
  // Stops one execution at once without ending it (it stays runnable once its lease is given back).
  bool stop(const std::string& id);
  std::vector<std::string> running_ids() const;
  // Stops claiming; executions in progress get `grace` for their actions in flight to end,
  // then their leases are given back (they stay runnable, not cancelled). run() returns once
  // all have stopped.
  void drain(Millis grace);
  bool draining() const { return draining_; }
  std::size_t active() const { return active_.size(); }
  // Something was enqueued or made runnable here: look for work now, not at the next poll.
  void notify() { kick(); }

  // Called on the executor after each execution this worker ran stops (ended, parked, ...).
  std::function<void(const run::ExecutionOutcome&)> on_outcome;

 private:
  struct Active {
    store::Fence fence;
    std::shared_ptr<run::RunHandle> handle;
  };
  boost::asio::awaitable<run::ExecutionOutcome> run_claimed(store::Claim claim, std::optional<run::Engine::Fresh> fresh);
  void start(store::Claim claim);
  boost::asio::awaitable<void> renew_loop();
  void ensure_renewing();
  void kick();  // wakes run() to look again (a slot is free, a drain began)

  boost::asio::any_io_executor executor_;
  store::ExecutionStore& store_;
  run::Engine& engine_;
  WorkerOptions options_;
  std::map<std::string, Active> active_;
  bool draining_ = false;
  bool renewing_ = false;
  std::unique_ptr<boost::asio::steady_timer> wake_;
  std::unique_ptr<boost::asio::steady_timer> grace_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace spokeflow::runtime
