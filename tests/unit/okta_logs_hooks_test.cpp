// okta.* System Log, user schema and event hook actions against okta-sim. Event hook
// verification is answered by a small Beast receiver on the fixture's own io_context: the
// simulator calls it (loopback only) while the action waits for Okta's answer.
#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <vector>

#include "okta_fixture.hpp"

using spokeflow::ErrorKind;
using spokeflow::Json;
using spokeflow::Result;
using spokeflow::test::OktaFixture;
using spokeflow::test::failed;
using spokeflow::test::ids_of;
using spokeflow::test::ok;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string iso_from_now(int seconds) {
  const std::time_t t = std::time(nullptr) + seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

int requests_to(OktaFixture& f, const std::string& prefix) {
  int n = 0;
  for (const auto& e : f.raw_json("GET", "/__sim/requests"))
    if (e["target"].get<std::string>().rfind(prefix, 0) == 0) ++n;
  return n;
}

// An event hook endpoint that answers one request: Okta's verification GET.
struct Receiver {
  explicit Receiver(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/okta/events";
  }
  tcp::acceptor acceptor;
  bool echo = true;  // false: answer with the wrong challenge
  std::vector<http::request<http::string_body>> seen;
};

asio::awaitable<void> answer_one(Receiver& r) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  auto ex = co_await asio::this_coro::executor;
  // Bounded: a test that never gets called must not hang the fixture's io.run().
  asio::steady_timer deadline(ex, std::chrono::seconds(5));
  deadline.async_wait([&r](boost::system::error_code ec) {
    boost::system::error_code ignored;
    if (!ec) r.acceptor.cancel(ignored);
  });
  auto [aec, sock] = co_await r.acceptor.async_accept(tuple);
  deadline.cancel();
  if (aec) co_return;
  beast::tcp_stream stream(std::move(sock));
  stream.expires_after(std::chrono::seconds(5));
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  auto [rec, rn] = co_await http::async_read(stream, buf, req, tuple);
  (void)rn;
  if (rec) co_return;
  const std::string challenge(req["X-Okta-Verification-Challenge"]);
  r.seen.push_back(req);
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = Json{{"verification", r.echo ? challenge : std::string("not-the-challenge")}}.dump();
  res.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, res, tuple);
  (void)wec;
  (void)wn;
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

