#include "serve/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "serve/labels.hpp"
#include "store/async.hpp"

namespace spokeflow::serve {
namespace {

namespace prom = prometheus;

// A family with its members found by their label values joined into one key, so that the hot
// paths (a step, a request) look up a map instead of building prometheus::Labels every time.
template <class T>
class Members {
 public:
  Members(prom::Registry& registry, const std::string& name, const std::string& help)
      : family_(&prom::detail::Builder<T>().Name(name).Help(help).Register(registry)) {}

  // `labels` is called (and the member made) only the first time `key` is seen.
  template <class MakeLabels, class... Args>
  T& get(std::string_view key, MakeLabels&& labels, Args&&... args) {
    if (auto it = by_key_.find(key); it != by_key_.end()) return *it->second;
    T& made = family_->Add(labels(), std::forward<Args>(args)...);
    by_key_.emplace(std::string(key), &made);
    return made;
  }

 private:
  prom::Family<T>* family_;
  std::map<std::string, T*, std::less<>> by_key_;
};

std::string key_of(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (auto p : parts) {
    key.append(p);
    key.push_back('\x1f');
  }
  return key;
}

// Seconds: from a millisecond to five minutes (steps wait on Okta, on retries, on timeouts).
const prom::Histogram::BucketBoundaries kStepBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                        1,     2.5,   5,    10,    30,    60,  300};
// Seconds: the API answers in milliseconds; ?wait= holds a request up to a minute.
const prom::Histogram::BucketBoundaries kHttpBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,    0.25,  0.5,    1,     2.5,  10,    60};

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prom::Registry> registry = std::make_shared<prom::Registry>();
  Members<prom::Counter> started{*registry, "spokeflow_executions_started_total",
                                 "Executions this service queued, by flow and trigger type"};
  Members<prom::Counter> finished{*registry, "spokeflow_executions_finished_total",
                                  "Executions this process ran to their end, by flow and status"};
  Members<prom::Histogram> step_seconds{*registry, "spokeflow_step_duration_seconds",
                                        "Duration of each step run, by action (or flow-logic kind)"};
  Members<prom::Counter> requests{*registry, "spokeflow_connection_requests_total",
                                  "HTTP requests to each connection's API (Okta), every attempt, by answer status "
                                  "('none': no answer came)"};
  Members<prom::Gauge> remaining{*registry, "spokeflow_rate_limit_remaining",
                                 "X-Rate-Limit-Remaining of the last answer, by connection and Okta rate-limit bucket"};
  Members<prom::Counter> throttled{*registry, "spokeflow_rate_limited_total",
                                   "Answers with status 429 (rate limited), by connection"};
  Members<prom::Gauge> queue{*registry, "spokeflow_queue_executions",
                             "Top-level executions in the store's queue, by state (queued, running, waiting)"};
  Members<prom::Counter> deliveries{*registry, "spokeflow_hook_deliveries_total",
                                    "Okta event-hook deliveries, by hook and outcome (accepted, duplicate, rejected)"};
  Members<prom::Counter> hook_events{*registry, "spokeflow_hook_events_total",
                                     "Events in accepted event-hook deliveries, by hook"};
  Members<prom::Counter> hook_started{*registry, "spokeflow_hook_executions_started_total",
                                      "Executions that events of accepted deliveries started, by hook"};
  Members<prom::Counter> fires{*registry, "spokeflow_schedule_fires_total",
                               "Schedule fires that started an execution, by flow"};
  Members<prom::Counter> skipped{*registry, "spokeflow_schedule_skipped_fires_total",
                                 "Schedule fires not made, by flow and reason (overlap: the previous execution "
                                 "was unfinished; missed: due while no service ran, and `catchup` does not make it)"};
  Members<prom::Counter> http{*registry, "spokeflow_http_requests_total",
                              "HTTP requests answered, by route template, method and status"};
  Members<prom::Histogram> http_seconds{*registry, "spokeflow_http_request_duration_seconds",
                                        "Time to answer an HTTP request (to its head for event streams), by route "
                                        "template and method"};
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::execution_started(std::string_view flow, const Json& trigger) {
  const std::string_view type = trigger_label(trigger);
  impl_->started
      .get(key_of({flow, type}), [&] { return prom::Labels{{"flow", std::string(flow)}, {"trigger", std::string(type)}}; })
      .Increment();
}

