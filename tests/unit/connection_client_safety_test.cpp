// What the connection client must never do, whatever it is given: send a request that may
// already have taken effect a second time (a POST after a 5xx, a reset or a timeout), or send
// the credential to a path that leaves the connection's base URL (dot segments, raw or
// percent-encoded, or a same-origin URL outside the base path). core.http on top of it too.
#include <doctest/doctest.h>

#include "client_test_util.hpp"

using namespace client_test;

namespace {

connect::ApiRequest post(std::string path, Json body = Json::object()) {
  connect::ApiRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.json_body = std::move(body);
  return r;
}

int count_method(const std::vector<Json>& log, const std::string& method) {
  int n = 0;
  for (const auto& e : log) n += e["method"] == method ? 1 : 0;
  return n;
}

// The sim's log of `method` requests under `prefix`, once it holds at least `want` of them
// (a request delayed by the sim's latency fault is logged when it is answered), or what it
// holds after a generous wait.
int wait_for_logged(asio::io_context& io, const SimProcess& sim, const std::string& prefix, const std::string& method,
                    int want) {
  const auto t0 = Clock::now();
  int n = 0;
  for (;;) {
    n = count_method(sim_requests(io, sim, prefix), method);
    if (n >= want || ms_since(t0) > 20000) return n;
    run<bool>(io, []() -> awaitable<bool> {
      asio::steady_timer t(co_await asio::this_coro::executor, milliseconds(50));
      co_await t.async_wait(use_awaitable);
      co_return true;
    });
  }
}

// core.http's inputs run through its schema and the action, as the engine would.
struct HttpStep {
  ActionRegistry registry;
  const Action* action = nullptr;
  explicit HttpStep(Env& env) {
    actions::register_http_action(registry, env.connections);
    action = registry.find("core.http");
    REQUIRE(action != nullptr);
  }
  Result<Json> operator()(Env& env, Json inputs) {
    for (const auto& i : action->info().inputs_checker->validate(inputs)) FAIL_CHECK("inputs " << i.pointer << ": " << i.message);
    ActionContext ctx{inputs, "01TEST", "http", 1, "okta", env.io.get_executor()};
    const Action* a = action;
    return run<Result<Json>>(env.io, [a, &ctx]() -> awaitable<Result<Json>> {
      auto r = co_await a->invoke(ctx);
      co_return r;
    });
  }
};

const char* kGroupBody = R"({"profile": {"name": "Once"}})";

}  // namespace

TEST_CASE("a POST answered 5xx is sent once; a GET, or a POST marked safe to repeat, is retried") {
  SimProcess sim({}, "faults:\n  error_500_rate: 1.0\n");
  Env env(sim.base_url(), quick_retry(3));
  auto client = env.client();

  auto p = call(env.io, *client, post("/api/v1/groups", Json::parse(kGroupBody)));
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().kind == ErrorKind::server);
  CHECK(p.error().details["attempts"] == 1);
  CHECK_MESSAGE(p.error().message.find("not retried") != std::string::npos, p.error().message);
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "POST") == 1);

  auto g = call(env.io, *client, get("/api/v1/groups"));
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().details["attempts"] == 3);
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "GET") == 3);

  sim_admin(env.io, sim, "DELETE", "/__sim/requests");
  auto safe = post("/api/v1/groups", Json::parse(kGroupBody));
  safe.safe_to_repeat = true;
  auto s = call(env.io, *client, safe);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().details["attempts"] == 3);
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "POST") == 3);

  // PUT and DELETE are idempotent: retried.
  sim_admin(env.io, sim, "DELETE", "/__sim/requests");
  connect::ApiRequest del = get("/api/v1/groups/00gNoSuchGroup000001");
  del.method = "DELETE";
  auto d = call(env.io, *client, del);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().details["attempts"] == 3);

  // The issue's case: a core.http POST.
  sim_admin(env.io, sim, "DELETE", "/__sim/requests");
  HttpStep step(env);
  auto h = step(env, {{"method", "POST"}, {"path", "/api/v1/groups"}, {"body", Json::parse(kGroupBody)}});
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().kind == ErrorKind::server);
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "POST") == 1);
  // ... unless the step says the endpoint is safe to repeat.
  sim_admin(env.io, sim, "DELETE", "/__sim/requests");
  auto h2 = step(env, {{"method", "POST"}, {"path", "/api/v1/groups"}, {"body", Json::parse(kGroupBody)}, {"safe_to_repeat", true}});
  REQUIRE_FALSE(h2.ok());
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "POST") == 3);
}

TEST_CASE("a POST whose connection is reset after sending is sent once; a GET is retried") {
  SimProcess sim({}, "faults:\n  reset_rate: 1.0\n");
  Env env(sim.base_url(), quick_retry(3));
  auto client = env.client();
  const auto before = client->stats().http_requests;
  auto p = call(env.io, *client, post("/api/v1/groups", Json::parse(kGroupBody)));
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().kind == ErrorKind::network);
  CHECK(p.error().details["attempts"] == 1);
  CHECK(p.error().details.value("request_sent", Json()) == true);
  CHECK(client->stats().http_requests - before == 1);
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "POST") == 1);

  auto g = call(env.io, *client, get("/api/v1/groups"));
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().kind == ErrorKind::network);
  CHECK(g.error().details["attempts"] == 3);
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "GET") == 3);
}

