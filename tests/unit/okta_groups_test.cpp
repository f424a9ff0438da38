// okta.* group actions against okta-sim: each action's effect on the simulated org, the
// convergence cases, and the errors a flow author sees.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <thread>

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
  - {id: 00gEng00000000000001, name: Eng, description: The core team}
  - {id: 00gEngineering000001, name: Engineering}
  - {id: 00gEngOps00000000001, name: Eng-Ops}
  - {id: 00gSales000000000001, name: Sales}
  - {id: 00gBig0000000000001x, name: Big}
users:
  - {id: 00uAlice000000000001, login: alice@example.com, groups: [Eng, Big]}
  - {id: 00uBob00000000000001, login: bob@example.com, groups: [Big]}
  - {id: 00uCarol000000000001, login: carol@example.com, groups: [Big]}
  - {id: 00uDave0000000000001, login: dave@example.com, groups: [Big]}
  - {id: 00uErin0000000000001, login: erin@example.com, groups: [Big]}
  - {id: 00uFrank000000000001, login: frank@example.com, groups: [Big]}
  - {id: 00uGrace000000000001, login: grace@example.com, groups: [Big]}
  - {id: 00uHeidi000000000001, login: heidi@example.com}
)";

std::set<std::string> member_ids(OktaFixture& f, const std::string& gid) {
  return ids_of(f.raw_json("GET", "/api/v1/groups/" + gid + "/users"));
}

int groups_named(OktaFixture& f, const std::string& name) {
  int n = 0;
  for (const auto& g : f.raw_json("GET", "/api/v1/groups"))
    if (g["profile"]["name"] == name) ++n;
  return n;
}

}  // namespace

TEST_CASE("every group, app, log, schema and event hook action is registered with a usable schema") {
  OktaFixture f;
  const char* names[] = {"okta.create_group",
                         "okta.get_group",
                         "okta.update_group",
                         "okta.delete_group",
                         "okta.lookup_group_id_by_name",
                         "okta.list_groups",
                         "okta.list_group_members",
                         "okta.list_user_groups",
                         "okta.add_user_to_group",
                         "okta.remove_user_from_group",
                         "okta.is_user_in_group",
                         "okta.list_apps",
                         "okta.get_app",
                         "okta.list_app_users",
                         "okta.list_app_groups",
                         "okta.assign_user_to_app",
                         "okta.revoke_user_app_access",
                         "okta.assign_group_to_app",
                         "okta.unassign_group_from_app",
                         "okta.list_user_app_links",
                         "okta.list_logs",
                         "okta.get_user_schema",
                         "okta.create_event_hook",
                         "okta.get_event_hook",
                         "okta.list_event_hooks",
                         "okta.update_event_hook",
                         "okta.activate_event_hook",
                         "okta.deactivate_event_hook",
                         "okta.verify_event_hook",
                         "okta.delete_event_hook"};
  for (const char* name : names) {
    CAPTURE(name);
    const auto* a = f.registry.find(name);
    REQUIRE(a != nullptr);
    const auto& info = a->info();
    CHECK(info.name == name);
    CHECK(info.description.size() > 40);
    CHECK(info.description.find("IntegrationHub") != std::string::npos);
    REQUIRE(info.inputs_checker);
    REQUIRE(info.outputs_checker);
    CHECK(info.input_schema["additionalProperties"] == false);
    CHECK(info.output_schema["properties"].contains("okta_request_id"));
    for (const auto& [key, prop] : info.input_schema["properties"].items()) {
      CAPTURE(key);
      CHECK(prop.contains("description"));
    }
    const std::string n = name;
    if (n.find(".list_") != std::string::npos) {
      for (const char* k : {"max_items", "page_size", "stream", "after"})
        CHECK(info.input_schema["properties"].contains(k));
      for (const char* k : {"items", "count", "truncated", "next"}) CHECK(info.output_schema["properties"].contains(k));
    }
    // Unknown inputs are refused.
    CHECK_FALSE(info.inputs_checker->validate(Json{{"no_such_input", 1}}).empty());
  }
  CHECK(f.registry.find("okta.create_event_hook")->info().inputs_sensitive);
  CHECK(f.registry.find("okta.update_event_hook")->info().inputs_sensitive);
  CHECK_FALSE(f.registry.find("okta.get_group")->info().inputs_sensitive);
}

