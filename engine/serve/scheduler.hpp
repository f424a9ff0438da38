#pragma once
// Fires flows' schedule triggers. Each fire is made once however many services share the
// store: its execution is enqueued under a dedupe key naming (flow, trigger, instant), then the
// fire is recorded; a service that stops between the two finds the fire unrecorded, enqueues it
// again (the key returns the first execution) and records it. Fires due while no service ran
// are made up as the trigger's `catchup` says, and counted when they are not made; `overlap`
// decides what a fire does while the previous one's execution is unfinished.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/runtime.hpp"
#include "serve/catalog.hpp"

namespace spokeflow::serve {

class Scheduler {
 public:
  // `clock`: Unix ms now (tests give their own).
  Scheduler(runtime::Runtime& runtime, FlowCatalog& catalog, std::function<std::int64_t()> clock);
  ~Scheduler();
  // Fires what is due at `now` once; the number of executions enqueued.
  boost::asio::awaitable<int> tick();
  // Ticks at every next fire (at least every 30 s) until stop().
  boost::asio::awaitable<void> run();
  void stop();
  // Called after each execution it enqueues.
  std::function<void()> on_enqueued;
  // Called for each fire as it is decided: `outcome` "enqueued" (an execution was started),
  // "skipped_overlap" (the previous one was unfinished) or "missed" (`count` fires due while no
  // service ran that `catchup` does not make).
  std::function<void(const std::string& flow, std::string_view outcome, std::int64_t count)> on_fire;
  // The key a trigger's fires are recorded under.
  static std::string trigger_key(std::size_t index, const flow::Trigger& trigger);

 private:
  boost::asio::awaitable<int> fire_trigger(const flow::FlowPtr& flow, std::size_t index, std::int64_t now);

  runtime::Runtime& runtime_;
  FlowCatalog& catalog_;
  std::function<std::int64_t()> clock_;
  std::int64_t started_at_;
  bool stopping_ = false;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace spokeflow::serve
