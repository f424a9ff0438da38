// okta.* application actions against okta-sim: assignments as the simulated org sees them,
// convergence, and errors.
#include <doctest/doctest.h>

#include <set>

#include "okta_fixture.hpp"

using spokeflow::ErrorKind;
using spokeflow::Json;
using spokeflow::Result;
using spokeflow::test::OktaFixture;
using spokeflow::test::failed;
using spokeflow::test::ids_of;
using spokeflow::test::ok;

namespace {

const char* kSeed = R"(
groups:
  - {id: 00gEng00000000000001, name: Eng}
  - {id: 00gSales000000000001, name: Sales}
users:
  - {id: 00uAlice000000000001, login: alice@example.com, groups: [Eng]}
  - {id: 00uBob00000000000001, login: bob@example.com, groups: [Sales]}
  - {id: 00uCarol000000000001, login: carol@example.com}
apps:
  - {id: 0oaWiki0000000000001, label: Company Wiki, url: "https://wiki.example.com", users: [alice@example.com], groups: [Eng]}
  - {id: 0oaPortal00000000001, label: Old Portal, url: "https://portal.example.com", status: INACTIVE, users: [bob@example.com]}
  - {id: 0oaCrm00000000000001, label: CRM, url: "https://crm.example.com", groups: [Sales]}
)";

constexpr const char* kWiki = "0oaWiki0000000000001";
constexpr const char* kCrm = "0oaCrm00000000000001";
constexpr const char* kAlice = "00uAlice000000000001";
constexpr const char* kCarol = "00uCarol000000000001";

std::string path(const std::string& a, const std::string& b, const std::string& c = {}, const std::string& d = {}) {
  std::string p = "/api/v1/" + a + "/" + b;
  if (!c.empty()) p += "/" + c;
  if (!d.empty()) p += "/" + d;
  return p;
}

}  // namespace

TEST_CASE("okta.list_apps: all, q, filter, user and group relations, paging") {
  OktaFixture f(kSeed);
  Json all = ok(f.run("okta.list_apps", Json::object()));
  CHECK(all["count"] == 3);
  CHECK(all["next"].is_null());

  Json q = ok(f.run("okta.list_apps", {{"q", "comp"}}));
  CHECK(ids_of(q["items"]) == std::set<std::string>{kWiki});
  Json inactive = ok(f.run("okta.list_apps", {{"filter", "status eq \"INACTIVE\""}}));
  CHECK(ids_of(inactive["items"]) == std::set<std::string>{"0oaPortal00000000001"});
  Json alice = ok(f.run("okta.list_apps", {{"user_id", kAlice}}));
  CHECK(ids_of(alice["items"]) == std::set<std::string>{kWiki});
  Json sales = ok(f.run("okta.list_apps", {{"group_id", "00gSales000000000001"}}));
  CHECK(ids_of(sales["items"]) == std::set<std::string>{kCrm});
  Json raw_filter = ok(f.run("okta.list_apps", {{"filter", "user.id eq \"00uBob00000000000001\""}}));
  CHECK(ids_of(raw_filter["items"]) == std::set<std::string>{"0oaPortal00000000001"});

  auto both = f.run("okta.list_apps", {{"user_id", kAlice}, {"filter", "status eq \"ACTIVE\""}});
  CHECK(failed(both).kind == ErrorKind::validation);

  Json paged = ok(f.run("okta.list_apps", {{"page_size", 1}}));
  CHECK(paged["count"] == 3);
  CHECK(paged["truncated"] == false);
  Json first = ok(f.run("okta.list_apps", {{"page_size", 2}, {"stream", true}}));
  CHECK(first["count"] == 2);
  REQUIRE(first["next"].is_string());
  Json second = ok(f.run("okta.list_apps", {{"page_size", 2}, {"stream", true}, {"after", first["next"]}}));
  CHECK(second["count"] == 1);
  CHECK(second["next"].is_null());
}

