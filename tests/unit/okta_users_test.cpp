// okta.* user and lifecycle actions against okta-sim: each action's effect on the simulated
// org, its convergence (`if_already`) and how Okta's refusals come back as errors.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "okta/okta.hpp"
#include "okta_fixture.hpp"

using spokeflow::ActionRegistry;
using spokeflow::ErrorKind;
using spokeflow::Json;
using spokeflow::test::OktaFixture;

namespace {

// Ids are fixed in the seed so that tests can name users directly.
const char* kSeed = R"(
groups:
  - name: Engineering
  - name: Sales
users:
  - id: 00uactive00000000001
    login: alice@example.com
    firstName: Alice
    lastName: Smith
    password: Alice-Passw0rd
    profile: {department: R&D, title: Engineer}
  - id: 00ustaged00000000001
    login: bob@example.com
    firstName: Bob
    lastName: Jones
    status: STAGED
  - id: 00ustaged00000000002
    login: stan@example.com
    firstName: Stan
    lastName: Staged
    status: STAGED
    password: Stan-Passw0rd
  - id: 00uprovis00000000001
    login: paul@example.com
    firstName: Paul
    lastName: Prov
    status: PROVISIONED
  - id: 00ususpnd00000000001
    login: carol@example.com
    firstName: Carol
    lastName: Lee
    status: SUSPENDED
    password: Carol-Passw0rd
  - id: 00udeprov00000000001
    login: dora@example.com
    firstName: Dora
    lastName: Gone
    status: DEPROVISIONED
  - id: 00ujdoea000000000001
    login: jdoe@a.example.com
    firstName: John
    lastName: DoeA
  - id: 00ujdoeb000000000001
    login: jdoe@b.example.com
    firstName: John
    lastName: DoeB
  - id: 00ujdoes000000000001
    login: jdoes@example.com
    firstName: Jane
    lastName: Does
)";

const char* kMissing = "00u0000000000missing";

std::string sim_status(OktaFixture& f, const std::string& id) {
  return f.raw_json("GET", "/api/v1/users/" + id).value("status", "");
}

void check_okta_error(const spokeflow::Result<Json>& r, const char* code, int http_status) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::okta);
  CHECK(r.error().code == code);
  CHECK(r.error().http_status == http_status);
}

// How many requests the simulator saw with this method whose target starts with `prefix`.
int sim_requests(OktaFixture& f, const std::string& method, const std::string& prefix) {
  int n = 0;
  for (const auto& e : f.raw_json("GET", "/__sim/requests"))
    if (e.value("method", "") == method && e.value("target", "").rfind(prefix, 0) == 0) ++n;
  return n;
}

const std::set<std::string> kUserActions = {
    "okta.create_user",       "okta.get_user",        "okta.lookup_user_id",   "okta.update_user_profile",
    "okta.list_users",        "okta.activate_user",   "okta.reactivate_user",  "okta.deactivate_user",
    "okta.suspend_user",      "okta.unsuspend_user",  "okta.is_user_locked",   "okta.unlock_user",
    "okta.delete_user",       "okta.clear_user_sessions"};

}  // namespace

TEST_CASE("okta user actions are registered with descriptions and compiled schemas") {
  ActionRegistry registry;
  spokeflow::okta::register_actions(registry, nullptr);
  for (const auto& name : kUserActions) {
    CAPTURE(name);
    const auto* a = registry.find(name);
    REQUIRE(a != nullptr);
    const auto& info = a->info();
    CHECK(info.name == name);
    CHECK_FALSE(info.description.empty());
    CHECK(info.inputs_checker != nullptr);
    CHECK(info.outputs_checker != nullptr);
    CHECK(info.input_schema.value("additionalProperties", true) == false);
    CHECK(info.output_schema["properties"].contains("okta_request_id"));
    for (const auto& [key, prop] : info.input_schema["properties"].items()) {
      CAPTURE(key);
      CHECK(prop.contains("description"));
    }
  }
  CHECK(registry.find("okta.create_user")->info().inputs_sensitive);
  CHECK(registry.find("okta.activate_user")->info().outputs_sensitive);
  CHECK(registry.find("okta.reactivate_user")->info().outputs_sensitive);
  CHECK_FALSE(registry.find("okta.get_user")->info().outputs_sensitive);
  const Json& create_in = registry.find("okta.create_user")->info().input_schema["properties"];
  CHECK(create_in["password"].value("x-sensitive", false));
  CHECK(create_in["recovery_answer"].value("x-sensitive", false));
  const Json& act_out = registry.find("okta.activate_user")->info().output_schema["properties"];
  CHECK(act_out["activation_url"].value("x-sensitive", false));
  CHECK(act_out["activation_token"].value("x-sensitive", false));
}

