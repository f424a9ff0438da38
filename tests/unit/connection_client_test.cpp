// The connection client end to end against okta-sim (pagination, rate limits, retries,
// timeouts, error mapping, the origin check), against a tiny canned server for answers the
// sim does not give (insufficient scope, a foreign body, malformed JSON, odd Link headers),
// and the core.http action on top of it.
#include <doctest/doctest.h>

#include "client_test_util.hpp"

using namespace client_test;

TEST_CASE("escape_path_segment percent-encodes everything but unreserved characters") {
  CHECK(connect::escape_path_segment("00u1abcXYZ") == "00u1abcXYZ");
  CHECK(connect::escape_path_segment("a@b.com") == "a%40b.com");
  CHECK(connect::escape_path_segment("a/b") == "a%2Fb");
  CHECK(connect::escape_path_segment("../x") == "..%2Fx");
  CHECK(connect::escape_path_segment("a b+c?d#e%") == "a%20b%2Bc%3Fd%23e%25");
  CHECK(connect::escape_path_segment("\xc3\xa9") == "%C3%A9");
  CHECK(connect::escape_path_segment("-._~") == "-._~");
}

TEST_CASE("pagination: 13 pages of users through Link rel=next") {
  SimProcess sim(users_seed(2500));
  Env env(sim.base_url());
  auto client = env.client();
  std::set<std::string> ids, logins;
  int pages = 0;
  auto r = call(env.io, *client, get("/api/v1/users", {{"limit", "200"}}));
  for (;;) {
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    ++pages;
    REQUIRE(r->json.is_array());
    CHECK(r->json.size() <= 200);
    for (const auto& u : r->json) {
      ids.insert(u["id"].get<std::string>());
      logins.insert(u["profile"]["login"].get<std::string>());
    }
    CHECK_FALSE(r->request_id.empty());
    if (r->next_url.empty()) break;
    CHECK(r->next_url.rfind(sim.base_url(), 0) == 0);
    const std::string next = r->next_url;
    r = run<Result<connect::ApiResponse>>(env.io, [&client, next]() -> awaitable<Result<connect::ApiResponse>> {
      auto x = co_await client->next_page(next);
      co_return x;
    });
  }
  // The 2,500 seeded users and the org's admin (the token's owner).
  CHECK(pages == 13);
  CHECK(ids.size() == 2501);
  int seeded = 0;
  for (int i = 0; i < 2500; ++i) seeded += logins.count("user" + std::to_string(i) + "@example.com") ? 1 : 0;
  CHECK(seeded == 2500);
  CHECK(client->stats().calls == 13);
  CHECK(client->stats().retries == 0);
}

TEST_CASE("rate limits: 300 calls on a 50-per-2s bucket, 20 at a time, stay under the limit") {
  SimProcess sim({}, "rate_limits:\n  window_seconds: 2\n  buckets:\n    users: 50\n");
  Env env(sim.base_url());
  auto client = env.client();
  constexpr int kCalls = 300, kWorkers = 20;
  Load load;
  load.client = client.get();
  load.request = get("/api/v1/users", {{"limit", "1"}});
  load.calls = kCalls;
  const auto t0 = Clock::now();
  run<bool>(env.io, [&load]() -> awaitable<bool> {
    auto r = co_await run_load(&load, kWorkers);
    co_return r;
  });
  const auto elapsed = ms_since(t0);
  const auto log = sim_requests(env.io, sim, "/api/v1/users");
  int served_429 = 0;
  for (const auto& e : log) served_429 += e["status"].get<int>() == 429 ? 1 : 0;
  const auto& gs = client->governor().stats();
  MESSAGE("rate limits: " << load.ok << "/" << kCalls << " calls succeeded in " << elapsed << " ms; sim served "
                          << log.size() << " requests, " << served_429 << " of them 429; governor: "
                          << gs.throttled_429 << " x 429, " << gs.paced_waits << " paced waits, " << gs.waited.count()
                          << " ms waited; client retries " << client->stats().retries);
  for (const auto& f : load.failures) FAIL_CHECK(f);
  CHECK(load.ok == kCalls);
  CHECK(served_429 <= 3);
  CHECK(static_cast<int>(gs.throttled_429) == served_429);
  CHECK(static_cast<int>(log.size()) == kCalls + served_429);
  // 300 calls at 50 per 2 s window need at least 5 window ends.
  CHECK(elapsed >= 9000);
  CHECK(elapsed < 40000);  // pacing, not waiting whole extra windows
}