TEST_CASE("okta.create_group creates, converges on an existing name, and fails when asked to") {
  OktaFixture f(kSeed);
  Json out = ok(f.run("okta.create_group", {{"name", "Platform"}, {"description", "Platform team"}}));
  CHECK(out["already"] == false);
  CHECK(out["name"] == "Platform");
  CHECK(out["okta_request_id"].is_string());
  const std::string gid = out["group_id"];
  CHECK(gid.rfind("00g", 0) == 0);
  Json g = f.raw_json("GET", "/api/v1/groups/" + gid);
  CHECK(g["profile"]["name"] == "Platform");
  CHECK(g["profile"]["description"] == "Platform team");
  CHECK(g["type"] == "OKTA_GROUP");

  SUBCASE("twice: the same group, already") {
    Json again = ok(f.run("okta.create_group", {{"name", "Platform"}, {"description", "something else"}}));
    CHECK(again["already"] == true);
    CHECK(again["group_id"] == gid);
    CHECK(groups_named(f, "Platform") == 1);
    CHECK(f.raw_json("GET", "/api/v1/groups/" + gid)["profile"]["description"] == "Platform team");
  }
  SUBCASE("Okta compares names without case: the existing group is returned") {
    Json again = ok(f.run("okta.create_group", {{"name", "eng-ops"}}));
    CHECK(again["already"] == true);
    CHECK(again["group_id"] == "00gEngOps00000000001");
    CHECK(again["name"] == "Eng-Ops");
  }
  SUBCASE("prefix matches are not the same group") {
    // "Eng" exists, and q=Eng also finds Engineering and Eng-Ops: the exact one is picked.
    Json again = ok(f.run("okta.create_group", {{"name", "Eng"}}));
    CHECK(again["group_id"] == "00gEng00000000000001");
  }
  SUBCASE("if_already: fail gives Okta's error") {
    auto r = f.run("okta.create_group", {{"name", "Platform"}, {"if_already", "fail"}});
    const auto& e = failed(r);
    CHECK(e.kind == ErrorKind::okta);
    CHECK(e.code == "E0000001");
    CHECK(e.http_status == 400);
    CHECK(e.message.find("already exists") != std::string::npos);
    CHECK(groups_named(f, "Platform") == 1);
  }
  SUBCASE("a blank name is refused before Okta is called") {
    auto issues = f.registry.find("okta.create_group")->info().inputs_checker->validate(Json{{"name", ""}});
    CHECK_FALSE(issues.empty());
  }
}

TEST_CASE("okta.get_group and okta.update_group") {
  OktaFixture f(kSeed);
  Json out = ok(f.run("okta.get_group", {{"group_id", "00gEng00000000000001"}}));
  CHECK(out["name"] == "Eng");
  CHECK(out["group"]["profile"]["description"] == "The core team");

  auto missing = f.run("okta.get_group", {{"group_id", "00gNoSuchGroup000001"}});
  CHECK(failed(missing).kind == ErrorKind::okta);
  CHECK(failed(missing).code == "E0000007");
  CHECK(failed(missing).http_status == 404);

  // A rename keeps the description: Okta's PUT replaces the profile, the action merges.
  Json up = ok(f.run("okta.update_group", {{"group_id", "00gEng00000000000001"}, {"name", "Eng Core"}}));
  CHECK(up["name"] == "Eng Core");
  Json g = f.raw_json("GET", "/api/v1/groups/00gEng00000000000001");
  CHECK(g["profile"]["name"] == "Eng Core");
  CHECK(g["profile"]["description"] == "The core team");

  ok(f.run("okta.update_group", {{"group_id", "00gEng00000000000001"}, {"description", nullptr}}));
  g = f.raw_json("GET", "/api/v1/groups/00gEng00000000000001");
  CHECK(g["profile"]["name"] == "Eng Core");
  CHECK(g["profile"]["description"].is_null());

  auto clash = f.run("okta.update_group", {{"group_id", "00gEng00000000000001"}, {"name", "sales"}});
  CHECK(failed(clash).code == "E0000001");
  auto nothing = f.run("okta.update_group", {{"group_id", "00gEng00000000000001"}});
  CHECK(failed(nothing).kind == ErrorKind::validation);
  // Everyone is BUILT_IN: Okta refuses.
  std::string everyone;
  for (const auto& x : f.raw_json("GET", "/api/v1/groups"))
    if (x["type"] == "BUILT_IN") everyone = x["id"];
  auto builtin = f.run("okta.update_group", {{"group_id", everyone}, {"description", "x"}});
  CHECK(failed(builtin).code == "E0000006");
}

