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
// The same for the requests the server refuses before any handler sees them (malformed: 400,
// body over the cap: 413, headers over it: 431), logged as "http request refused before its
// handler"; their route is "other" when not even the request line could be read.
RefusalObserver refusals_observed(Metrics* metrics);

}  // namespace spokeflow::serve