TEST_CASE("a learned concurrency limit: too many in flight is backed off, not failed") {
  SimProcess sim({}, "rate_limits:\n  concurrency: 4\nfaults:\n  latency_ms: 30\n");
  Env env(sim.base_url(), quick_retry(4));
  auto client = env.client();
  Load load;
  load.client = client.get();
  load.request = get("/api/v1/groups");
  load.calls = 60;
  run<bool>(env.io, [&load]() -> awaitable<bool> {
    auto r = co_await run_load(&load, 12);
    co_return r;
  });
  MESSAGE("concurrency: " << load.ok << "/60 calls, " << client->governor().stats().throttled_429
                          << " concurrency 429s, retries " << client->stats().retries);
  for (const auto& f : load.failures) FAIL_CHECK(f);
  CHECK(load.ok == 60);
  CHECK(client->governor().stats().throttled_429 < 20);
}

TEST_CASE("5xx answers and connection resets are retried; 400 and 404 never") {
  SimProcess sim({}, "faults:\n  error_500_rate: 0.3\n  reset_rate: 0.2\n");
  connect::AliasRetry retry;
  retry.max_attempts = 16;  // a call fails each attempt with probability 0.5
  retry.initial_interval = milliseconds(5);
  retry.max_interval = milliseconds(40);
  Env env(sim.base_url(), retry);
  auto client = env.client();
  int ok = 0, most_attempts = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = call(env.io, *client, get("/api/v1/users/admin@okta-sim.example"));
    if (r.ok()) {
      ++ok;
      most_attempts = std::max(most_attempts, r->attempts);
      CHECK(r->json["profile"]["login"] == "admin@okta-sim.example");
    } else {
      FAIL_CHECK(r.error().message);
    }
  }
  const auto log = sim_requests(env.io, sim, "/api/v1/users/");
  int fivexx = 0;
  for (const auto& e : log) fivexx += e["status"].get<int>() >= 500 ? 1 : 0;
  MESSAGE("faults: 50 calls took " << client->stats().http_requests << " requests, " << client->stats().retries
                                   << " retries (" << fivexx << " answered 500), at most " << most_attempts
                                   << " attempts for one call");
  CHECK(ok == 50);
  CHECK(client->stats().retries > 0);
  CHECK(fivexx > 0);
  CHECK(client->stats().http_requests == 50 + client->stats().retries);

  // Without faults: a 404 and a 400 are answered once and not asked again.
  sim_admin(env.io, sim, "PUT", "/__sim/config", R"({"faults":{"error_500_rate":0,"reset_rate":0}})");
  sim_admin(env.io, sim, "DELETE", "/__sim/requests");
  auto nf = call(env.io, *client, get("/api/v1/users/nobody@example.com"));
  REQUIRE_FALSE(nf.ok());
  CHECK(nf.error().kind == ErrorKind::okta);
  CHECK(nf.error().details["attempts"] == 1);
  auto bad = call(env.io, *client, get("/api/v1/users", {{"filter", "status eq"}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().http_status == 400);
  CHECK(bad.error().code == "E0000031");
  CHECK(sim_requests(env.io, sim).size() == 2);
}

TEST_CASE("a request timeout cancels the transfer and maps to ErrorKind::timeout") {
  // The answer would take 20 s: the bounds below tell a timeout from an answer on any machine.
  SimProcess sim({}, "faults:\n  latency_ms: 20000\n");
  asio::io_context io;
  auto cfg = sim_config(sim.base_url());
  auto http = std::make_shared<http::HttpClient>(io.get_executor());
  connect::SecretResolver secrets(nullptr, ".");
  auto auth = connect::make_auth_provider(cfg.connections["sim"], cfg.credentials["sim_token"], secrets, http);
  REQUIRE(auth.ok());
  connect::ConnectionClient client(io.get_executor(), "okta", cfg.connections["sim"], quick_retry(2), *auth, http,
                                   std::make_shared<http::RateGovernor>(io.get_executor(), 0));
  auto req = get("/api/v1/users/admin@okta-sim.example");
  req.timeout = milliseconds(200);
  const auto t0 = Clock::now();
  auto r = call(io, client, req);
  const auto elapsed = ms_since(t0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::timeout);
  CHECK(r.error().details["attempts"] == 2);  // timeouts are retried, within the alias's attempts
  CHECK(elapsed < 10000);
  CHECK(http->active_transfers() == 0);
  MESSAGE("timeout: 2 attempts of 200 ms gave up after " << elapsed << " ms");

  // Cancelling the awaiting operation (a step timeout) ends the call at once, also mid-backoff.
  const auto t1 = Clock::now();
  auto cancelled = run<Result<connect::ApiResponse>>(io, [&client]() -> awaitable<Result<connect::ApiResponse>> {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer t(co_await asio::this_coro::executor, milliseconds(100));
    auto which = co_await (client.call(get("/api/v1/users/admin@okta-sim.example")) || t.async_wait(use_awaitable));
    if (which.index() == 0) co_return std::get<0>(std::move(which));
    co_return Error::make(ErrorKind::cancelled, "step timed out");
  });
  CHECK(ms_since(t1) < 10000);
  CHECK_FALSE(cancelled.ok());
  CHECK(http->active_transfers() == 0);
}

TEST_CASE("the credential never reaches another host") {
  SimProcess sim;
  Env env(sim.base_url());
  CannedServer other(env.io);
  other.routes["/api/v1/users"] = {200, {{"Content-Type", "application/json"}}, "[]"};
  auto client = env.client();
  const auto port = std::to_string(sim.port());
  for (const std::string& url : std::vector<std::string>{other.base() + "/api/v1/users", "https://127.0.0.1:" + port + "/api/v1/users",
                                 "http://localhost:" + port + "/api/v1/users", std::string("http://127.0.0.1/api/v1/users")}) {
    CAPTURE(url);
    auto r = call(env.io, *client, get(url));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::validation);
    CHECK(r.error().message.find("refusing to send the credential for alias 'okta' to another host") != std::string::npos);
    CHECK(r.error().message.find("test-token") == std::string::npos);
  }
  auto via_next = run<Result<connect::ApiResponse>>(env.io, [&]() -> awaitable<Result<connect::ApiResponse>> {
    auto x = co_await client->next_page(other.base() + "/api/v1/users?after=00u1");
    co_return x;
  });
  CHECK_FALSE(via_next.ok());
  CHECK(other.connections == 0);
  CHECK(other.requests == 0);
  // The same origin given in full is fine (that is what a `next` link is).
  auto same = call(env.io, *client, get(sim.base_url() + "/api/v1/users?limit=1"));
  REQUIRE_MESSAGE(same.ok(), same.error().message);
  CHECK(same->json.size() == 1);
}