TEST_CASE("okta.delete_group deletes and converges on a missing group") {
  OktaFixture f(kSeed);
  Json out = ok(f.run("okta.delete_group", {{"group_id", "00gSales000000000001"}}));
  CHECK(out["deleted"] == true);
  CHECK(out["already"] == false);
  CHECK(f.raw("GET", "/api/v1/groups/00gSales000000000001").status == 404);

  Json again = ok(f.run("okta.delete_group", {{"group_id", "00gSales000000000001"}}));
  CHECK(again["deleted"] == false);
  CHECK(again["already"] == true);

  auto strict = f.run("okta.delete_group", {{"group_id", "00gSales000000000001"}, {"if_already", "fail"}});
  CHECK(failed(strict).kind == ErrorKind::okta);
  CHECK(failed(strict).code == "E0000007");
}

TEST_CASE("okta.lookup_group_id_by_name keeps only the exact, case-sensitive name") {
  OktaFixture f(kSeed);
  Json out = ok(f.run("okta.lookup_group_id_by_name", {{"name", "Eng"}}));
  CHECK(out["found"] == true);
  CHECK(out["group_id"] == "00gEng00000000000001");
  CHECK(out["group"]["profile"]["name"] == "Eng");

  Json eo = ok(f.run("okta.lookup_group_id_by_name", {{"name", "Eng-Ops"}}));
  CHECK(eo["group_id"] == "00gEngOps00000000001");

  for (const char* name : {"En", "eng", "ENG", "Eng-", "Nope"}) {
    CAPTURE(name);
    Json none = ok(f.run("okta.lookup_group_id_by_name", {{"name", name}}));
    CHECK(none["found"] == false);
    CHECK(none["group_id"].is_null());
    CHECK(none["group"].is_null());
  }
  // One request: q answers are not pageable in Okta; the step asks for Okta's maximum at once.
  auto log = f.raw_json("GET", "/__sim/requests");
  const std::string last = log.back()["target"];
  CHECK(last.find("/api/v1/groups?q=Nope") == 0);
  CHECK(last.find("limit=10000") != std::string::npos);
}

TEST_CASE("okta.lookup_group_id_by_name refuses to guess between two exact matches") {
  // An imported APP_GROUP may carry an Okta group's name.
  OktaFixture f(R"(
groups:
  - {id: 00gEng00000000000001, name: Eng}
  - {id: 00gEngAD000000000001, name: Eng, type: APP_GROUP}
)");
  auto r = f.run("okta.lookup_group_id_by_name", {{"name", "Eng"}});
  const auto& e = failed(r);
  CHECK(e.kind == ErrorKind::validation);
  CHECK(e.message.find("00gEng00000000000001") != std::string::npos);
  CHECK(e.message.find("00gEngAD000000000001") != std::string::npos);
  Json typed = ok(f.run("okta.lookup_group_id_by_name", {{"name", "Eng"}, {"type", "APP_GROUP"}}));
  CHECK(typed["group_id"] == "00gEngAD000000000001");
}

