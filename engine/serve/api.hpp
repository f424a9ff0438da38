#pragma once
// The service's HTTP API (/api/v1, JSON) and its health routes, over the runtime: flows and
// actions to read, executions to start (durably queued before the answer), list, read, follow
// (server-sent events), cancel, retry and rerun. Every call but the health routes and the
// API's own description names a token whose role allows it.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <string>

#include "run/engine.hpp"
#include "runtime/runtime.hpp"
#include "serve/catalog.hpp"
#include "serve/http_server.hpp"
#include "serve/tokens.hpp"

namespace spokeflow::serve {

class HookReceiver;
class Metrics;
class AdminApi;
class WebUi;

struct ApiOptions {
  Millis max_wait{60'000};          // the longest ?wait= a caller may ask for
  run::UnsealFn unseal;             // opens sealed inputs for a rerun (empty: no master key)
  std::string openapi_document;     // served at /api/v1/openapi.json
};

class Api {
 public:
  Api(runtime::Runtime& runtime, const ActionRegistry& actions, FlowCatalog& catalog, ApiOptions options);
  ~Api();
  void set_hooks(HookReceiver* hooks) { hooks_ = hooks; }
  // Served at /metrics (viewer and up); without them /metrics is 404.
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  // Tokens, reveal, connections, deliveries and schedules (admin_api.hpp).
  void set_admin(AdminApi* admin) { admin_ = admin; }
  // The web view's pages and browser sessions under /ui/ (web_ui.hpp); a session's cookie then
  // stands for its token on every route.
  void set_web_ui(WebUi* ui) { web_ui_ = ui; }
  boost::asio::awaitable<HttpResponse> handle(const HttpRequest& request);
  // Wakes the callers waiting (?wait=) for this execution: the worker calls it as each ends.
  void execution_stopped(const std::string& id);
  bool ready() const;

 private:
  boost::asio::awaitable<HttpResponse> route(const HttpRequest& req, const std::vector<std::string>& seg);
  boost::asio::awaitable<Caller> authenticate(const HttpRequest& req);
  boost::asio::awaitable<HttpResponse> start_execution(const HttpRequest& req, const Caller& caller, const std::string& flow);
  boost::asio::awaitable<HttpResponse> list_executions(const HttpRequest& req);
  boost::asio::awaitable<HttpResponse> show_execution(const HttpRequest& req, const std::string& id);
  boost::asio::awaitable<HttpResponse> execution_events(const HttpRequest& req, const std::string& id);
  boost::asio::awaitable<HttpResponse> cancel_execution(const std::string& id);
  boost::asio::awaitable<HttpResponse> retry_execution(const std::string& id);
  boost::asio::awaitable<HttpResponse> rerun_execution(const HttpRequest& req, const Caller& caller, const std::string& id);
  boost::asio::awaitable<std::optional<store::ExecutionRecord>> read_execution(const std::string& id);
  // Waits until the execution ends or `wait` passes; the record as it is then.
  boost::asio::awaitable<std::optional<store::ExecutionRecord>> wait_for_end(const std::string& id, Millis wait);
  // A waiter that no longer waits (or whose timer is gone) leaves the map.
  void forget_waiter(const std::string& id, const boost::asio::steady_timer* timer);
  HttpResponse flows_list() const;
  HttpResponse flow_detail(const std::string& name) const;
  HttpResponse actions_list() const;
  HttpResponse action_detail(const std::string& name) const;

  runtime::Runtime& runtime_;
  const ActionRegistry& actions_;
  FlowCatalog& catalog_;
  ApiOptions options_;
  HookReceiver* hooks_ = nullptr;
  Metrics* metrics_ = nullptr;
  AdminApi* admin_ = nullptr;
  WebUi* web_ui_ = nullptr;
  std::multimap<std::string, std::weak_ptr<boost::asio::steady_timer>> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The most rows one page of a list answers.
inline constexpr int kMaxPageRows = 200;
// The most step runs one page of an execution answers.
inline constexpr int kMaxStepsPage = 1000;
// 405 naming what the route allows (and the Allow header).
HttpResponse method_not_allowed(const std::string& allow);
// 403 when the caller's role is below `needed`; nullopt when it may go on.
std::optional<HttpResponse> forbidden(const Caller& caller, Role needed);
// A light row of an execution (what lists show; never the flow source).
Json execution_row(const store::ExecutionRecord& rec);
// A whole execution for one reader: no sealed copies, with one page of its step runs (the page
// starts at `offset`).
Json execution_detail(const store::ExecutionRecord& rec, const store::StepRunPage& page, std::size_t offset);
// An integer query parameter within [lo, hi]; nullopt when absent, or when malformed (then
// `problem` says why).
std::optional<std::int64_t> query_int(const std::string& query, const std::string& name, std::int64_t lo,
                                      std::int64_t hi, std::string& problem);
// Splits a request path into its segments, percent-decoded; nullopt for a path that is not
// plain (encoded '/' or NUL, dot segments, an empty segment).
std::optional<std::vector<std::string>> path_segments(const std::string& path);
// One query parameter's value, percent-decoded ("" when absent).
std::optional<std::string> query_param(const std::string& query, const std::string& name);

}  // namespace spokeflow::serve
