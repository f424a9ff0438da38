// The service's metrics without a server: label values stay within fixed sets (a caller's path,
// method or trigger never becomes one as sent), and each report moves the right sample by the
// right amount in the Prometheus text.
#include <doctest/doctest.h>

#include <sstream>

#include "serve/labels.hpp"
#include "serve/metrics.hpp"

using namespace spokeflow;

namespace {

// The value of the sample line that starts with `series` exactly ("name{labels}"), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

}  // namespace

TEST_CASE("route templates: the documented route, never the path as sent") {
  using serve::route_template;
  CHECK(route_template("/healthz") == "/healthz");
  CHECK(route_template("/metrics") == "/metrics");
  CHECK(route_template("/api/v1/openapi.json") == "/api/v1/openapi.json");
  CHECK(route_template("/api/v1/flows") == "/api/v1/flows");
  CHECK(route_template("/api/v1/flows/") == "/api/v1/flows");
  CHECK(route_template("/api/v1/flows/onboard_user") == "/api/v1/flows/{name}");
  CHECK(route_template("/api/v1/flows/onboard_user/executions") == "/api/v1/flows/{name}/executions");
  CHECK(route_template("/api/v1/executions/01JF00000000000000000000XY") == "/api/v1/executions/{id}");
  CHECK(route_template("/api/v1/executions/01JF0/events") == "/api/v1/executions/{id}/events");
  CHECK(route_template("/api/v1/executions/01JF0/rerun") == "/api/v1/executions/{id}/rerun");
  CHECK(route_template("/hooks/okta/my%2Dhook") == "/hooks/okta/{name}");
  CHECK(route_template("/api/v1/actions/okta.get_user") == "/api/v1/actions/{name}");
  // Whatever else a caller sends is one value.
  CHECK(route_template("/api/v1/executions/01JF0/delete") == "other");
  CHECK(route_template("/api/v1/flows/a/b/c/d") == "other");
  CHECK(route_template("/secret-token-abc123") == "other");
  CHECK(route_template("/") == "other");
  CHECK(route_template("") == "other");
  CHECK(route_template("/api/v1/executions/..%2f..%2fetc") == "other");
  CHECK(route_template("/api//v1") == "other");
}

TEST_CASE("methods, triggers and statuses map onto fixed sets") {
  CHECK(serve::method_label("GET") == "GET");
  CHECK(serve::method_label("DELETE") == "DELETE");
  CHECK(serve::method_label("get") == "other");
  CHECK(serve::method_label("BREW") == "other");
  CHECK(serve::method_label("") == "other");
  CHECK(serve::trigger_label(Json{{"type", "api"}, {"token", "op-1"}}) == "api");
  CHECK(serve::trigger_label(Json{{"type", "okta_event"}}) == "okta_event");
  CHECK(serve::trigger_label(Json{{"type", "schedule"}}) == "schedule");
  CHECK(serve::trigger_label(Json{{"type", "alice@example.com"}}) == "other");
  CHECK(serve::trigger_label(Json{{"type", 3}}) == "other");
  CHECK(serve::trigger_label(Json()) == "other");
  CHECK(serve::status_label(0) == "none");
  CHECK(serve::status_label(200) == "200");
  CHECK(serve::status_label(429) == "429");
  CHECK(serve::status_label(99) == "other");
  CHECK(serve::status_label(1000) == "other");
}