TEST_CASE("okta.create_user validates its inputs by schema") {
  ActionRegistry registry;
  spokeflow::okta::register_actions(registry, nullptr);
  const auto& checker = *registry.find("okta.create_user")->info().inputs_checker;
  CHECK(checker.validate({{"profile", {{"login", "a@b.c"}, {"email", "a@b.c"}, {"firstName", "A"}, {"lastName", "B"}}}})
            .empty());
  CHECK_FALSE(checker.validate({{"profile", {{"login", "a@b.c"}, {"email", "a@b.c"}, {"firstName", "A"}}}}).empty());
  CHECK_FALSE(checker.validate(Json::object()).empty());
  CHECK_FALSE(checker
                  .validate({{"profile", {{"login", "a@b.c"}, {"email", "a@b.c"}, {"firstName", "A"}, {"lastName", "B"}}},
                             {"recovery_answer", "blue"}})
                  .empty());
  CHECK_FALSE(checker
                  .validate({{"profile", {{"login", "a@b.c"}, {"email", "a@b.c"}, {"firstName", "A"}, {"lastName", "B"}}},
                             {"unknown", 1}})
                  .empty());
  const auto& lookup = *registry.find("okta.lookup_user_id")->info().inputs_checker;
  CHECK(lookup.validate({{"login", "x@y.z"}}).empty());
  CHECK(lookup.validate({{"short_name", "x"}}).empty());
  CHECK_FALSE(lookup.validate({{"login", "x@y.z"}, {"short_name", "x"}}).empty());
  CHECK_FALSE(lookup.validate(Json::object()).empty());
  CHECK_FALSE(lookup.validate({{"short_name", "x@y"}}).empty());
  const auto& list = *registry.find("okta.list_users")->info().inputs_checker;
  CHECK_FALSE(list.validate({{"sort_by", "profile.lastName"}}).empty());  // sorting needs `search`
  CHECK_FALSE(list.validate({{"page_size", 201}}).empty());
}

