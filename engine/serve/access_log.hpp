#pragma once
// Every request the service answers, seen once: counted in the metrics (by route template,
// method and status, with its latency) and written as one access-log line at level info:
// request_id, method, route (the template, never the path as sent: ids and query strings stay
// out), status, duration_ms, bytes, peer and the API token's name (never the token).
#include "serve/http_server.hpp"

namespace spokeflow::serve {

class Metrics;

// `inner` with the above around it; `metrics` may be null (then only the log line).
HttpHandler observed(HttpHandler inner, Metrics* metrics);

}  // namespace spokeflow::serve