TEST_CASE("okta.list_groups: q, filter, paging and streaming") {
  OktaFixture f(kSeed);
  Json all = ok(f.run("okta.list_groups", Json::object()));
  CHECK(all["count"] == 6);  // five seeded and Everyone
  CHECK(all["truncated"] == false);
  CHECK(all["next"].is_null());

  Json q = ok(f.run("okta.list_groups", {{"q", "eng"}}));
  CHECK(ids_of(q["items"]) ==
        std::set<std::string>{"00gEng00000000000001", "00gEngineering000001", "00gEngOps00000000001"});

  Json builtin = ok(f.run("okta.list_groups", {{"filter", "type eq \"BUILT_IN\""}}));
  REQUIRE(builtin["count"] == 1);
  CHECK(builtin["items"][0]["profile"]["name"] == "Everyone");

  Json capped = ok(f.run("okta.list_groups", {{"page_size", 2}, {"max_items", 3}}));
  CHECK(capped["count"] == 3);
  CHECK(capped["truncated"] == true);

  // for_each streaming: one page per call, following `next`.
  std::set<std::string> seen;
  Json cursor = nullptr;
  int pages = 0;
  do {
    Json in = {{"page_size", 4}, {"stream", true}};
    if (!cursor.is_null()) in["after"] = cursor;
    Json page = ok(f.run("okta.list_groups", in));
    CHECK(page["count"].get<int>() <= 4);
    for (const auto& g : page["items"]) CHECK(seen.insert(g["id"].get<std::string>()).second);
    cursor = page["next"];
    ++pages;
  } while (!cursor.is_null() && pages < 10);
  CHECK(pages == 2);
  CHECK(seen.size() == 6);

  auto bad = f.run("okta.list_groups", {{"filter", "type eq"}});
  CHECK(failed(bad).code == "E0000031");
}

