// Values that must never change which resource an okta.* request names: every input that
// names an Okta object (found in the action schemas, so a new action is covered without
// editing this file), given dot segments, slashes and their percent-encoded forms, fails as a
// `validation` error naming the input before any request is sent; list cursors (`after`) that
// point at another path are refused the same way.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "okta/okta_action.hpp"
#include "okta_fixture.hpp"

using spokeflow::Action;
using spokeflow::ActionContext;
using spokeflow::ErrorKind;
using spokeflow::Json;
using spokeflow::Result;
using spokeflow::test::OktaFixture;

namespace {

const char* kSeed = R"(
groups:
  - {id: 00gTarget00000000001, name: Target}
users:
  - {id: 00uTarget00000000001, login: target@example.com, groups: [Target]}
apps:
  - {id: 0oaTarget00000000001, label: Target App, url: https://wiki.example.com, users: [target@example.com], groups: [Target]}
)";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// An input that names an Okta object: by the schema's annotation, or by a name that says so
// (an input called *_id or *_ids without the annotation fails the first test below).
bool is_reference(const std::string& name, const Json& prop) {
  if (prop.contains("x-okta-ref")) return true;
  if (prop.contains("items") && prop["items"].is_object() && prop["items"].contains("x-okta-ref")) return true;
  return ends_with(name, "_id") || ends_with(name, "_ids");
}

// A valid value for a schema: what a required input that is not under test is given.
Json filler(const std::string& name, const Json& schema, const std::string& hook_id) {
  if (ends_with(name, "_id") || schema.contains("x-okta-ref")) {
    if (name.rfind("user", 0) == 0) return "00uTarget00000000001";
    if (name.rfind("group", 0) == 0) return "00gTarget00000000001";
    if (name.rfind("app", 0) == 0) return "0oaTarget00000000001";
    if (name.rfind("event_hook", 0) == 0) return hook_id;
    FAIL("no test value for the reference input " << name);
  }
  if (schema.contains("enum")) return schema["enum"][0];
  const Json type = schema.value("type", Json("string"));
  const std::string t = type.is_array() ? type[0].get<std::string>() : type.get<std::string>();
  if (t == "object") {
    Json out = Json::object();
    for (const auto& r : schema.value("required", Json::array()))
      out[r.get<std::string>()] = r == "email" || r == "login" ? Json("new.user@example.com") : Json("Filler");
    if (out.empty()) out["title"] = "Filler";
    return out;
  }
  if (t == "array") return Json::array({"user.lifecycle.create"});
  if (t == "boolean") return false;
  if (t == "integer" || t == "number") return schema.value("minimum", 1);
  if (schema.value("pattern", std::string()) == "^https?://") return "https://hooks.example.com/okta";
  return "Filler-Password-1";
}

// Runs an action the way the engine would after a schema check, but without one: what the
// action's own code does with a value the schema did not refuse (or a flow that bypassed it).
Result<Json> invoke(OktaFixture& f, const Action& action, const Json& inputs) {
  std::optional<Result<Json>> out;
  ActionContext ctx{inputs, "01TESTEXECUTION", action.info().name, 1, "okta", f.io.get_executor()};
  boost::asio::co_spawn(
      f.io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await action.invoke(ctx)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  f.io.restart();
  f.io.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

std::vector<std::string> logged_targets(OktaFixture& f) {
  std::vector<std::string> out;
  for (const auto& e : f.raw_json("GET", "/__sim/requests")) out.push_back(e["method"].get<std::string>() + " " + e["target"].get<std::string>());
  return out;
}

// Values no id and no login may be: each would name another resource once a server or
// curl resolves dot segments or decodes %2F / %5C.
const std::vector<std::string> kHostile = {"..",       ".",        "a/../b",   "%2e%2e",  "%2E%2E",   "%2e",
                                           ".%2e",     "../00uTarget00000000001",      "00gTarget00000000001/..",
                                           "..%2F",    "a%2F..%2Fb", "a\\..\\b", "..;",     "",         "%252e%252e"};

}  // namespace

TEST_CASE("every okta.* input named *_id or *_ids says what it refers to (x-okta-ref)") {
  OktaFixture f(kSeed);
  int refs = 0;
  for (const Action* a : f.registry.list()) {
    const auto& props = a->info().input_schema["properties"];
    for (const auto& [name, prop] : props.items()) {
      if (!ends_with(name, "_id") && !ends_with(name, "_ids")) continue;
      CAPTURE(a->info().name);
      CAPTURE(name);
      const Json& annotated = ends_with(name, "_ids") ? prop["items"] : prop;
      REQUIRE(annotated.contains("x-okta-ref"));
      const std::string kind = annotated["x-okta-ref"];
      CHECK((kind == "id" || kind == "id_or_login"));
      ++refs;
    }
  }
  MESSAGE(refs, " reference inputs");
  CHECK(refs >= 40);
}

TEST_CASE("okta reference checks: ids are letters and digits; logins are anything but a path trick") {
  using spokeflow::okta::reference_problem;
  for (const char* good : {"00uTarget00000000001", "0oa1serviceapp0000001", "whoABC123", "jsmith"}) {
    CHECK(reference_problem("id", good).empty());
    CHECK(reference_problem("id_or_login", good).empty());
  }
  for (const char* login : {"alice@example.com", "first.last@example.com", "o'brien+tag@example.com",
                            "100%real@example.com", "a..b@example.com", "...x", "DOMAIN\\jsmith"}) {
    CAPTURE(login);
    CHECK(reference_problem("id_or_login", login).empty());
    CHECK_FALSE(reference_problem("id", login).empty());
  }
  for (const auto& bad : kHostile) {
    CAPTURE(bad);
    CHECK_FALSE(reference_problem("id", bad).empty());
    CHECK_FALSE(reference_problem("id_or_login", bad).empty());
  }
  // A control character is not part of any login.
  CHECK_FALSE(reference_problem("id_or_login", std::string("a\nb@example.com")).empty());
}

TEST_CASE("a hostile id, login or cursor in any okta.* action fails as validation and sends nothing") {
  OktaFixture f(kSeed);
  const Json hook = f.raw_json("POST", "/api/v1/eventHooks",
                               {{"name", "h"},
                                {"events", {{"type", "EVENT_TYPE"}, {"items", {"user.lifecycle.create"}}}},
                                {"channel", {{"type", "HTTP"}, {"version", "1.0.0"}, {"config", {{"uri", "https://hooks.example.com/x"}}}}}});
  const std::string hook_id = hook["id"];
  REQUIRE_FALSE(hook_id.empty());
  const std::string other_list = "/api/v1/meta/schemas/user/default";
  const std::vector<std::string> bad_cursors = {f.sim.base_url() + other_list,
                                                f.sim.base_url() + "/api/v1/users/../groups?after=x",
                                                f.sim.base_url() + "/api/v1/%2e%2e/__sim/requests",
                                                "/api/v1/users/00uTarget00000000001/../../groups",
                                                other_list};

  int cases = 0, actions = 0;
  for (const Action* a : f.registry.list()) {
    const auto& info = a->info();
    if (info.name.rfind("okta.", 0) != 0) continue;
    const Json& schema = info.input_schema;
    const Json& props = schema["properties"];
    // Inputs that pass the schema, with every reference naming a real object.
    Json base = Json::object();
    for (const auto& r : schema.value("required", Json::array())) {
      const std::string name = r;
      base[name] = filler(name, props[name], hook_id);
    }
    bool tested = false;
    for (const auto& [name, prop] : props.items()) {
      const bool cursor = name == "after";
      if (!cursor && !is_reference(name, prop)) continue;
      tested = true;
      const bool list_input = prop.value("type", Json()) == "array";
      const auto& values = cursor ? bad_cursors : kHostile;
      for (const auto& bad : values) {
        CAPTURE(info.name);
        CAPTURE(name);
        CAPTURE(bad);
        Json in = base;
        if (cursor) in["stream"] = true;
        in[name] = list_input ? Json::array({"00gTarget00000000001", bad}) : Json(bad);
        // Where the schema already refuses the value (an empty string), the engine never runs
        // the action; the action's own check is exercised all the same.
        f.raw("DELETE", "/__sim/requests");
        auto r = invoke(f, *a, in);
        REQUIRE_MESSAGE(!r.ok(), "succeeded: " << r.value().dump());
        CHECK(r.error().kind == ErrorKind::validation);
        CHECK_MESSAGE(r.error().message.find(name + ": ") != std::string::npos, r.error().message);
        CHECK_MESSAGE(r.error().message.find(info.name) == 0, r.error().message);
        const auto sent = logged_targets(f);
        CHECK_MESSAGE(sent.empty(), "requests sent: " << (sent.empty() ? "" : sent.front()));
        ++cases;
      }
    }
    actions += tested ? 1 : 0;
  }
  MESSAGE(actions, " actions, ", cases, " hostile values");
  CHECK(actions >= 40);

  // Nothing changed in the org: the user, the group, the app and the hook are all still there.
  CHECK(f.raw_json("GET", "/api/v1/users/00uTarget00000000001")["status"] == "ACTIVE");
  CHECK(f.raw("GET", "/api/v1/groups/00gTarget00000000001/users").body.find("00uTarget00000000001") != std::string::npos);
  CHECK(f.raw("GET", "/api/v1/apps/0oaTarget00000000001/users/00uTarget00000000001").status == 200);
  CHECK(f.raw("GET", "/api/v1/apps/0oaTarget00000000001/groups/00gTarget00000000001").status == 200);
  CHECK(f.raw("GET", "/api/v1/eventHooks/" + hook_id).status == 200);
}

TEST_CASE("the issue's case: okta.remove_user_from_group with group_id '..' leaves the user alone") {
  OktaFixture f(kSeed);
  auto r = f.registry.find("okta.remove_user_from_group");
  REQUIRE(r != nullptr);
  auto out = invoke(f, *r, {{"user_id", "00uTarget00000000001"}, {"group_id", ".."}});
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().kind == ErrorKind::validation);
  CHECK(out.error().message.find("group_id: '..' is not an Okta id") != std::string::npos);
  CHECK(f.raw_json("GET", "/api/v1/users/00uTarget00000000001")["status"] == "ACTIVE");
  // A login where a user is expected still works.
  auto by_login = invoke(f, *r, {{"user_id", "target@example.com"}, {"group_id", "00gTarget00000000001"}});
  REQUIRE_MESSAGE(by_login.ok(), by_login.error().message);
  CHECK(f.raw("GET", "/api/v1/groups/00gTarget00000000001/users").body.find("00uTarget00000000001") == std::string::npos);
}

TEST_CASE("path segments built from values never hold a bare dot segment") {
  // Even where no check ran first, '.' and '..' reach the server encoded, as a name, not a step up.
  CHECK(spokeflow::connect::escape_path_segment(".") == "%2E");
  CHECK(spokeflow::connect::escape_path_segment("..") == "%2E%2E");
  CHECK(spokeflow::connect::escape_path_segment("...") == "...");
  CHECK(spokeflow::connect::escape_path_segment("a.b") == "a.b");
  CHECK(spokeflow::okta::seg(Json("..")) == "%2E%2E");
}
