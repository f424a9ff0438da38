// The service's pieces that need no server: request paths and queries, tokens and their
// judgement, serve.yaml, event hook triggers, and the store's tokens, deliveries and filters.
#include <doctest/doctest.h>

#include <fstream>
#include <tuple>

#include "common/ids.hpp"
#include "serve/api.hpp"
#include "serve/config.hpp"
#include "serve/hooks.hpp"
#include "serve/tokens.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"
#include "test_util.hpp"

using namespace spokeflow;

TEST_CASE("request paths: plain segments only; an encoded slash or a dot segment is no route") {
  using serve::path_segments;
  CHECK(*path_segments("/api/v1/flows") == std::vector<std::string>{"api", "v1", "flows"});
  CHECK(*path_segments("/api/v1/flows/") == std::vector<std::string>{"api", "v1", "flows"});
  CHECK(*path_segments("/hooks/okta/my%2Dhook") == std::vector<std::string>{"hooks", "okta", "my-hook"});
  CHECK(path_segments("/")->empty());
  CHECK_FALSE(path_segments("/api/v1/executions/..%2f..%2fx"));
  CHECK_FALSE(path_segments("/api/v1/executions/%2e%2e"));
  CHECK_FALSE(path_segments("/api//v1"));
  CHECK_FALSE(path_segments("/a/%00"));
  CHECK_FALSE(path_segments("relative"));
}

TEST_CASE("query parameters are found by name and percent-decoded") {
  using serve::query_param;
  CHECK(*query_param("flow=a&status=failed", "status") == "failed");
  CHECK(*query_param("since=2026-12-07T10%3A00%3A00Z", "since") == "2026-12-07T10:00:00Z");
  CHECK(*query_param("q=a+b", "q") == "a b");
  CHECK(*query_param("flag", "flag") == "");
  CHECK_FALSE(query_param("flows=x", "flow"));
  CHECK_FALSE(query_param("", "flow"));
}

TEST_CASE("tokens: random, hashed, judged by state and role") {
  const std::string a = serve::new_token(), b = serve::new_token();
  CHECK(a != b);
  CHECK(a.rfind("sft_", 0) == 0);
  CHECK(a.size() == 4 + 43);
  CHECK(serve::token_hash(a).size() == 64);
  CHECK(serve::token_hash(a) != a);
  CHECK(serve::valid_token_name("ci-bot.1"));
  CHECK_FALSE(serve::valid_token_name("with space"));
  CHECK_FALSE(serve::valid_token_name(""));
  store::ApiToken t{"ci", "operator", "h", 1, 0, 0};
  CHECK(serve::judge_token(t, 100).role == serve::Role::operator_);
  CHECK(serve::judge_token(std::nullopt, 100).role == serve::Role::none);
  t.expires_at = 100;
  auto expired = serve::judge_token(t, 100);
  CHECK(expired.role == serve::Role::none);
  CHECK(expired.problem.find("expired") != std::string::npos);
  t.expires_at = 0;
  t.revoked_at = 50;
  CHECK(serve::judge_token(t, 100).problem.find("revoked") != std::string::npos);
  CHECK(serve::Role::viewer < serve::Role::operator_);
  CHECK(serve::Role::operator_ < serve::Role::admin);
}