TEST_CASE("each report moves its sample by the right amount") {
  serve::Metrics m;
  m.execution_started("hello", Json{{"type", "api"}});
  m.execution_started("hello", Json{{"type", "api"}});
  m.execution_started("hello", Json{{"type", "weird"}});
  m.execution_finished("hello", "succeeded");
  m.execution_finished("hello", "waiting");  // parked: not an end
  m.execution_finished("hello", "released");

  run::StepEvent ev;
  ev.kind = "core.noop";
  ev.duration_ms = 20;
  m.step_finished(ev);
  ev.duration_ms = 2000;
  m.step_finished(ev);
  ev.replayed = true;  // from the journal: not run again
  m.step_finished(ev);

  m.answered("sim", "users", 200, 599);
  m.answered("sim", "users", 429, 0);
  m.answered("sim", "user_get", 200, std::nullopt);
  m.answered("sim", "users", 0, std::nullopt);

  m.hook_delivery("okta", "accepted", 3, 2);
  m.hook_delivery("okta", "duplicate", 3, 0);
  m.hook_delivery("okta", "rejected", 0, 0);
  m.schedule_fire("nightly", "enqueued", 1);
  m.schedule_fire("nightly", "missed", 4);
  m.schedule_fire("nightly", "skipped_overlap", 1);
  m.http_request("/api/v1/flows", "GET", 200, 0.003);
  m.http_request("/api/v1/flows", "BREW", 405, 0.001);
  m.set_queue_depth({{"queued", 7}, {"running", 2}, {"waiting", 0}});

  const std::string t = m.render();
  CHECK(sample(t, R"(spokeflow_executions_started_total{flow="hello",trigger="api"})") == 2);
  CHECK(sample(t, R"(spokeflow_executions_started_total{flow="hello",trigger="other"})") == 1);
  CHECK(sample(t, R"(spokeflow_executions_finished_total{flow="hello",status="succeeded"})") == 1);
  CHECK(t.find("status=\"waiting\"") == std::string::npos);
  CHECK(t.find("status=\"released\"") == std::string::npos);

  CHECK(sample(t, R"(spokeflow_step_duration_seconds_count{action="core.noop"})") == 2);
  CHECK(sample(t, R"(spokeflow_step_duration_seconds_sum{action="core.noop"})") == doctest::Approx(2.02));
  CHECK(sample(t, R"(spokeflow_step_duration_seconds_bucket{action="core.noop",le="0.025"})") == 1);
  CHECK(sample(t, R"(spokeflow_step_duration_seconds_bucket{action="core.noop",le="2.5"})") == 2);

  CHECK(sample(t, R"(spokeflow_connection_requests_total{connection="sim",status="200"})") == 2);
  CHECK(sample(t, R"(spokeflow_connection_requests_total{connection="sim",status="429"})") == 1);
  CHECK(sample(t, R"(spokeflow_connection_requests_total{connection="sim",status="none"})") == 1);
  CHECK(sample(t, R"(spokeflow_rate_limited_total{connection="sim"})") == 1);
  CHECK(sample(t, R"(spokeflow_rate_limit_remaining{bucket="users",connection="sim"})") == 0);
  CHECK(sample(t, R"(spokeflow_rate_limit_remaining{bucket="user_get",connection="sim"})") == -1);  // no header: no sample

  CHECK(sample(t, R"(spokeflow_hook_deliveries_total{hook="okta",outcome="accepted"})") == 1);
  CHECK(sample(t, R"(spokeflow_hook_deliveries_total{hook="okta",outcome="duplicate"})") == 1);
  CHECK(sample(t, R"(spokeflow_hook_deliveries_total{hook="okta",outcome="rejected"})") == 1);
  CHECK(sample(t, R"(spokeflow_hook_events_total{hook="okta"})") == 3);
  CHECK(sample(t, R"(spokeflow_hook_executions_started_total{hook="okta"})") == 2);
  CHECK(sample(t, R"(spokeflow_schedule_fires_total{flow="nightly"})") == 1);
  CHECK(sample(t, R"(spokeflow_schedule_skipped_fires_total{flow="nightly",reason="missed"})") == 4);
  CHECK(sample(t, R"(spokeflow_schedule_skipped_fires_total{flow="nightly",reason="overlap"})") == 1);

  CHECK(sample(t, R"(spokeflow_http_requests_total{method="GET",route="/api/v1/flows",status="200"})") == 1);
  CHECK(sample(t, R"(spokeflow_http_requests_total{method="other",route="/api/v1/flows",status="405"})") == 1);
  CHECK(sample(t, R"(spokeflow_http_request_duration_seconds_count{method="GET",route="/api/v1/flows"})") == 1);
  CHECK(sample(t, R"(spokeflow_queue_executions{state="queued"})") == 7);
  CHECK(sample(t, R"(spokeflow_queue_executions{state="running"})") == 2);
  CHECK(sample(t, R"(spokeflow_queue_executions{state="waiting"})") == 0);
  CHECK(t.find("# TYPE spokeflow_step_duration_seconds histogram") != std::string::npos);
  CHECK(t.find("# HELP spokeflow_executions_started_total ") != std::string::npos);
}