TEST_CASE("okta.list_groups changed_since keeps groups whose profile or membership changed") {
  OktaFixture f(kSeed);
  // The newest change in the org so far, by the simulator's clock.
  std::string newest;
  for (const auto& g : f.raw_json("GET", "/api/v1/groups")) {
    newest = std::max(newest, g["lastUpdated"].get<std::string>());
    newest = std::max(newest, g["lastMembershipUpdated"].get<std::string>());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // A profile change on Sales, a membership change on Engineering.
  f.raw_json("PUT", "/api/v1/groups/00gSales000000000001", {{"profile", {{"name", "Sales"}, {"description", "EMEA"}}}});
  REQUIRE(f.raw("PUT", "/api/v1/groups/00gEngineering000001/users/00uHeidi000000000001").status == 204);

  Json changed = ok(f.run("okta.list_groups", {{"changed_since", newest}}));
  CHECK(ids_of(changed["items"]) == std::set<std::string>{"00gSales000000000001", "00gEngineering000001"});
  // The filter sent is Okta's documented one.
  const std::string target = f.raw_json("GET", "/__sim/requests").back()["target"];
  CHECK(target.find("filter=lastUpdated%20gt%20%22") != std::string::npos);
  CHECK(target.find("%20or%20lastMembershipUpdated%20gt%20%22") != std::string::npos);

  // Combined with a filter of the step's own.
  Json only_sales =
      ok(f.run("okta.list_groups", {{"changed_since", newest}, {"filter", "id eq \"00gSales000000000001\""}}));
  CHECK(ids_of(only_sales["items"]) == std::set<std::string>{"00gSales000000000001"});
  // Or with a search.
  Json searched = ok(f.run("okta.list_groups", {{"changed_since", newest}, {"search", "profile.name sw \"Eng\""}}));
  CHECK(ids_of(searched["items"]) == std::set<std::string>{"00gEngineering000001"});

  // Other ISO 8601 forms are normalised to Okta's (UTC, milliseconds).
  Json since_2000 = ok(f.run("okta.list_groups", {{"changed_since", "2000-01-01T01:00:00+01:00"}}));
  CHECK(since_2000["count"] == 6);
  const std::string t2 = f.raw_json("GET", "/__sim/requests").back()["target"];
  CHECK(t2.find("2000-01-01T00%3A00%3A00.000Z") != std::string::npos);
  Json future = ok(f.run("okta.list_groups", {{"changed_since", "2999-01-01"}}));
  CHECK(future["count"] == 0);

  auto bad = f.run("okta.list_groups", {{"changed_since", "yesterday"}});
  CHECK(failed(bad).kind == ErrorKind::validation);
  CHECK(failed(bad).message.find("changed_since") != std::string::npos);
}

TEST_CASE("okta.list_group_members and okta.list_user_groups") {
  OktaFixture f(kSeed);
  Json members = ok(f.run("okta.list_group_members", {{"group_id", "00gBig0000000000001x"}, {"page_size", 3}}));
  CHECK(members["count"] == 7);
  CHECK(members["items"][0]["profile"]["login"] == "alice@example.com");
  Json capped =
      ok(f.run("okta.list_group_members", {{"group_id", "00gBig0000000000001x"}, {"page_size", 3}, {"max_items", 5}}));
  CHECK(capped["count"] == 5);
  CHECK(capped["truncated"] == true);

  Json groups = ok(f.run("okta.list_user_groups", {{"user_id", "00uAlice000000000001"}}));
  std::set<std::string> names;
  for (const auto& g : groups["items"]) names.insert(g["profile"]["name"].get<std::string>());
  CHECK(names == std::set<std::string>{"Everyone", "Eng", "Big"});
  // Okta takes the login in the path too.
  Json by_login = ok(f.run("okta.list_user_groups", {{"user_id", "alice@example.com"}}));
  CHECK(by_login["count"] == 3);

  auto missing = f.run("okta.list_group_members", {{"group_id", "00gNoSuchGroup000001"}});
  CHECK(failed(missing).code == "E0000007");
}

TEST_CASE("okta.add_user_to_group and okta.remove_user_from_group") {
  OktaFixture f(kSeed);
  Json out =
      ok(f.run("okta.add_user_to_group", {{"group_id", "00gSales000000000001"}, {"user_id", "00uHeidi000000000001"}}));
  CHECK(out["member"] == true);
  CHECK(out["already"] == false);
  CHECK(member_ids(f, "00gSales000000000001").count("00uHeidi000000000001") == 1);

  // Okta answers 204 again: harmless, and the membership is there once.
  Json again =
      ok(f.run("okta.add_user_to_group", {{"group_id", "00gSales000000000001"}, {"user_id", "00uHeidi000000000001"}}));
  CHECK(again["already"] == false);
  CHECK(member_ids(f, "00gSales000000000001").size() == 1);

  auto no_user =
      f.run("okta.add_user_to_group", {{"group_id", "00gSales000000000001"}, {"user_id", "00uNoSuchUser0000001"}});
  CHECK(failed(no_user).kind == ErrorKind::okta);
  CHECK(failed(no_user).code == "E0000007");
  CHECK(failed(no_user).http_status == 404);
  auto no_group =
      f.run("okta.add_user_to_group", {{"group_id", "00gNoSuchGroup000001"}, {"user_id", "00uHeidi000000000001"}});
  CHECK(failed(no_group).code == "E0000007");
  CHECK(failed(no_group).message.find("UserGroup") != std::string::npos);

  Json removed = ok(f.run("okta.remove_user_from_group",
                          {{"group_id", "00gSales000000000001"}, {"user_id", "00uHeidi000000000001"}}));
  CHECK(removed["member"] == false);
  CHECK(member_ids(f, "00gSales000000000001").empty());
  // Not a member any more: Okta answers 204 all the same.
  Json removed_again = ok(f.run("okta.remove_user_from_group",
                                {{"group_id", "00gSales000000000001"}, {"user_id", "00uHeidi000000000001"}}));
  CHECK(removed_again["member"] == false);
  auto gone =
      f.run("okta.remove_user_from_group", {{"group_id", "00gNoSuchGroup000001"}, {"user_id", "00uHeidi000000000001"}});
  CHECK(failed(gone).code == "E0000007");

  // A login is read first to find the id, which Okta's membership endpoint needs.
  Json by_login =
      ok(f.run("okta.add_user_to_group", {{"group_id", "00gSales000000000001"}, {"user_id", "Heidi@Example.com"}}));
  CHECK(by_login["user_id"] == "00uHeidi000000000001");
  CHECK(member_ids(f, "00gSales000000000001") == std::set<std::string>{"00uHeidi000000000001"});
  ok(f.run("okta.remove_user_from_group", {{"group_id", "00gSales000000000001"}, {"user_id", "heidi@example.com"}}));
  CHECK(member_ids(f, "00gSales000000000001").empty());
  auto unknown_login =
      f.run("okta.add_user_to_group", {{"group_id", "00gSales000000000001"}, {"user_id", "nobody@example.com"}});
  CHECK(failed(unknown_login).code == "E0000007");
}

TEST_CASE("okta.is_user_in_group reads both lists in turn and every page") {
  OktaFixture f(kSeed);
  SUBCASE("auto: the user's groups settle it in one request") {
    Json yes =
        ok(f.run("okta.is_user_in_group", {{"user_id", "00uAlice000000000001"}, {"group_id", "00gBig0000000000001x"}}));
    CHECK(yes["member"] == true);
    CHECK(yes["settled_by"] == "user_groups");
    CHECK(yes["pages_read"] == 1);
    Json no =
        ok(f.run("okta.is_user_in_group", {{"user_id", "00uHeidi000000000001"}, {"group_id", "00gBig0000000000001x"}}));
    CHECK(no["member"] == false);
    CHECK(no["pages_read"] == 1);
  }
  SUBCASE("group members across several pages") {
    // Big has 7 members; Grace comes last: pages of 2 -> the 4th page.
    Json yes = ok(f.run("okta.is_user_in_group", {{"user_id", "00uGrace000000000001"},
                                                  {"group_id", "00gBig0000000000001x"},
                                                  {"via", "group_members"},
                                                  {"page_size", 2}}));
    CHECK(yes["member"] == true);
    CHECK(yes["settled_by"] == "group_members");
    CHECK(yes["pages_read"] == 4);
    int member_pages = 0;
    for (const auto& e : f.raw_json("GET", "/__sim/requests"))
      if (e["target"].get<std::string>().find("/api/v1/groups/00gBig0000000000001x/users") == 0) ++member_pages;
    CHECK(member_pages == 4);

    Json no = ok(f.run("okta.is_user_in_group", {{"user_id", "00uHeidi000000000001"},
                                                 {"group_id", "00gBig0000000000001x"},
                                                 {"via", "group_members"},
                                                 {"page_size", 2}}));
    CHECK(no["member"] == false);
    CHECK(no["pages_read"] == 4);
    // A login matches members by their login.
    Json by_login = ok(f.run("okta.is_user_in_group", {{"user_id", "GRACE@example.com"},
                                                       {"group_id", "00gBig0000000000001x"},
                                                       {"via", "group_members"},
                                                       {"page_size", 3}}));
    CHECK(by_login["member"] == true);
  }
  SUBCASE("a membership added by another step is seen") {
    ok(f.run("okta.add_user_to_group", {{"group_id", "00gBig0000000000001x"}, {"user_id", "00uHeidi000000000001"}}));
    Json yes =
        ok(f.run("okta.is_user_in_group", {{"user_id", "00uHeidi000000000001"}, {"group_id", "00gBig0000000000001x"}}));
    CHECK(yes["member"] == true);
  }
  SUBCASE("unknown user or group") {
    auto u =
        f.run("okta.is_user_in_group", {{"user_id", "00uNoSuchUser0000001"}, {"group_id", "00gBig0000000000001x"}});
    CHECK(failed(u).code == "E0000007");
    auto g =
        f.run("okta.is_user_in_group",
              {{"user_id", "00uAlice000000000001"}, {"group_id", "00gNoSuchGroup000001"}, {"via", "group_members"}});
    CHECK(failed(g).code == "E0000007");
  }
}
