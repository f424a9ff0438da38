#include "serve/access_log.hpp"

#include <chrono>
#include <cmath>

#include "common/log_fields.hpp"
#include "serve/labels.hpp"
#include "serve/metrics.hpp"

namespace spokeflow::serve {

namespace {

void record(const HttpRequest& req, const HttpResponse& r, double seconds, Metrics* metrics, const char* what) {
  const std::string route = route_template(req.path);
  if (metrics) metrics->http_request(route, req.method, r.status, seconds);
  if (spdlog::should_log(spdlog::level::info)) {
    Json fields = {{"request_id", req.request_id},
                   {"method", std::string(method_label(req.method))},
                   {"route", route},
                   {"status", r.status},
                   {"duration_ms", std::round(seconds * 1e6) / 1e3},
                   {"bytes", r.body.size()},
                   {"peer", req.peer}};
    if (!req.token_name.empty()) fields["token"] = req.token_name;
    log_with(spdlog::level::info, fields, "{}", what);
  }
}

}  // namespace

HttpHandler observed(HttpHandler inner, Metrics* metrics) {
  return [inner = std::move(inner), metrics](const HttpRequest& req) -> boost::asio::awaitable<HttpResponse> {
    const auto started = std::chrono::steady_clock::now();
    HttpResponse r = co_await inner(req);
    record(req, r, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), metrics,
           "http request");
    co_return r;
  };
}

RefusalObserver refusals_observed(Metrics* metrics) {
  return [metrics](const HttpRequest& req, const HttpResponse& r, double seconds) {
    record(req, r, seconds, metrics, "http request refused before its handler");
  };
}

}  // namespace spokeflow::serve