void Metrics::execution_finished(std::string_view flow, std::string_view status) {
  if (status != "succeeded" && status != "failed" && status != "cancelled") return;
  impl_->finished
      .get(key_of({flow, status}), [&] { return prom::Labels{{"flow", std::string(flow)}, {"status", std::string(status)}}; })
      .Increment();
}

void Metrics::step_finished(const run::StepEvent& ev) {
  if (ev.replayed) return;
  impl_->step_seconds
      .get(ev.kind, [&] { return prom::Labels{{"action", std::string(ev.kind)}}; }, kStepBuckets)
      .Observe(static_cast<double>(ev.duration_ms) / 1000.0);
}

void Metrics::answered(std::string_view connection, std::string_view bucket, int status,
                       std::optional<std::int64_t> rate_remaining) noexcept {
  try {
    const std::string code = status_label(status);
    impl_->requests
        .get(key_of({connection, code}),
             [&] { return prom::Labels{{"connection", std::string(connection)}, {"status", code}}; })
        .Increment();
    if (status == 429)
      impl_->throttled.get(connection, [&] { return prom::Labels{{"connection", std::string(connection)}}; }).Increment();
    if (rate_remaining)
      impl_->remaining
          .get(key_of({connection, bucket}),
               [&] { return prom::Labels{{"connection", std::string(connection)}, {"bucket", std::string(bucket)}}; })
          .Set(static_cast<double>(*rate_remaining));
  } catch (const std::exception&) {
    // Counting never fails a call (only allocation can throw here).
  }
}

void Metrics::hook_delivery(std::string_view hook, std::string_view outcome, std::size_t events, int started) {
  impl_->deliveries
      .get(key_of({hook, outcome}), [&] { return prom::Labels{{"hook", std::string(hook)}, {"outcome", std::string(outcome)}}; })
      .Increment();
  if (outcome != "accepted") return;
  impl_->hook_events.get(hook, [&] { return prom::Labels{{"hook", std::string(hook)}}; }).Increment(static_cast<double>(events));
  impl_->hook_started.get(hook, [&] { return prom::Labels{{"hook", std::string(hook)}}; }).Increment(started);
}

void Metrics::schedule_fire(std::string_view flow, std::string_view outcome, std::int64_t count) {
  if (count <= 0) return;
  if (outcome == "enqueued") {
    impl_->fires.get(flow, [&] { return prom::Labels{{"flow", std::string(flow)}}; }).Increment(static_cast<double>(count));
    return;
  }
  const std::string_view reason = outcome == "skipped_overlap" ? "overlap" : outcome == "missed" ? "missed" : "other";
  impl_->skipped
      .get(key_of({flow, reason}), [&] { return prom::Labels{{"flow", std::string(flow)}, {"reason", std::string(reason)}}; })
      .Increment(static_cast<double>(count));
}

void Metrics::http_request(std::string_view route, std::string_view method, unsigned status, double seconds) {
  const std::string_view m = method_label(method);
  const std::string code = status_label(static_cast<int>(status));
  impl_->http
      .get(key_of({route, m, code}),
           [&] { return prom::Labels{{"route", std::string(route)}, {"method", std::string(m)}, {"status", code}}; })
      .Increment();
  impl_->http_seconds
      .get(key_of({route, m}), [&] { return prom::Labels{{"route", std::string(route)}, {"method", std::string(m)}}; },
           kHttpBuckets)
      .Observe(seconds);
}

void Metrics::set_queue_depth(const std::map<std::string, std::int64_t>& by_state) {
  for (const auto& entry : by_state) {
    const std::string& state = entry.first;  // a lambda may not capture a structured binding (clang 15)
    impl_->queue.get(state, [&] { return prom::Labels{{"state", state}}; }).Set(static_cast<double>(entry.second));
  }
}

boost::asio::awaitable<std::string> Metrics::scrape(store::ExecutionStore& store) {
  auto read = [](store::ExecutionStore& s) { return s.queue_depth(); };
  auto depth = co_await store::on_store(store, std::move(read));
  set_queue_depth(depth);
  co_return render();
}

std::string Metrics::render() const {
  std::ostringstream out;
  prom::TextSerializer().Serialize(out, impl_->registry->Collect());
  return out.str();
}

}  // namespace spokeflow::serve
