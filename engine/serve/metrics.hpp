#pragma once
// The service's metrics, kept in a prometheus-cpp registry (Debian's prometheus-cpp, core
// only) and served as Prometheus text by our own HTTP server at /metrics. The engine's layers
// know nothing of it: they report through callbacks (Runtime::on_enqueued, Worker::on_outcome,
// EngineOptions::on_step, HookReceiver::on_delivery, Scheduler::on_fire) and the connections'
// http::CallObserver, which `serve` points here. Every label value comes from a fixed set or
// from names the operator configured (flows, actions, connections, hooks): see labels.hpp.
// All calls on the service's event loop.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/json.hpp"
#include "http/call_observer.hpp"
#include "run/engine.hpp"
#include "store/store.hpp"

namespace spokeflow::serve {

class Metrics final : public http::CallObserver {
 public:
  Metrics();
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A new execution was queued by this service (API, rerun, event, schedule).
  void execution_started(std::string_view flow, const Json& trigger);
  // An execution this process ran ended (succeeded, failed, cancelled; other outcomes, such as
  // parked or released, are not ends and are not counted).
  void execution_finished(std::string_view flow, std::string_view status);
  // A step run was journaled (replayed ones, taken from the journal on resume, are not counted).
  void step_finished(const run::StepEvent& event);
  void answered(std::string_view connection, std::string_view bucket, int status,
                std::optional<std::int64_t> rate_remaining) noexcept override;
  void hook_delivery(std::string_view hook, std::string_view outcome, std::size_t events, int started);
  void schedule_fire(std::string_view flow, std::string_view outcome, std::int64_t count);
  // One HTTP request answered: `route` is its template (labels.hpp), `method` as sent.
  void http_request(std::string_view route, std::string_view method, unsigned status, double seconds);
  void set_queue_depth(const std::map<std::string, std::int64_t>& by_state);

  // The exposition text with the queue's depth read first from `store` (on the store's own
  // thread: the event loop does not wait on it).
  boost::asio::awaitable<std::string> scrape(store::ExecutionStore& store);
  // The exposition text as it stands (Prometheus text format 0.0.4).
  std::string render() const;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spokeflow::serve