TEST_CASE("okta.get_app, okta.list_app_users, okta.list_app_groups") {
  OktaFixture f(kSeed);
  Json app = ok(f.run("okta.get_app", {{"app_id", kWiki}}));
  CHECK(app["label"] == "Company Wiki");
  CHECK(app["status"] == "ACTIVE");
  CHECK(app["app"]["id"] == kWiki);
  auto missing = f.run("okta.get_app", {{"app_id", "0oaNoSuchApp00000001"}});
  CHECK(failed(missing).kind == ErrorKind::okta);
  CHECK(failed(missing).code == "E0000007");
  CHECK(failed(missing).http_status == 404);

  Json users = ok(f.run("okta.list_app_users", {{"app_id", kWiki}}));
  CHECK(ids_of(users["items"]) == std::set<std::string>{kAlice});
  CHECK(users["items"][0]["credentials"]["userName"] == "alice@example.com");
  Json groups = ok(f.run("okta.list_app_groups", {{"app_id", kWiki}}));
  CHECK(ids_of(groups["items"]) == std::set<std::string>{"00gEng00000000000001"});
  auto no_app = f.run("okta.list_app_users", {{"app_id", "0oaNoSuchApp00000001"}});
  CHECK(failed(no_app).code == "E0000007");
}

TEST_CASE("okta.assign_user_to_app assigns, leaves an existing assignment alone, merges given fields") {
  OktaFixture f(kSeed);
  Json out = ok(f.run("okta.assign_user_to_app", {{"app_id", kCrm},
                                                  {"user_id", kCarol},
                                                  {"credentials", {{"userName", "carol.lee"}}},
                                                  {"profile", {{"region", "EMEA"}}}}));
  CHECK(out["already"] == false);
  CHECK(out["assignment"]["id"] == kCarol);
  Json au = f.raw_json("GET", path("apps", kCrm, "users", kCarol));
  CHECK(au["scope"] == "USER");
  CHECK(au["credentials"]["userName"] == "carol.lee");
  CHECK(au["profile"]["region"] == "EMEA");

  // Again without fields: left as it is (Okta would overwrite the profile with nothing).
  Json again = ok(f.run("okta.assign_user_to_app", {{"app_id", kCrm}, {"user_id", kCarol}}));
  CHECK(again["already"] == true);
  au = f.raw_json("GET", path("apps", kCrm, "users", kCarol));
  CHECK(au["profile"]["region"] == "EMEA");
  CHECK(au["credentials"]["userName"] == "carol.lee");

  // With a profile: merged into the assignment.
  Json merged = ok(
      f.run("okta.assign_user_to_app", {{"app_id", kCrm}, {"user_id", kCarol}, {"profile", {{"costCenter", "42"}}}}));
  CHECK(merged["already"] == true);
  au = f.raw_json("GET", path("apps", kCrm, "users", kCarol));
  CHECK(au["profile"]["region"] == "EMEA");
  CHECK(au["profile"]["costCenter"] == "42");

  int posts = 0;
  for (const auto& e : f.raw_json("GET", "/__sim/requests"))
    if (e["method"] == "POST" && e["target"] == path("apps", kCrm, "users")) ++posts;
  CHECK(posts == 1);

  // A login names the user too.
  Json by_login = ok(f.run("okta.assign_user_to_app", {{"app_id", kWiki}, {"user_id", "bob@example.com"}}));
  CHECK(by_login["user_id"] == "00uBob00000000000001");
  CHECK(by_login["already"] == false);
  CHECK(f.raw("GET", path("apps", kWiki, "users", "00uBob00000000000001")).status == 200);
  Json revoked = ok(f.run("okta.revoke_user_app_access", {{"app_id", kWiki}, {"user_id", "bob@example.com"}}));
  CHECK(revoked["already"] == false);
  CHECK(f.raw("GET", path("apps", kWiki, "users", "00uBob00000000000001")).status == 404);

  auto no_app = f.run("okta.assign_user_to_app", {{"app_id", "0oaNoSuchApp00000001"}, {"user_id", kCarol}});
  CHECK(failed(no_app).code == "E0000007");
  CHECK(failed(no_app).message.find("AppInstance") != std::string::npos);
  auto no_user = f.run("okta.assign_user_to_app", {{"app_id", kCrm}, {"user_id", "00uNoSuchUser0000001"}});
  CHECK(failed(no_user).code == "E0000007");
  CHECK(failed(no_user).message.find("(User)") != std::string::npos);
}