TEST_CASE("error mapping: Okta error bodies, a bad token") {
  SimProcess sim;
  Env env(sim.base_url());
  auto client = env.client();
  auto r = call(env.io, *client, get("/api/v1/users/" + connect::escape_path_segment("no.such@example.com")));
  REQUIRE_FALSE(r.ok());
  const Error& e = r.error();
  CHECK(e.kind == ErrorKind::okta);
  CHECK(e.code == "E0000007");
  CHECK(e.http_status == 404);
  CHECK(e.message.find("Not found: Resource not found: no.such@example.com (User) (E0000007, HTTP 404)") == 0);
  CHECK(e.details["request_id"].get<std::string>().size() > 10);
  CHECK(e.details["errorCode"] == "E0000007");
  CHECK(e.details["errorId"].get<std::string>().rfind("oae", 0) == 0);
  CHECK(e.details["method"] == "GET");
  CHECK(e.details["path"] == "/api/v1/users/no.such%40example.com");
  CHECK(e.details["errorCauses"].is_array());

  // A validation error keeps Okta's causes in the message.
  connect::ApiRequest create;
  create.method = "POST";
  create.path = "/api/v1/users";
  create.json_body = Json{{"profile", {{"login", "admin@okta-sim.example"}, {"email", "admin@okta-sim.example"},
                                       {"firstName", "A"}, {"lastName", "B"}}}};
  auto dup = call(env.io, *client, create);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().kind == ErrorKind::okta);
  CHECK(dup.error().code == "E0000001");
  CHECK(dup.error().message.find("(E0000001, HTTP 400): ") != std::string::npos);
  CHECK(dup.error().details["attempts"] == 1);

  auto bad = env.client("okta_bad");
  auto a = call(env.io, *bad, get("/api/v1/users"));
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().kind == ErrorKind::auth);
  CHECK(a.error().code == "E0000011");
  CHECK(a.error().http_status == 401);
  CHECK(a.error().message.find("credential 'bad_token'") != std::string::npos);
  CHECK(a.error().message.find("not-the-token") == std::string::npos);

  // An unknown alias names the known ones.
  auto unknown = env.connections->client("nope");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::validation);
  CHECK(unknown.error().message.find("known aliases: okta, okta_bad") != std::string::npos);
  // One client per alias, reused.
  CHECK(env.client().get() == client.get());
}