TEST_CASE("okta_event triggers: names, conditions over the event, inputs from it") {
  const Json spec = Json::parse(R"({"okta_event": ["user.lifecycle.create", "user.lifecycle.activate"],
    "if": "${{ event.target[0].type == 'User' }}", "inputs": {"login": "${{ event.target[0].alternateId }}", "n": 3}})");
  CHECK(serve::trigger_names_event(spec, "user.lifecycle.activate"));
  CHECK_FALSE(serve::trigger_names_event(spec, "user.lifecycle.delete"));
  CHECK(serve::trigger_names_event(Json::parse(R"({"okta_event": "a.b"})"), "a.b"));
  CHECK_FALSE(serve::trigger_names_event(Json::parse(R"({"schedule": "* * * * *"})"), "a.b"));
  const Json user_event = Json::parse(R"({"target": [{"type": "User", "alternateId": "ann@example.com"}]})");
  const Json group_event = Json::parse(R"({"target": [{"type": "UserGroup"}]})");
  CHECK(*serve::trigger_condition(spec, user_event));
  CHECK_FALSE(*serve::trigger_condition(spec, group_event));
  CHECK(*serve::trigger_condition(Json::object(), group_event));
  auto inputs = serve::trigger_inputs(spec, user_event);
  REQUIRE(inputs.ok());
  CHECK(*inputs == Json::parse(R"({"login": "ann@example.com", "n": 3})"));
}

TEST_CASE("serve.yaml: every setting read, unknown keys and bad values refused with their position") {
  spokeflow::test::TempDir dir;
  const std::string good = (dir.path / "serve.yaml").string();
  std::ofstream(good) << "listen: 127.0.0.1:9000\nflows_dir: f\nworker: { concurrency: 4, lease: 10s }\n"
                         "limits: { max_body_bytes: 4096, read_timeout: 2s, max_connections: 10, max_wait: 5s }\n"
                         "hooks:\n  okta: { authorization: { env: HOOK } }\n";
  Diagnostics d;
  auto c = serve::load_serve_config(good, d);
  REQUIRE_MESSAGE(c, d.format());
  CHECK(c->listen == "127.0.0.1:9000");
  CHECK(c->concurrency == 4);
  CHECK(c->lease == "10s");
  CHECK(c->limits.max_body == 4096);
  CHECK(c->limits.read_timeout == Millis(2000));
  CHECK(c->max_wait == Millis(5000));
  REQUIRE(c->hooks.count("okta"));
  CHECK(c->hooks["okta"].authorization.source == connect::SecretRef::Source::env);

  const std::string bad = (dir.path / "bad.yaml").string();
  std::ofstream(bad) << "listen: nowhere\nworkers: 2\nworker: { concurrency: 0 }\nhooks:\n  Bad Name: {}\n  ok: { authorization: { vault: x } }\n";
  Diagnostics d2;
  CHECK_FALSE(serve::load_serve_config(bad, d2));
  const std::string text = d2.format();
  CHECK(text.find("bad.yaml:1:9") != std::string::npos);   // listen
  CHECK(text.find("bad.yaml:2:1: error: unknown key 'workers'") != std::string::npos);
  CHECK(text.find("worker.concurrency") != std::string::npos);
  CHECK(text.find("hook name 'Bad Name'") != std::string::npos);
  CHECK(text.find("unknown source 'vault'") != std::string::npos);
  CHECK(serve::split_listen("[::1]:80")->first == "::1");
  CHECK_FALSE(serve::split_listen("127.0.0.1:99999"));
  CHECK_FALSE(serve::split_listen("127.0.0.1"));
}

