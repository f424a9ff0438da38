#pragma once
// Okta event hooks: /hooks/okta/{name}. Okta's one-time verification (GET with
// x-okta-verification-challenge), and deliveries (POST): the caller must present the hook's
// secret in Authorization (compared in constant time); each event whose eventType a flow's
// `okta_event` trigger names (and whose `if:` holds) enqueues that flow once, with the event as
// `event`. A delivery is answered only once all it starts is durably queued. Okta delivers at
// least once: an event starts each flow at most once (keyed by the event's uuid), and a
// delivery's eventId is recorded; a delivery received again is counted on that record.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "runtime/runtime.hpp"
#include "serve/catalog.hpp"
#include "serve/http_server.hpp"

namespace spokeflow::serve {

struct HookConfig {
  std::string name;
  std::string secret;  // the whole Authorization header value Okta is configured to send
};

// The most events one delivery may hold (Okta sends up to 50; more is not Okta).
inline constexpr std::size_t kMaxEventsPerDelivery = 1000;

class HookReceiver {
 public:
  HookReceiver(runtime::Runtime& runtime, FlowCatalog& catalog, std::map<std::string, HookConfig> hooks);
  boost::asio::awaitable<HttpResponse> handle(const HttpRequest& request, const std::string& name);
  // Called after each execution is enqueued (the service wakes its worker).
  std::function<void()> on_enqueued;
  // Called for each delivery (POST) to a configured hook, as it is answered: `outcome` is
  // "accepted" (recorded; `events` held, `started` executions enqueued), "duplicate" (its
  // eventId was received before) or "rejected" (no secret, or not a delivery Okta sends).
  std::function<void(const std::string& hook, std::string_view outcome, std::size_t events, int started)> on_delivery;

 private:
  boost::asio::awaitable<HttpResponse> deliver(const HttpRequest& req, const HookConfig& hook);
  // Enqueues the flows each event triggers, each outcome a row of `record.started`; the number
  // of executions newly created.
  boost::asio::awaitable<int> start_flows(const HookConfig& hook, const Json& events, store::HookDelivery& record);

  runtime::Runtime& runtime_;
  FlowCatalog& catalog_;
  std::map<std::string, HookConfig> hooks_;
};

// Whether an `okta_event` trigger's spec names `event_type` (a string or a list of them).
bool trigger_names_event(const Json& spec, const std::string& event_type);
// Evaluates a trigger's `inputs:` (strings may hold ${{ }} over `event`) for one event.
Result<Json> trigger_inputs(const Json& spec, const Json& event);
// Evaluates a trigger's `if:` for one event (true when there is none).
Result<bool> trigger_condition(const Json& spec, const Json& event);

}  // namespace spokeflow::serve