TEST_CASE("answers okta-sim does not give: missing scope, foreign bodies, malformed JSON, odd Link headers") {
  asio::io_context io;
  CannedServer srv(io);
  srv.routes["/scope"] = {403,
                          {{"WWW-Authenticate", "Bearer authorization_uri=\"x\", realm=\"y\", scope=\"okta.users.manage\", "
                                                "error=\"insufficient_scope\", error_description=\"no\""}},
                          ""};
  srv.routes["/html"] = {502, {{"Content-Type", "text/html"}}, "<html><body>Bad gateway\r\nupstream</body></html>"};
  srv.routes["/teapot"] = {418, {{"Content-Type", "text/plain"}}, "short and stout"};
  srv.routes["/cut"] = {200, {{"Content-Type", "application/json"}}, "{\"id\": \"00u1\", \"pro"};
  srv.routes["/links"] = {200,
                          {{"Content-Type", "application/json"},
                           {"Link", "<http://example.test/self>; rel=\"self\""},
                           {"Link", "<http://example.test/prev>; rel=prev, <http://example.test/n?a=1&b=2>; title=\"x,y\"; rel=\"last next\""}},
                          "[1,2]"};
  srv.routes["/plain"] = {200, {{"Content-Type", "text/plain"}}, "hello"};
  srv.routes["/empty"] = {204, {}, ""};
  srv.routes["/busy"] = {429, {{"Content-Type", "application/json"}, {"Retry-After", "0"}},
                         R"({"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."})"};
  srv.routes["/oauth"] = {401, {{"Content-Type", "application/json"}},
                          R"({"error":"invalid_client","error_description":"The client secret is wrong."})"};
  CannedClient c(io, srv.base(), quick_retry(3));

  auto scope = call(io, *c.client, get("/scope"));
  REQUIRE_FALSE(scope.ok());
  CHECK(scope.error().kind == ErrorKind::auth);
  CHECK(scope.error().message.find("lacks the scope 'okta.users.manage'") != std::string::npos);
  CHECK(scope.error().details["scope"] == "okta.users.manage");
  CHECK(srv.hits["/scope"] == 1);

  auto html = call(io, *c.client, get("/html"));
  REQUIRE_FALSE(html.ok());
  CHECK(html.error().kind == ErrorKind::server);
  CHECK(html.error().http_status == 502);
  CHECK(html.error().message.find("HTTP 502 from alias 'canned' (GET /html): <html><body>Bad gateway  upstream") == 0);
  CHECK(srv.hits["/html"] == 3);  // 5xx retried up to the alias's 3 attempts

  auto teapot = call(io, *c.client, get("/teapot"));
  REQUIRE_FALSE(teapot.ok());
  CHECK(teapot.error().kind == ErrorKind::http);
  CHECK(srv.hits["/teapot"] == 1);

  // A body cut short: retried for GET, not for POST (which may have taken effect).
  auto cut = call(io, *c.client, get("/cut"));
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().kind == ErrorKind::http);
  CHECK(cut.error().message.find("malformed JSON from alias 'canned'") == 0);
  CHECK(srv.hits["/cut"] == 3);
  connect::ApiRequest post = get("/cut");
  post.method = "POST";
  post.json_body = Json::object();
  auto cut_post = call(io, *c.client, post);
  CHECK_FALSE(cut_post.ok());
  CHECK(srv.hits["/cut"] == 4);

  auto links = call(io, *c.client, get("/links"));
  REQUIRE(links.ok());
  CHECK(links->next_url == "http://example.test/n?a=1&b=2");
  CHECK(links->json == Json::array({1, 2}));

  auto plain = call(io, *c.client, get("/plain"));
  REQUIRE(plain.ok());
  CHECK(plain->json.is_null());
  CHECK(plain->body == "hello");
  CHECK(plain->next_url.empty());

  auto empty = call(io, *c.client, get("/empty"));
  REQUIRE(empty.ok());
  CHECK(empty->status == 204);

  auto expected = get("/teapot");
  expected.expect = {418};
  auto tea = call(io, *c.client, expected);
  REQUIRE(tea.ok());
  CHECK(tea->status == 418);

  auto oauth = call(io, *c.client, get("/oauth"));
  REQUIRE_FALSE(oauth.ok());
  CHECK(oauth.error().kind == ErrorKind::auth);
  CHECK(oauth.error().code == "invalid_client");
  CHECK(oauth.error().message.find("The client secret is wrong.") != std::string::npos);

  const auto t0 = Clock::now();
  auto busy = call(io, *c.client, get("/busy"));
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().kind == ErrorKind::rate_limited);
  CHECK(busy.error().code == "E0000047");
  CHECK(srv.hits["/busy"] == 3);
  CHECK(ms_since(t0) >= 1900);  // 429s wait at least a second before the next try
}