TEST_CASE("serve.yaml: tls and retention, checked with file:line:col") {
  spokeflow::test::TempDir dir;
  std::ofstream(dir.file("server.pem")) << "x";
  std::ofstream(dir.file("server.key")) << "x";
  const std::string good = dir.file("serve.yaml");
  std::ofstream(good) << "tls: { cert: server.pem, key: server.key }\n"
                         "limits: { handshake_timeout: 3s }\n"
                         "retention:\n  interval: 10m\n  max_age: 30d\n  keep_last: 500\n  batch: 20\n"
                         "  flows:\n    audit: { max_age: 400d }\n    hold: {}\n    nightly: { keep_last: 5 }\n";
  Diagnostics d;
  auto c = serve::load_serve_config(good, d);
  REQUIRE_MESSAGE(c, d.format());
  CHECK(c->tls_cert == dir.file("server.pem"));  // relative to the file's folder
  CHECK(c->tls_key == dir.file("server.key"));
  CHECK(c->limits.handshake_timeout == Millis(3000));
  CHECK(c->retention.enabled);
  CHECK(c->retention.interval == Millis(600'000));
  CHECK(c->retention.batch == 20);
  CHECK(c->retention.all.max_age == Millis(30ll * 86'400'000));
  CHECK(c->retention.all.keep_last == 500);
  REQUIRE(c->retention.flows.size() == 3);
  CHECK(c->retention.flows["hold"].empty());

  // Each bound its own purge; a flow's rule replaces the general one for it.
  const std::int64_t now = 1'000'000'000'000;
  auto filters = serve::retention_filters(c->retention, now);
  REQUIRE(filters.size() == 4);
  CHECK(filters[0].flow == "audit");
  CHECK(filters[0].finished_before == now - 400ll * 86'400'000);
  CHECK(filters[0].keep_last == 0);
  CHECK(filters[1].flow == "nightly");
  CHECK(filters[1].keep_last == 5);
  CHECK(filters[1].finished_before == 0);
  CHECK(filters[2].flow.empty());
  CHECK(filters[2].finished_before == now - 30ll * 86'400'000);
  CHECK(filters[2].except_flows == std::vector<std::string>{"audit", "hold", "nightly"});
  CHECK(filters[3].keep_last == 500);
  CHECK(filters[3].except_flows.size() == 3);

  const std::string bad = dir.file("bad.yaml");
  std::ofstream(bad) << "tls: { cert: server.pem }\n"
                        "retention:\n  max_age: soon\n  keep_last: 0\n  interval: 10ms\n  colour: red\n"
                        "  flows:\n    x: { keep: 1 }\n";
  Diagnostics d2;
  CHECK_FALSE(serve::load_serve_config(bad, d2));
  const std::string text = d2.format();
  INFO(text);
  CHECK(text.find("bad.yaml:1:6: error: tls needs 'key'") != std::string::npos);
  CHECK(text.find("bad.yaml:3:12: error: retention.max_age must be a duration") != std::string::npos);
  CHECK(text.find("bad.yaml:4:14: error: retention.keep_last must be an integer from 1") != std::string::npos);
  CHECK(text.find("bad.yaml:5:13: error: retention.interval must be at least 1s") != std::string::npos);
  CHECK(text.find("bad.yaml:6:3: error: unknown key 'colour' in retention") != std::string::npos);
  CHECK(text.find("bad.yaml:8:10: error: unknown key 'keep' in retention.flows.x") != std::string::npos);

  const std::string missing = dir.file("missing.yaml");
  std::ofstream(missing) << "tls:\n  cert: nope.pem\n  key: server.key\nretention: {}\n";
  Diagnostics d3;
  CHECK_FALSE(serve::load_serve_config(missing, d3));
  const std::string text3 = d3.format();
  INFO(text3);
  CHECK(text3.find("missing.yaml:2:9: error: tls.cert: no such file") != std::string::npos);
  CHECK(text3.find("missing.yaml:4:12: error: retention needs max_age or keep_last") != std::string::npos);
}

TEST_CASE("the store keeps tokens as hashes, deliveries once, and lists executions by trigger, time and cursor") {
  spokeflow::test::TempDir dir;
  auto st = store::open_sqlite_store((dir.path / "s.db").string());
  CHECK(st->add_token({"a", "viewer", "h1", 1, 0, 0}));
  CHECK_FALSE(st->add_token({"a", "admin", "h2", 2, 0, 0}));
  CHECK(st->token_by_hash("h1")->name == "a");
  CHECK_FALSE(st->token_by_hash("h2"));
  CHECK(st->revoke_token("a", 5));
  CHECK_FALSE(st->revoke_token("a", 6));
  CHECK(st->token_by_hash("h1")->revoked_at == 5);
  CHECK(st->list_tokens().size() == 1);

  store::HookDelivery d{"evt-1", "okta", 10, 2, Json::array({{{"event", "u1"}}})};
  CHECK(st->record_delivery(d));
  CHECK_FALSE(st->record_delivery(d));
  CHECK(st->delivery("evt-1")->started[0]["event"] == "u1");
  CHECK(st->recent_deliveries(5, {}).size() == 1);

  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    store::ExecutionRecord r;
    r.id = new_sortable_id();
    r.flow_name = "f";
    r.flow_file = "f.yaml";
    r.flow_source = "name: f\n";
    r.flow_hash = "hf";
    r.trigger = {{"type", i % 2 ? "api" : "okta_event"}};
    r.created_at = 1000 + i;
    st->enqueue(r);
    ids.push_back(r.id);
  }
  store::ExecutionFilter f;
  f.trigger_type = "api";
  CHECK(st->list_executions(f).size() == 2);
  f = {};
  f.created_since = 1001;
  f.created_until = 1003;
  CHECK(st->list_executions(f).size() == 2);
  f = {};
  f.limit = 2;
  f.light = true;
  auto page1 = st->list_executions(f);
  REQUIRE(page1.size() == 2);
  CHECK(page1[0].id == ids[4]);
  CHECK(page1[0].flow_source.empty());
  f.before_id = page1.back().id;
  auto page2 = st->list_executions(f);
  REQUIRE(page2.size() == 2);
  CHECK(page2[0].id == ids[2]);
}

TEST_CASE("a token is made by the rules `tokens create` and the API share") {
  auto made = serve::make_token("ci-bot", "operator", "90d", 1'000);
  REQUIRE(made.ok());
  CHECK(made->record.name == "ci-bot");
  CHECK(made->record.role == "operator");
  CHECK(made->record.created_at == 1'000);
  CHECK(made->record.expires_at == 1'000 + 90LL * 24 * 3600 * 1000);
  CHECK(made->record.hash == serve::token_hash(made->token));
  CHECK(made->record.hash.find(made->token) == std::string::npos);
  CHECK(serve::make_token("ci-bot", "viewer", "", 1)->record.expires_at == 0);
  for (auto [name, role, expires, says] : std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"with space", "viewer", "", "token name 'with space'"},
           {"ok", "root", "", "viewer, operator or admin"},
           {"ok", "viewer", "soon", "expires 'soon'"},
           {"ok", "viewer", "0s", "expires '0s'"}}) {
    auto bad = serve::make_token(name, role, expires, 1);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == ErrorKind::validation);
    CHECK(bad.error().message.find(says) != std::string::npos);
  }
  store::ApiToken t = made->record;
  CHECK(serve::token_state(t, 2'000) == "active");
  CHECK(serve::token_state(t, t.expires_at) == "expired");
  t.revoked_at = 1'500;
  const Json row = serve::token_row(t, 2'000);
  CHECK(row["state"] == "revoked");
  CHECK_FALSE(row.contains("hash"));
  CHECK(row.dump().find(t.hash) == std::string::npos);
}

TEST_CASE_TEMPLATE("hook deliveries come newest first in pages that a cursor continues, each once", B,
                   test::SqliteBackend, test::PgBackend) {
  B backend;
  auto st = backend.open();
  // Two pairs share a received_at: the cursor must still neither repeat nor skip one.
  const std::vector<std::pair<std::string, std::int64_t>> sent = {{"a", 10}, {"b", 20}, {"c", 20}, {"d", 30}, {"e", 30}};
  for (const auto& [id, at] : sent) REQUIRE(st->record_delivery({id, "okta", at, 1, Json::array()}));
  std::vector<std::string> seen;
  store::DeliveryCursor after;
  for (int page = 0; page < 10; ++page) {
    auto rows = st->recent_deliveries(2, after);
    for (const auto& d : rows) seen.push_back(d.event_id);
    if (rows.size() < 2) break;
    after = {rows.back().received_at, rows.back().event_id};
  }
  CHECK(seen == std::vector<std::string>{"d", "e", "b", "c", "a"});
}