TEST_CASE("a POST that timed out waiting for its answer is sent once; a GET is retried") {
  SimProcess sim({}, "faults:\n  latency_ms: 1500\n");
  Env env(sim.base_url(), quick_retry(2));
  auto client = env.client();
  auto p = post("/api/v1/groups", Json::parse(kGroupBody));
  p.timeout = milliseconds(200);
  const auto before = client->stats().http_requests;
  auto r = call(env.io, *client, p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::timeout);
  CHECK(r.error().details["attempts"] == 1);
  CHECK(client->stats().http_requests - before == 1);
  // The sim still carried it out (it answers after its latency): the group exists, once.
  CHECK(wait_for_logged(env.io, sim, "/api/v1/groups", "POST", 1) == 1);

  auto g = get("/api/v1/groups");
  g.timeout = milliseconds(200);
  auto rg = call(env.io, *client, g);
  REQUIRE_FALSE(rg.ok());
  CHECK(rg.error().kind == ErrorKind::timeout);
  CHECK(rg.error().details["attempts"] == 2);
  CHECK(wait_for_logged(env.io, sim, "/api/v1/groups", "GET", 2) == 2);
  // Sent before the GETs, with the same latency: had the POST been repeated, it would be logged by now.
  CHECK(count_method(sim_requests(env.io, sim, "/api/v1/groups"), "POST") == 1);
  // Only one group named Once was made.
  sim_admin(env.io, sim, "PUT", "/__sim/config", R"({"faults":{"latency_ms":0}})");
  int once = 0;
  auto all = call(env.io, *client, get("/api/v1/groups"));
  REQUIRE_MESSAGE(all.ok(), all.error().message);
  for (const auto& grp : all->json) once += grp["profile"]["name"] == "Once" ? 1 : 0;
  CHECK(once == 1);
}

TEST_CASE("a POST that certainly did not reach the server is retried: connection refused, 429") {
  asio::io_context io;
  unsigned short port = 0;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  CannedClient refused(io, "http://127.0.0.1:" + std::to_string(port), quick_retry(3));
  auto r = call(io, *refused.client, post("/api/v1/groups"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::network);
  CHECK(r.error().details.value("request_sent", Json()) == false);
  CHECK(r.error().details["attempts"] == 3);

  CannedServer srv(io);
  srv.routes["/busy"] = {429, {{"Content-Type", "application/json"}, {"Retry-After", "0"}},
                         R"({"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."})"};
  CannedClient c(io, srv.base(), quick_retry(2));
  auto busy = call(io, *c.client, post("/busy"));
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().kind == ErrorKind::rate_limited);
  CHECK(srv.hits["/busy"] == 2);
}

TEST_CASE("dot segments, raw or percent-encoded, and URLs outside the base path never carry the credential") {
  SimProcess sim("users:\n  - {id: 00uTarget00000000001, login: target@example.com}\n");
  Env env(sim.base_url() + "/api/v1");
  auto client = env.client();
  // Inside the base path: fine, relative or absolute.
  auto ok1 = call(env.io, *client, get("/users", {{"limit", "1"}}));
  REQUIRE_MESSAGE(ok1.ok(), ok1.error().message);
  auto ok2 = call(env.io, *client, get(sim.base_url() + "/api/v1/users?limit=1"));
  REQUIRE_MESSAGE(ok2.ok(), ok2.error().message);
  sim_admin(env.io, sim, "DELETE", "/__sim/requests");

  const std::string lock = "/__sim/users/target@example.com/lock";
  for (const std::string& path : std::vector<std::string>{"/../.." + lock, "/users/../../.." + lock, "/%2e%2e/%2E%2E" + lock, "/users/%2e%2e/groups", "/users/.",
        "/users/./00uTarget00000000001", "/a/..%2f..%2f..%2f__sim/users/target@example.com/lock", "/users/..;/groups",
        "/users\\..\\groups", sim.base_url() + "/api/v1/../.." + lock}) {
    CAPTURE(path);
    auto r = call(env.io, *client, post(path));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::validation);
    CHECK_MESSAGE(r.error().message.find("dot segment") != std::string::npos, r.error().message);
  }
  // The same origin, but not under the connection's base path.
  for (const std::string& url : std::vector<std::string>{sim.base_url() + lock, sim.base_url() + "/api/v2/users", sim.base_url() + "/api/v1x/users",
                                 sim.base_url()}) {
    CAPTURE(url);
    auto r = call(env.io, *client, post(url));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::validation);
    CHECK_MESSAGE(r.error().message.find("outside the connection's base path /api/v1") != std::string::npos,
                  r.error().message);
  }
  CHECK(sim_requests(env.io, sim).empty());
  CHECK(sim_admin(env.io, sim, "GET", "/__sim/requests").empty());
  // The admin endpoint was never reached: the user is not locked.
  auto user = call(env.io, *client, get("/users/00uTarget00000000001"));
  REQUIRE_MESSAGE(user.ok(), user.error().message);
  CHECK(user->json["status"] == "ACTIVE");
}

TEST_CASE("core.http: a path with dot segments is refused, naming the input") {
  SimProcess sim("users:\n  - {id: 00uTarget00000000001, login: target@example.com}\n");
  Env env(sim.base_url() + "/api/v1");
  HttpStep step(env);
  for (const std::string path : {"/../../__sim/users/target@example.com/lock", "/users/%2E%2E/%2e%2e/__sim/health", "/."}) {
    CAPTURE(path);
    auto r = step(env, {{"method", "POST"}, {"path", path}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::validation);
    CHECK_MESSAGE(r.error().message.find("core.http: path: ") == 0, r.error().message);
  }
  auto absolute = step(env, {{"path", sim.base_url() + "/__sim/users/target@example.com/lock"}, {"method", "POST"}});
  REQUIRE_FALSE(absolute.ok());
  CHECK(absolute.error().kind == ErrorKind::validation);
  auto user = step(env, {{"path", "/users/00uTarget00000000001"}});
  REQUIRE_MESSAGE(user.ok(), user.error().message);
  CHECK(user->at("body")["status"] == "ACTIVE");
}