TEST_CASE("core.http: a REST call on the step's connection") {
  SimProcess sim;
  Env env(sim.base_url());
  ActionRegistry registry;
  actions::register_http_action(registry, env.connections);
  const Action* action = registry.find("core.http");
  REQUIRE(action != nullptr);
  CHECK_FALSE(action->info().local);

  auto invoke = [&](Json inputs, std::string_view connection) {
    auto issues = action->info().inputs_checker->validate(inputs);
    std::string problems;
    for (const auto& i : issues) problems += i.pointer + ": " + i.message + "\n";
    ActionContext ctx{inputs, "01TEST", "http", 1, connection, env.io.get_executor()};
    auto out = run<Result<Json>>(env.io, [action, &ctx]() -> awaitable<Result<Json>> {
      auto r = co_await action->invoke(ctx);
      co_return r;
    });
    if (out.ok()) {
      for (const auto& i : action->info().outputs_checker->validate(*out))
        FAIL_CHECK("outputs " << i.pointer << ": " << i.message);
    }
    return std::make_pair(std::move(out), problems);
  };

  auto [list, p1] = invoke({{"path", "/api/v1/users"}, {"query", {{"limit", 1}, {"filter", "status eq \"ACTIVE\""}}}}, "okta");
  CHECK(p1.empty());
  REQUIRE_MESSAGE(list.ok(), list.error().message);
  CHECK(list->at("status") == 200);
  CHECK(list->at("body").is_array());
  CHECK(list->at("body").size() == 1);
  CHECK(list->at("request_id").is_string());
  CHECK(list->at("headers").contains("x-rate-limit-remaining"));
  CHECK(list->at("headers").contains("content-type"));
  CHECK(list->at("headers").contains("x-okta-request-id"));
  CHECK(list->at("headers")["link"].get<std::string>().find("rel=\"self\"") != std::string::npos);

  auto [created, p2] = invoke({{"method", "POST"},
                               {"path", "/api/v1/users"},
                               {"query", {{"activate", false}}},
                               {"body", {{"profile", {{"login", "new@example.com"}, {"email", "new@example.com"},
                                                      {"firstName", "N"}, {"lastName", "U"}}}}}},
                              "okta");
  CHECK(p2.empty());
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  CHECK(created->at("body")["status"] == "STAGED");

  auto [missing, p3] = invoke({{"path", "/api/v1/users/nobody"}, {"expect", {200, 404}}}, "okta");
  CHECK(p3.empty());
  REQUIRE(missing.ok());
  CHECK(missing->at("status") == 404);
  CHECK(missing->at("body")["errorCode"] == "E0000007");

  auto [failed, p4] = invoke({{"path", "/api/v1/users/nobody"}}, "okta");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::okta);

  auto [no_alias, p5] = invoke({{"path", "/api/v1/users"}}, "");
  REQUIRE_FALSE(no_alias.ok());
  CHECK(no_alias.error().kind == ErrorKind::validation);
  CHECK(no_alias.error().message.find("core.http needs `connection:`") == 0);

  auto [auth_header, p6] = invoke({{"path", "/api/v1/users"}, {"headers", {{"authorization", "SSWS x"}}}}, "okta");
  REQUIRE_FALSE(auth_header.ok());
  CHECK(auth_header.error().kind == ErrorKind::validation);
  CHECK(auth_header.error().message.find("header 'authorization' cannot be set") != std::string::npos);

  auto [slow, p7] = invoke({{"path", "/api/v1/users"}, {"timeout", "2s"}, {"method", "HEAD"}}, "okta");
  CHECK(p7.empty());
  REQUIRE_MESSAGE(slow.ok(), slow.error().message);
  CHECK(slow->at("body").is_null());

  // The input schema refuses what the action cannot send.
  CHECK_FALSE(action->info().inputs_checker->validate({{"path", "api/v1/users"}}).empty());
  CHECK_FALSE(action->info().inputs_checker->validate({{"path", "/x"}, {"method", "TRACE"}}).empty());
  CHECK_FALSE(action->info().inputs_checker->validate({{"path", "/x"}, {"query", {{"a", {{"b", 1}}}}}}).empty());
  CHECK_FALSE(action->info().inputs_checker->validate({{"path", "/x"}, {"extra", 1}}).empty());
  CHECK(action->info().inputs_checker->validate({{"path", "/x"}, {"query", {{"a", {1, "b", true}}}}}).empty());
}