TEST_CASE("okta.revoke_user_app_access removes the assignment and converges when there is none") {
  OktaFixture f(kSeed);
  Json out = ok(f.run("okta.revoke_user_app_access", {{"app_id", kWiki}, {"user_id", kAlice}}));
  CHECK(out["already"] == false);
  CHECK(f.raw("GET", path("apps", kWiki, "users", kAlice)).status == 404);

  Json again = ok(f.run("okta.revoke_user_app_access", {{"app_id", kWiki}, {"user_id", kAlice}}));
  CHECK(again["already"] == true);
  auto strict = f.run("okta.revoke_user_app_access", {{"app_id", kWiki}, {"user_id", kAlice}, {"if_already", "fail"}});
  CHECK(failed(strict).kind == ErrorKind::okta);
  CHECK(failed(strict).code == "E0000007");
  // A missing app is not "already revoked".
  auto no_app = f.run("okta.revoke_user_app_access", {{"app_id", "0oaNoSuchApp00000001"}, {"user_id", kAlice}});
  CHECK(failed(no_app).code == "E0000007");
}

TEST_CASE("okta.assign_group_to_app and okta.unassign_group_from_app") {
  OktaFixture f(kSeed);
  Json out = ok(f.run(
      "okta.assign_group_to_app",
      {{"app_id", kCrm}, {"group_id", "00gEng00000000000001"}, {"priority", 3}, {"profile", {{"role", "viewer"}}}}));
  CHECK(out["assignment"]["id"] == "00gEng00000000000001");
  Json ag = f.raw_json("GET", path("apps", kCrm, "groups", "00gEng00000000000001"));
  CHECK(ag["priority"] == 3);
  CHECK(ag["profile"]["role"] == "viewer");
  // Again, with a new priority only: the profile stays.
  ok(f.run("okta.assign_group_to_app", {{"app_id", kCrm}, {"group_id", "00gEng00000000000001"}, {"priority", 1}}));
  ag = f.raw_json("GET", path("apps", kCrm, "groups", "00gEng00000000000001"));
  CHECK(ag["priority"] == 1);
  CHECK(ag["profile"]["role"] == "viewer");
  CHECK(ok(f.run("okta.list_app_groups", {{"app_id", kCrm}}))["count"] == 2);

  auto no_group = f.run("okta.assign_group_to_app", {{"app_id", kCrm}, {"group_id", "00gNoSuchGroup000001"}});
  CHECK(failed(no_group).code == "E0000007");

  Json un = ok(f.run("okta.unassign_group_from_app", {{"app_id", kCrm}, {"group_id", "00gEng00000000000001"}}));
  CHECK(un["already"] == false);
  CHECK(f.raw("GET", path("apps", kCrm, "groups", "00gEng00000000000001")).status == 404);
  // Not assigned any more: the simulator answers 204 like the first time.
  Json again = ok(f.run("okta.unassign_group_from_app", {{"app_id", kCrm}, {"group_id", "00gEng00000000000001"}}));
  CHECK(again["already"] == false);
  auto no_app =
      f.run("okta.unassign_group_from_app", {{"app_id", "0oaNoSuchApp00000001"}, {"group_id", "00gEng00000000000001"}});
  CHECK(failed(no_app).code == "E0000007");
}

TEST_CASE("okta.list_user_app_links lists direct and group assignments of active apps") {
  OktaFixture f(kSeed);
  // Alice: Wiki directly and through Eng. Bob: Old Portal (inactive, not shown), CRM through Sales.
  Json alice = ok(f.run("okta.list_user_app_links", {{"user_id", kAlice}}));
  REQUIRE(alice["count"] == 1);
  CHECK(alice["items"][0]["appInstanceId"] == kWiki);
  CHECK(alice["items"][0]["label"] == "Company Wiki");
  Json bob = ok(f.run("okta.list_user_app_links", {{"user_id", "bob@example.com"}}));
  REQUIRE(bob["count"] == 1);
  CHECK(bob["items"][0]["appInstanceId"] == kCrm);
  CHECK(bob["next"].is_null());

  ok(f.run("okta.assign_user_to_app", {{"app_id", kCrm}, {"user_id", kCarol}}));
  Json carol = ok(f.run("okta.list_user_app_links", {{"user_id", kCarol}}));
  CHECK(carol["count"] == 1);
  // Not paginated: no limit is sent.
  const std::string target = f.raw_json("GET", "/__sim/requests").back()["target"];
  CHECK(target == path("users", kCarol, "appLinks"));

  auto missing = f.run("okta.list_user_app_links", {{"user_id", "00uNoSuchUser0000001"}});
  CHECK(failed(missing).code == "E0000007");
}