void serve_once(OktaFixture& f, Receiver& r) {
  asio::co_spawn(f.io, answer_one(r), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

const std::string kSecret = "hook-secret-0b5e2a91c7";

Json hook_inputs(const std::string& url) {
  return {{"name", "Provisioning events"},
          {"url", url},
          {"events", {"user.lifecycle.create", "user.lifecycle.deactivate"}},
          {"auth_header", {{"key", "Authorization"}, {"value", kSecret}}},
          {"headers", {{"X-Source", "okta"}}}};
}

}  // namespace

TEST_CASE("okta.list_logs: filter, polling until an empty page, resuming, descending, until") {
  OktaFixture f;
  for (const char* name : {"Alpha", "Beta", "Gamma"}) ok(f.run("okta.create_group", {{"name", name}}));
  f.raw("DELETE", "/__sim/requests");

  const std::string filter = "eventType eq \"group.lifecycle.create\"";
  Json out = ok(f.run("okta.list_logs", {{"filter", filter}, {"page_size", 2}}));
  REQUIRE(out["count"] == 3);
  CHECK(out["items"][0]["target"][0]["alternateId"] == "Alpha");
  CHECK(out["items"][2]["target"][0]["alternateId"] == "Gamma");
  CHECK(out["truncated"] == false);
  CHECK(out["next"].is_null());
  REQUIRE(out["poll_next"].is_string());
  // Polling: pages of 2, 1, then an empty one ends it.
  CHECK(requests_to(f, "/api/v1/logs") == 3);

  // A later run carries on from poll_next and sees only what happened since.
  ok(f.run("okta.create_group", {{"name", "Delta"}}));
  Json more = ok(f.run("okta.list_logs", {{"after", out["poll_next"]}}));
  REQUIRE(more["count"] == 1);
  CHECK(more["items"][0]["eventType"] == "group.lifecycle.create");
  CHECK(more["items"][0]["target"][0]["alternateId"] == "Delta");
  Json none = ok(f.run("okta.list_logs", {{"after", more["poll_next"]}}));
  CHECK(none["count"] == 0);

  // Full at a page's end: `next` continues right after the last event.
  Json two = ok(f.run("okta.list_logs", {{"filter", filter}, {"page_size", 2}, {"max_items", 2}}));
  CHECK(two["count"] == 2);
  CHECK(two["truncated"] == true);
  REQUIRE(two["next"].is_string());
  CHECK(two["poll_next"] == two["next"]);
  Json rest = ok(f.run("okta.list_logs", {{"after", two["next"]}}));
  REQUIRE(rest["count"] == 2);
  CHECK(rest["items"][0]["target"][0]["alternateId"] == "Gamma");
  // Cut inside a page: no `next` that would skip events; poll_next reads that page again.
  Json three = ok(f.run("okta.list_logs", {{"filter", filter}, {"page_size", 2}, {"max_items", 3}}));
  CHECK(three["count"] == 3);
  CHECK(three["truncated"] == true);
  CHECK(three["next"].is_null());
  REQUIRE(three["poll_next"].is_string());
  Json again = ok(f.run("okta.list_logs", {{"after", three["poll_next"]}}));
  REQUIRE(again["count"] == 2);
  CHECK(again["items"][0]["target"][0]["alternateId"] == "Gamma");
  CHECK(again["items"][1]["target"][0]["alternateId"] == "Delta");

  // Newest first, capped.
  Json desc = ok(f.run("okta.list_logs", {{"filter", filter}, {"sort_order", "DESCENDING"}, {"max_items", 2}}));
  CHECK(desc["count"] == 2);
  CHECK(desc["truncated"] == true);
  CHECK(desc["items"][0]["target"][0]["alternateId"] == "Delta");
  CHECK(desc["poll_next"].is_null());
  // Without a page_size, a small max_items asks Okta for no more than that.
  CHECK(f.raw_json("GET", "/__sim/requests").back()["target"].get<std::string>().find("limit=2") != std::string::npos);

  // A bounded window (until) ends without a next link.
  Json window =
      ok(f.run("okta.list_logs",
               {{"filter", filter}, {"since", iso_from_now(-600)}, {"until", iso_from_now(600)}, {"page_size", 3}}));
  CHECK(window["count"] == 4);
  CHECK(window["next"].is_null());
  Json later = ok(f.run("okta.list_logs", {{"since", iso_from_now(600)}}));
  CHECK(later["count"] == 0);
  Json q = ok(f.run("okta.list_logs", {{"q", "Gamma"}}));
  CHECK(q["count"] == 1);

  // Streaming, as a for_each source: one page per call until an empty page.
  std::vector<int> sizes;
  Json cursor = nullptr;
  for (int i = 0; i < 10; ++i) {
    Json in = {{"filter", filter}, {"page_size", 3}, {"stream", true}};
    if (!cursor.is_null()) in["after"] = cursor;
    Json page = ok(f.run("okta.list_logs", in));
    sizes.push_back(page["count"]);
    cursor = page["next"];
    if (cursor.is_null()) break;
  }
  CHECK(sizes == std::vector<int>{3, 1, 0});

  auto bad = f.run("okta.list_logs", {{"since", "last tuesday"}});
  CHECK(failed(bad).kind == ErrorKind::okta);
  CHECK(failed(bad).code == "E0000001");
  auto bad_filter = f.run("okta.list_logs", {{"filter", "eventType eq"}});
  CHECK(failed(bad_filter).code == "E0000031");
}

TEST_CASE("okta.get_user_schema lists the custom properties") {
  OktaFixture f(R"(
schema:
  custom:
    employeeCode: {type: string, title: Employee code}
    costCenterId: {type: integer}
)");
  Json out = ok(f.run("okta.get_user_schema", Json::object()));
  CHECK(out["schema"]["definitions"]["base"]["properties"].contains("login"));
  std::map<std::string, Json> props;
  for (const auto& p : out["custom_properties"]) props[p["name"]] = p;
  REQUIRE(props.size() == 2);
  CHECK(props["employeeCode"]["type"] == "string");
  CHECK(props["employeeCode"]["title"] == "Employee code");
  CHECK(props["costCenterId"]["type"] == "integer");

  // A property added since is seen.
  f.raw_json("POST", "/api/v1/meta/schemas/user/default",
             {{"definitions", {{"custom", {{"properties", {{"isContractor", {{"type", "boolean"}}}}}}}}}});
  Json again = ok(f.run("okta.get_user_schema", Json::object()));
  CHECK(again["custom_properties"].size() == 3);

  OktaFixture bare;
  CHECK(ok(bare.run("okta.get_user_schema", Json::object()))["custom_properties"].empty());
}

TEST_CASE("event hooks: create, get, list, update, activate, deactivate") {
  OktaFixture f;
  Json out = ok(f.run("okta.create_event_hook", hook_inputs("https://hooks.example.com/okta")));
  const std::string id = out["event_hook_id"];
  CHECK(id.rfind("who", 0) == 0);
  CHECK(out["status"] == "ACTIVE");
  CHECK(out["verification_status"] == "UNVERIFIED");
  CHECK(out.dump().find(kSecret) == std::string::npos);

  Json h = f.raw_json("GET", "/api/v1/eventHooks/" + id);
  CHECK(h["name"] == "Provisioning events");
  CHECK(h["events"]["type"] == "EVENT_TYPE");
  CHECK(h["events"]["items"] == Json{"user.lifecycle.create", "user.lifecycle.deactivate"});
  CHECK(h["channel"]["type"] == "HTTP");
  CHECK(h["channel"]["config"]["uri"] == "https://hooks.example.com/okta");
  CHECK(h["channel"]["config"]["headers"] == Json::array({Json{{"key", "X-Source"}, {"value", "okta"}}}));
  CHECK(h["channel"]["config"]["authScheme"]["type"] == "HEADER");
  CHECK(h["channel"]["config"]["authScheme"]["key"] == "Authorization");

  Json got = ok(f.run("okta.get_event_hook", {{"event_hook_id", id}}));
  CHECK(got["event_hook"]["id"] == id);
  auto missing = f.run("okta.get_event_hook", {{"event_hook_id", "whoNoSuchHook0000001"}});
  CHECK(failed(missing).code == "E0000007");

  // Okta's list form of headers works too.
  Json in2 = hook_inputs("https://hooks.example.com/other");
  in2["headers"] = Json::array({Json{{"key", "X-A"}, {"value", "1"}}});
  in2.erase("auth_header");
  ok(f.run("okta.create_event_hook", in2));
  Json list = ok(f.run("okta.list_event_hooks", Json::object()));
  CHECK(list["count"] == 2);
  CHECK(list["next"].is_null());

  // Update: only what is given changes.
  Json up =
      ok(f.run("okta.update_event_hook",
               {{"event_hook_id", id}, {"name", "Renamed"}, {"events", Json::array({"group.user_membership.add"})}}));
  CHECK(up["event_hook"]["name"] == "Renamed");
  h = f.raw_json("GET", "/api/v1/eventHooks/" + id);
  CHECK(h["name"] == "Renamed");
  CHECK(h["events"]["items"] == Json::array({"group.user_membership.add"}));
  CHECK(h["channel"]["config"]["uri"] == "https://hooks.example.com/okta");
  CHECK(h["channel"]["config"]["headers"] == Json::array({Json{{"key", "X-Source"}, {"value", "okta"}}}));
  CHECK(h["channel"]["config"]["authScheme"]["key"] == "Authorization");
  auto nothing = f.run("okta.update_event_hook", {{"event_hook_id", id}});
  CHECK(failed(nothing).kind == ErrorKind::validation);

  Json off = ok(f.run("okta.deactivate_event_hook", {{"event_hook_id", id}}));
  CHECK(off["status"] == "INACTIVE");
  CHECK(f.raw_json("GET", "/api/v1/eventHooks/" + id)["status"] == "INACTIVE");
  // Already inactive: Okta answers 200, so does the step.
  CHECK(ok(f.run("okta.deactivate_event_hook", {{"event_hook_id", id}}))["status"] == "INACTIVE");
  Json on = ok(f.run("okta.activate_event_hook", {{"event_hook_id", id}}));
  CHECK(on["status"] == "ACTIVE");
  CHECK(f.raw_json("GET", "/api/v1/eventHooks/" + id)["status"] == "ACTIVE");
  auto gone = f.run("okta.activate_event_hook", {{"event_hook_id", "whoNoSuchHook0000001"}});
  CHECK(failed(gone).code == "E0000007");
}

TEST_CASE("okta.verify_event_hook against a loopback receiver") {
  OktaFixture f;
  Receiver rcv(f.io);
  Json created = ok(f.run("okta.create_event_hook", hook_inputs(rcv.url())));
  const std::string id = created["event_hook_id"];

  SUBCASE("the receiver echoes the challenge: VERIFIED, with the configured headers") {
    // An update that does not mention auth_header keeps its value.
    ok(f.run("okta.update_event_hook", {{"event_hook_id", id}, {"name", "Renamed"}}));
    serve_once(f, rcv);
    Json out = ok(f.run("okta.verify_event_hook", {{"event_hook_id", id}}));
    CHECK(out["verification_status"] == "VERIFIED");
    CHECK(f.raw_json("GET", "/api/v1/eventHooks/" + id)["verificationStatus"] == "VERIFIED");
    REQUIRE(rcv.seen.size() == 1);
    const auto& req = rcv.seen[0];
    CHECK(req.method() == http::verb::get);
    CHECK(req.target() == "/okta/events");
    CHECK(!req["X-Okta-Verification-Challenge"].empty());
    CHECK(req["Authorization"] == kSecret);
    CHECK(req["X-Source"] == "okta");
  }
  SUBCASE("the receiver answers something else: Okta's error, UNVERIFIED") {
    rcv.echo = false;
    serve_once(f, rcv);
    auto r = f.run("okta.verify_event_hook", {{"event_hook_id", id}});
    CHECK(failed(r).kind == ErrorKind::okta);
    CHECK(failed(r).code == "E0000001");
    CHECK(failed(r).http_status == 400);
    CHECK(rcv.seen.size() == 1);
    CHECK(f.raw_json("GET", "/api/v1/eventHooks/" + id)["verificationStatus"] == "UNVERIFIED");
  }
  SUBCASE("an endpoint the simulator may not call fails verification") {
    Json other = ok(f.run("okta.create_event_hook", hook_inputs("https://hooks.example.com/okta")));
    auto r = f.run("okta.verify_event_hook", {{"event_hook_id", other["event_hook_id"]}});
    CHECK(failed(r).code == "E0000001");
    CHECK(failed(r).message.find(kSecret) == std::string::npos);
  }
}

TEST_CASE("okta.delete_event_hook deletes an ACTIVE hook and converges on a missing one") {
  OktaFixture f;
  Json created = ok(f.run("okta.create_event_hook", hook_inputs("https://hooks.example.com/okta")));
  const std::string id = created["event_hook_id"];
  REQUIRE(created["status"] == "ACTIVE");

  SUBCASE("deactivate_first: false leaves Okta's refusal") {
    auto r = f.run("okta.delete_event_hook", {{"event_hook_id", id}, {"deactivate_first", false}});
    CHECK(failed(r).kind == ErrorKind::okta);
    CHECK(failed(r).code == "E0000001");
    CHECK(f.raw("GET", "/api/v1/eventHooks/" + id).status == 200);
  }
  SUBCASE("default: deactivated, then deleted; twice converges") {
    Json out = ok(f.run("okta.delete_event_hook", {{"event_hook_id", id}}));
    CHECK(out["deleted"] == true);
    CHECK(out["already"] == false);
    CHECK(f.raw("GET", "/api/v1/eventHooks/" + id).status == 404);

    Json again = ok(f.run("okta.delete_event_hook", {{"event_hook_id", id}}));
    CHECK(again["deleted"] == false);
    CHECK(again["already"] == true);
    auto strict = f.run("okta.delete_event_hook", {{"event_hook_id", id}, {"if_already", "fail"}});
    CHECK(failed(strict).code == "E0000007");
    auto strict2 =
        f.run("okta.delete_event_hook", {{"event_hook_id", id}, {"if_already", "fail"}, {"deactivate_first", false}});
    CHECK(failed(strict2).code == "E0000007");
  }
}