TEST_CASE("okta.create_user creates staged, active and expired users, with groups and recovery question") {
  OktaFixture f(kSeed);
  const Json groups = f.raw_json("GET", "/api/v1/groups?q=Engineering");
  REQUIRE(groups.size() == 1);
  const std::string gid = groups[0]["id"];

  Json profile = {{"login", "new.one@example.com"}, {"email", "new.one@example.com"}, {"firstName", "New"},
                  {"lastName", "One"}, {"department", "Ops"}};
  auto r = f.run("okta.create_user", {{"profile", profile}, {"group_ids", {gid}}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  const std::string id = (*r)["user_id"];
  CHECK(id.rfind("00u", 0) == 0);
  CHECK((*r)["status"] == "STAGED");
  CHECK((*r)["login"] == "new.one@example.com");
  CHECK((*r)["already"] == false);
  CHECK((*r)["okta_request_id"].is_string());
  const Json stored = f.raw_json("GET", "/api/v1/users/" + id);
  CHECK(stored["status"] == "STAGED");
  CHECK(stored["profile"]["department"] == "Ops");
  bool member = false;
  for (const auto& u : f.raw_json("GET", "/api/v1/groups/" + gid + "/users")) member = member || u["id"] == id;
  CHECK(member);

  Json p2 = {{"login", "act.two@example.com"}, {"email", "act.two@example.com"}, {"firstName", "Act"}, {"lastName", "Two"}};
  r = f.run("okta.create_user", {{"profile", p2},
                                 {"password", "Str0ng-Secret-9"},
                                 {"recovery_question", "Favourite colour?"},
                                 {"recovery_answer", "Ultramarine"},
                                 {"activate", true}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "ACTIVE");
  CHECK(sim_status(f, (*r)["user_id"]) == "ACTIVE");
  CHECK(f.raw_json("GET", "/api/v1/users/" + (*r)["user_id"].get<std::string>())["credentials"]["recovery_question"]["question"] ==
        "Favourite colour?");
  CHECK(r->dump().find("Str0ng-Secret-9") == std::string::npos);
  CHECK(r->dump().find("Ultramarine") == std::string::npos);

  Json p3 = {{"login", "exp.three@example.com"}, {"email", "exp.three@example.com"}, {"firstName", "Exp"}, {"lastName", "Three"}};
  r = f.run("okta.create_user",
            {{"profile", p3}, {"password", "Str0ng-Secret-9"}, {"activate", true}, {"next_login_change_password", true}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(sim_status(f, (*r)["user_id"]) == "PASSWORD_EXPIRED");

  Json p4 = {{"login", "prov.four@example.com"}, {"email", "prov.four@example.com"}, {"firstName", "Prov"}, {"lastName", "Four"}};
  r = f.run("okta.create_user", {{"profile", p4}, {"activate", true}});
  REQUIRE(r.ok());
  CHECK(sim_status(f, (*r)["user_id"]) == "PROVISIONED");

  // nextLogin only means something for a user activated with a password.
  Json p5 = {{"login", "bad.five@example.com"}, {"email", "bad.five@example.com"}, {"firstName", "Bad"}, {"lastName", "Five"}};
  r = f.run("okta.create_user", {{"profile", p5}, {"next_login_change_password", true}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::validation);
  CHECK(f.raw("GET", "/api/v1/users/bad.five@example.com").status == 404);
}

TEST_CASE("okta.create_user converges on an existing login and reports Okta's refusals") {
  OktaFixture f(kSeed);
  Json profile = {{"login", "retry@example.com"}, {"email", "retry@example.com"}, {"firstName", "Re"}, {"lastName", "Try"}};
  auto first = f.run("okta.create_user", {{"profile", profile}, {"activate", true}, {"password", "Str0ng-Secret-9"}});
  REQUIRE_MESSAGE(first.ok(), first.error().message);
  CHECK((*first)["already"] == false);

  auto second = f.run("okta.create_user", {{"profile", profile}, {"activate", true}, {"password", "Str0ng-Secret-9"}});
  REQUIRE_MESSAGE(second.ok(), second.error().message);
  CHECK((*second)["already"] == true);
  CHECK((*second)["user_id"] == (*first)["user_id"]);
  CHECK((*second)["status"] == "ACTIVE");
  CHECK((*second)["user"]["profile"]["login"] == "retry@example.com");
  // Still one user with that login.
  CHECK(f.raw_json("GET", "/api/v1/users?filter=profile.login%20eq%20%22retry%40example.com%22").size() == 1);

  auto strict = f.run("okta.create_user", {{"profile", profile}, {"if_already", "fail"}});
  check_okta_error(strict, "E0000001", 400);
  CHECK(strict.error().message.find("already exists") != std::string::npos);

  // Another E0000001 (a password the policy refuses) is not taken for convergence, and the
  // password is not in the error.
  Json other = {{"login", "weak@example.com"}, {"email", "weak@example.com"}, {"firstName", "We"}, {"lastName", "Ak"}};
  auto weak = f.run("okta.create_user", {{"profile", other}, {"password", "weakpass"}, {"activate", true}});
  check_okta_error(weak, "E0000001", 400);
  CHECK(weak.error().message.find("weakpass") == std::string::npos);
  CHECK(weak.error().to_json().dump().find("weakpass") == std::string::npos);

  // An unknown profile property is Okta's E0000001 too.
  Json unknown = profile;
  unknown["login"] = "typo@example.com";
  unknown["favouriteColour"] = "blue";
  auto typo = f.run("okta.create_user", {{"profile", unknown}});
  check_okta_error(typo, "E0000001", 400);
}

TEST_CASE("okta.get_user reads by id or login; if_missing decides about 404") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.get_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["found"] == true);
  CHECK((*r)["user_id"] == "00uactive00000000001");
  CHECK((*r)["status"] == "ACTIVE");
  CHECK((*r)["login"] == "alice@example.com");
  CHECK((*r)["profile"]["department"] == "R&D");
  CHECK((*r)["user"]["id"] == "00uactive00000000001");

  r = f.run("okta.get_user", {{"user_id", "bob@example.com"}});
  REQUIRE(r.ok());
  CHECK((*r)["user_id"] == "00ustaged00000000001");
  CHECK((*r)["status"] == "STAGED");

  r = f.run("okta.get_user", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);

  r = f.run("okta.get_user", {{"user_id", kMissing}, {"if_missing", "succeed"}});
  REQUIRE(r.ok());
  CHECK((*r)["found"] == false);
  CHECK((*r)["user"].is_null());
  CHECK((*r)["user_id"].is_null());
}

TEST_CASE("okta.lookup_user_id matches logins and short names exactly") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.lookup_user_id", {{"login", "alice@example.com"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["found"] == true);
  CHECK((*r)["user_id"] == "00uactive00000000001");

  r = f.run("okta.lookup_user_id", {{"login", "ALICE@example.com"}});  // logins are case-insensitive
  REQUIRE(r.ok());
  CHECK((*r)["user_id"] == "00uactive00000000001");

  r = f.run("okta.lookup_user_id", {{"login", "dora@example.com"}});  // deactivated users are found too
  REQUIRE(r.ok());
  CHECK((*r)["found"] == true);
  CHECK((*r)["status"] == "DEPROVISIONED");

  r = f.run("okta.lookup_user_id", {{"login", "nobody@example.com"}});
  REQUIRE(r.ok());
  CHECK((*r)["found"] == false);
  CHECK((*r)["user_id"].is_null());

  r = f.run("okta.lookup_user_id", {{"short_name", "jdoes"}});
  REQUIRE(r.ok());
  CHECK((*r)["found"] == true);
  CHECK((*r)["user_id"] == "00ujdoes000000000001");

  r = f.run("okta.lookup_user_id", {{"short_name", "alic"}});  // a prefix of a short name is no match
  REQUIRE(r.ok());
  CHECK((*r)["found"] == false);

  r = f.run("okta.lookup_user_id", {{"short_name", "jdoe"}});  // jdoe@a..., jdoe@b...; not jdoes@
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::validation);
  CHECK(r.error().message.find("matches 2 users") != std::string::npos);
  CHECK(r.error().details["count"] == 2);
}

TEST_CASE("okta.update_user_profile changes some properties and clears empty ones") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.update_user_profile",
                 {{"user_id", "00uactive00000000001"}, {"profile", {{"title", "Staff Engineer"}, {"department", ""}}}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["user_id"] == "00uactive00000000001");
  CHECK((*r)["cleared"] == Json::array({"department"}));
  const Json p = f.raw_json("GET", "/api/v1/users/00uactive00000000001")["profile"];
  CHECK(p["title"] == "Staff Engineer");
  CHECK((!p.contains("department") || p["department"].is_null()));
  CHECK(p["firstName"] == "Alice");  // untouched
  CHECK(p["lastName"] == "Smith");

  // null clears as well; by login.
  r = f.run("okta.update_user_profile", {{"user_id", "alice@example.com"}, {"profile", {{"title", nullptr}}}});
  REQUIRE(r.ok());
  const Json p2 = f.raw_json("GET", "/api/v1/users/00uactive00000000001")["profile"];
  CHECK((!p2.contains("title") || p2["title"].is_null()));

  // Okta refuses to clear a required property.
  r = f.run("okta.update_user_profile", {{"user_id", "00uactive00000000001"}, {"profile", {{"lastName", ""}}}});
  check_okta_error(r, "E0000001", 400);
  CHECK(f.raw_json("GET", "/api/v1/users/00uactive00000000001")["profile"]["lastName"] == "Smith");

  r = f.run("okta.update_user_profile", {{"user_id", kMissing}, {"profile", {{"title", "x"}}}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.list_users pages, caps at max_items and streams with a cursor") {
  std::string seed = "users:\n";
  for (int i = 0; i < 450; ++i)
    seed += "  - {login: user" + std::to_string(i) + "@bulk.example.com, firstName: U" + std::to_string(i) +
            ", lastName: Bulk" + (i % 3 == 0 ? std::string(", status: STAGED") : std::string()) + "}\n";
  OktaFixture f(seed);
  const int total = 451;  // with the admin

  f.raw("DELETE", "/__sim/requests");
  auto r = f.run("okta.list_users", {{"page_size", 200}, {"max_items", 300}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["count"] == 300);
  CHECK((*r)["items"].size() == 300);
  CHECK((*r)["truncated"] == true);
  CHECK(sim_requests(f, "GET", "/api/v1/users") == 2);  // two pages, not three

  r = f.run("okta.list_users", Json::object());
  REQUIRE(r.ok());
  CHECK((*r)["count"] == total);
  CHECK((*r)["truncated"] == false);
  CHECK((*r)["next"].is_null());

  // Streaming: one page per call, the cursor continues.
  std::set<std::string> seen;
  Json in = {{"stream", true}, {"page_size", 200}};
  int pages = 0;
  for (;;) {
    auto page = f.run("okta.list_users", in);
    REQUIRE_MESSAGE(page.ok(), page.error().message);
    ++pages;
    for (const auto& u : (*page)["items"]) seen.insert(u["id"].get<std::string>());
    if ((*page)["next"].is_null()) {
      CHECK((*page)["count"] == total - 400);
      break;
    }
    CHECK((*page)["count"] == 200);
    CHECK((*page)["truncated"] == false);
    REQUIRE((*page)["next"].is_string());
    in["after"] = (*page)["next"];
    REQUIRE(pages < 5);
  }
  CHECK(pages == 3);
  CHECK(seen.size() == static_cast<std::size_t>(total));

  r = f.run("okta.list_users", {{"filter", "status eq \"STAGED\""}});
  REQUIRE(r.ok());
  CHECK((*r)["count"] == 150);

  r = f.run("okta.list_users", {{"q", "user44"}});
  REQUIRE(r.ok());
  CHECK((*r)["count"] == 11);  // user44 and user440..449

  r = f.run("okta.list_users",
            {{"search", "profile.lastName eq \"Bulk\""}, {"sort_by", "profile.firstName"}, {"sort_order", "desc"},
             {"max_items", 5}});
  REQUIRE(r.ok());
  CHECK((*r)["count"] == 5);
  CHECK((*r)["items"][0]["profile"]["firstName"] == "U99");

  r = f.run("okta.list_users", {{"search", "profile.lastName eq"}});
  check_okta_error(r, "E0000031", 400);
}

TEST_CASE("okta.activate_user returns the activation link and converges on an active user") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.activate_user", {{"user_id", "00ustaged00000000001"}, {"send_email", false}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "PROVISIONED");  // no password yet
  CHECK((*r)["already"] == false);
  CHECK((*r)["user_id"] == "00ustaged00000000001");
  REQUIRE((*r).contains("activation_url"));
  REQUIRE((*r).contains("activation_token"));
  CHECK((*r)["activation_url"].get<std::string>().find((*r)["activation_token"].get<std::string>()) != std::string::npos);
  CHECK(sim_status(f, "00ustaged00000000001") == "PROVISIONED");

  r = f.run("okta.activate_user", {{"user_id", "stan@example.com"}});  // has a password; emailed
  REQUIRE(r.ok());
  CHECK((*r)["status"] == "ACTIVE");
  CHECK((*r)["user_id"] == "00ustaged00000000002");
  CHECK_FALSE((*r).contains("activation_url"));
  CHECK(sim_status(f, "00ustaged00000000002") == "ACTIVE");

  // Run again: Okta answers 403 E0000016, the step converges (the link was emailed).
  r = f.run("okta.activate_user", {{"user_id", "00ustaged00000000002"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["already"] == true);
  CHECK((*r)["status"] == "ACTIVE");
  CHECK_FALSE((*r).contains("activation_url"));

  r = f.run("okta.activate_user", {{"user_id", "00ustaged00000000002"}, {"if_already", "fail"}});
  check_okta_error(r, "E0000016", 403);

  r = f.run("okta.activate_user", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.activate_user again after its first call landed: a fresh link or a clear error, never no link") {
  OktaFixture f(kSeed);
  // The first attempt lands: bob (no password) becomes PROVISIONED; its answer, with the link,
  // is what a crash or a lost connection takes away.
  auto first = f.run("okta.activate_user", {{"user_id", "00ustaged00000000001"}, {"send_email", false}});
  REQUIRE_MESSAGE(first.ok(), first.error().message);
  const std::string first_url = (*first)["activation_url"];
  CHECK(sim_status(f, "00ustaged00000000001") == "PROVISIONED");

  // The retried or resumed attempt: Okta refuses a second activate; the action asks Okta's
  // reactivate for a fresh link.
  auto again = f.run("okta.activate_user", {{"user_id", "00ustaged00000000001"}, {"send_email", false}});
  REQUIRE_MESSAGE(again.ok(), again.error().message);
  CHECK((*again)["already"] == true);
  CHECK((*again)["reissued"] == true);
  CHECK((*again)["status"] == "PROVISIONED");
  CHECK((*again)["user_id"] == "00ustaged00000000001");
  REQUIRE((*again)["activation_url"].is_string());
  REQUIRE((*again)["activation_token"].is_string());
  const std::string url = (*again)["activation_url"];
  CHECK(url != first_url);
  CHECK(url.find((*again)["activation_token"].get<std::string>()) != std::string::npos);
  CHECK(url.rfind(f.sim.base_url(), 0) == 0);
  CHECK(sim_requests(f, "POST", "/api/v1/users/00ustaged00000000001/lifecycle/reactivate?sendEmail=false") == 1);
  CHECK(sim_status(f, "00ustaged00000000001") == "PROVISIONED");

  // By login and without the status read, the same.
  auto by_login = f.run("okta.activate_user",
                        {{"user_id", "bob@example.com"}, {"send_email", false}, {"read_status", false}});
  REQUIRE_MESSAGE(by_login.ok(), by_login.error().message);
  CHECK((*by_login)["activation_url"].is_string());
  CHECK((*by_login)["user_id"] == "bob@example.com");
  CHECK_FALSE((*by_login).contains("status"));

  // The link is a sensitive output.
  const Json& props = f.registry.find("okta.activate_user")->info().output_schema["properties"];
  CHECK(props["activation_url"].value("x-sensitive", false));
  CHECK(props["activation_token"].value("x-sensitive", false));

  // Asked to email it, a second run converges as before and sends no reactivate.
  auto emailed = f.run("okta.activate_user", {{"user_id", "00ustaged00000000001"}});
  REQUIRE_MESSAGE(emailed.ok(), emailed.error().message);
  CHECK((*emailed)["already"] == true);
  CHECK_FALSE((*emailed).contains("activation_url"));
  CHECK_FALSE((*emailed).contains("reissued"));
  CHECK(sim_requests(f, "POST", "/api/v1/users/00ustaged00000000001/lifecycle/reactivate") == 2);

  // An ACTIVE user (stan has a password) can have no link: a clear failure, not a success
  // without one.
  REQUIRE(f.run("okta.activate_user", {{"user_id", "00ustaged00000000002"}}).ok());
  auto active = f.run("okta.activate_user", {{"user_id", "00ustaged00000000002"}, {"send_email", false}});
  REQUIRE_FALSE(active.ok());
  CHECK(active.error().kind == ErrorKind::action);
  CHECK(active.error().code == "no_activation_link");
  CHECK(active.error().message.find("00ustaged00000000002") != std::string::npos);
  CHECK(active.error().message.find("ACTIVE") != std::string::npos);
  CHECK(active.error().message.find("send_email: true") != std::string::npos);
  CHECK(sim_requests(f, "POST", "/api/v1/users/00ustaged00000000002/lifecycle/reactivate") == 0);

  // if_already: fail still fails on Okta's refusal, before any reactivate.
  auto strict = f.run("okta.activate_user",
                      {{"user_id", "00ustaged00000000001"}, {"send_email", false}, {"if_already", "fail"}});
  check_okta_error(strict, "E0000016", 403);
  CHECK(sim_requests(f, "POST", "/api/v1/users/00ustaged00000000001/lifecycle/reactivate") == 2);
}

// Calls to GET /api/v1/users/{id} so far, read from the simulator's user_get rate-limit bucket
// (the read itself counts one).
static int user_reads(OktaFixture& f) {
  const auto resp = f.raw("GET", "/api/v1/users/00uactive00000000001");
  const std::string* left = resp.header("X-Rate-Limit-Remaining");
  const std::string* limit = resp.header("X-Rate-Limit-Limit");
  REQUIRE(left != nullptr);
  REQUIRE(limit != nullptr);
  return std::stoi(*limit) - std::stoi(*left);
}

TEST_CASE("okta.activate_user reads the status after activating unless read_status is false") {
  OktaFixture f(kSeed);
  const int before = user_reads(f);
  auto r = f.run("okta.activate_user", {{"user_id", "bob@example.com"}, {"send_email", false}, {"read_status", false}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["user_id"] == "bob@example.com");  // as given: nothing was read
  CHECK_FALSE((*r).contains("status"));
  CHECK((*r)["already"] == false);
  CHECK((*r).contains("activation_url"));
  CHECK((*r)["okta_request_id"].is_string());
  CHECK(user_reads(f) == before + 1);  // only user_reads' own GET: the action made no read
  CHECK(sim_status(f, "00ustaged00000000001") == "PROVISIONED");

  const int mid = user_reads(f);
  r = f.run("okta.activate_user", {{"user_id", "stan@example.com"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "ACTIVE");
  CHECK(user_reads(f) == mid + 2);  // the action's read and user_reads' own

  // Converging on an already active user needs no read either.
  const int last = user_reads(f);
  r = f.run("okta.activate_user", {{"user_id", "00ustaged00000000002"}, {"read_status", false}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["already"] == true);
  CHECK_FALSE((*r).contains("status"));
  CHECK(user_reads(f) == last + 1);
}

TEST_CASE("okta.reactivate_user re-issues activation for provisioned users only") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.reactivate_user", {{"user_id", "00uprovis00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "PROVISIONED");
  CHECK((*r)["activation_token"].is_string());
  CHECK(sim_status(f, "00uprovis00000000001") == "PROVISIONED");

  r = f.run("okta.reactivate_user", {{"user_id", "00ustaged00000000001"}});
  check_okta_error(r, "E0000038", 403);
}

TEST_CASE("okta.deactivate_user deactivates once and converges after") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.deactivate_user", {{"user_id", "alice@example.com"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "DEPROVISIONED");
  CHECK((*r)["already"] == false);
  CHECK((*r)["user_id"] == "00uactive00000000001");
  CHECK(sim_status(f, "00uactive00000000001") == "DEPROVISIONED");

  f.raw("DELETE", "/__sim/requests");
  r = f.run("okta.deactivate_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE(r.ok());
  CHECK((*r)["already"] == true);
  CHECK((*r)["status"] == "DEPROVISIONED");
  CHECK(sim_requests(f, "POST", "/api/v1/users/00uactive00000000001/lifecycle/deactivate") == 0);

  r = f.run("okta.deactivate_user", {{"user_id", "00uactive00000000001"}, {"if_already", "fail"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::action);
  CHECK(r.error().code == "already");

  r = f.run("okta.deactivate_user", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.suspend_user and okta.unsuspend_user converge only when the user is already there") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.suspend_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "SUSPENDED");
  CHECK((*r)["already"] == false);
  CHECK(sim_status(f, "00uactive00000000001") == "SUSPENDED");

  r = f.run("okta.suspend_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["already"] == true);
  CHECK((*r)["status"] == "SUSPENDED");

  r = f.run("okta.suspend_user", {{"user_id", "00uactive00000000001"}, {"if_already", "fail"}});
  check_okta_error(r, "E0000001", 400);

  // A STAGED user cannot be suspended: Okta's 400 stands, it is not convergence.
  r = f.run("okta.suspend_user", {{"user_id", "00ustaged00000000001"}});
  check_okta_error(r, "E0000001", 400);
  CHECK(sim_status(f, "00ustaged00000000001") == "STAGED");

  r = f.run("okta.unsuspend_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "ACTIVE");
  CHECK((*r)["already"] == false);
  CHECK(sim_status(f, "00uactive00000000001") == "ACTIVE");

  r = f.run("okta.unsuspend_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE(r.ok());
  CHECK((*r)["already"] == true);
  CHECK((*r)["status"] == "ACTIVE");

  r = f.run("okta.unsuspend_user", {{"user_id", "00uactive00000000001"}, {"if_already", "fail"}});
  check_okta_error(r, "E0000001", 400);

  r = f.run("okta.unsuspend_user", {{"user_id", "00ustaged00000000001"}});
  check_okta_error(r, "E0000001", 400);

  r = f.run("okta.suspend_user", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.is_user_locked and okta.unlock_user") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.is_user_locked", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["locked"] == false);
  CHECK((*r)["status"] == "ACTIVE");

  f.raw("POST", "/__sim/users/00uactive00000000001/lock");
  r = f.run("okta.is_user_locked", {{"user_id", "alice@example.com"}});
  REQUIRE(r.ok());
  CHECK((*r)["locked"] == true);
  CHECK((*r)["status"] == "LOCKED_OUT");
  CHECK((*r)["user_id"] == "00uactive00000000001");

  r = f.run("okta.unlock_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "ACTIVE");
  CHECK((*r)["already"] == false);
  CHECK(sim_status(f, "00uactive00000000001") == "ACTIVE");

  r = f.run("okta.unlock_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["already"] == true);
  CHECK((*r)["status"] == "ACTIVE");

  r = f.run("okta.unlock_user", {{"user_id", "00uactive00000000001"}, {"if_already", "fail"}});
  check_okta_error(r, "E0000032", 403);

  r = f.run("okta.is_user_locked", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.delete_user deactivates first when needed, then deletes; converges when gone") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.delete_user", {{"user_id", "alice@example.com"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["deleted"] == true);
  CHECK((*r)["already"] == false);
  CHECK((*r)["previous_status"] == "ACTIVE");
  CHECK((*r)["user_id"] == "00uactive00000000001");
  CHECK(f.raw("GET", "/api/v1/users/00uactive00000000001").status == 404);

  f.raw("DELETE", "/__sim/requests");
  r = f.run("okta.delete_user", {{"user_id", "00udeprov00000000001"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["previous_status"] == "DEPROVISIONED");
  CHECK(sim_requests(f, "DELETE", "/api/v1/users/00udeprov00000000001") == 1);
  CHECK(f.raw("GET", "/api/v1/users/00udeprov00000000001").status == 404);

  r = f.run("okta.delete_user", {{"user_id", "00uactive00000000001"}});
  REQUIRE(r.ok());
  CHECK((*r)["already"] == true);
  CHECK((*r)["deleted"] == true);
  CHECK((*r)["previous_status"].is_null());

  r = f.run("okta.delete_user", {{"user_id", "00uactive00000000001"}, {"if_already", "fail"}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.clear_user_sessions") {
  OktaFixture f(kSeed);
  f.raw("DELETE", "/__sim/requests");
  auto r = f.run("okta.clear_user_sessions", {{"user_id", "00uactive00000000001"}, {"oauth_tokens", true}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["cleared"] == true);
  CHECK(sim_requests(f, "DELETE", "/api/v1/users/00uactive00000000001/sessions?oauthTokens=true") == 1);
  bool logged = false;
  for (const auto& e : f.raw_json("GET", "/__sim/events"))
    if (e.value("eventType", "") == "user.session.clear") logged = true;
  CHECK(logged);

  r = f.run("okta.clear_user_sessions", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}
