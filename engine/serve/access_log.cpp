#include "serve/access_log.hpp"

#include <chrono>
#include <cmath>

#include "common/log_fields.hpp"
#include "serve/labels.hpp"
#include "serve/metrics.hpp"

namespace spokeflow::serve {

HttpHandler observed(HttpHandler inner, Metrics* metrics) {
  return [inner = std::move(inner), metrics](const HttpRequest& req) -> boost::asio::awaitable<HttpResponse> {
    const auto started = std::chrono::steady_clock::now();
    HttpResponse r = co_await inner(req);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
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
      log_with(spdlog::level::info, fields, "http request");
    }
    co_return r;
  };
}

}  // namespace spokeflow::serve
