// okta.* password and factor actions against okta-sim: the simulated user's state after each,
// Okta's refusals as errors, and that the secrets these actions handle are marked sensitive.
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

const char* kSeed = R"(
users:
  - id: 00uactive00000000001
    login: alice@example.com
    firstName: Alice
    lastName: Smith
    password: Alice-Passw0rd
  - id: 00ustaged00000000001
    login: bob@example.com
    firstName: Bob
    lastName: Jones
    status: STAGED
)";

const char* kAlice = "00uactive00000000001";
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

// Whether `password` is the user's current password. Okta has no "check password" call, so
// this changes it (to `next`): the change only succeeds with the right current password.
bool password_is(OktaFixture& f, const std::string& id, const std::string& password, const std::string& next) {
  auto r = f.run("okta.change_password", {{"user_id", id}, {"old_password", password}, {"new_password", next}});
  return r.ok();
}

void enroll(OktaFixture& f, const std::string& id, const Json& factor) {
  auto resp = f.raw("POST", "/api/v1/users/" + id + "/factors", factor.dump());
  REQUIRE(resp.status == 200);
}

const std::set<std::string> kPasswordActions = {"okta.change_password",  "okta.set_password",
                                                "okta.expire_password",  "okta.reset_to_temporary_password",
                                                "okta.reset_password",   "okta.reset_factors",
                                                "okta.list_user_factors"};

}  // namespace

TEST_CASE("okta password actions are registered; their secrets are marked sensitive") {
  ActionRegistry registry;
  spokeflow::okta::register_actions(registry, nullptr);
  for (const auto& name : kPasswordActions) {
    CAPTURE(name);
    const auto* a = registry.find(name);
    REQUIRE(a != nullptr);
    CHECK_FALSE(a->info().description.empty());
    CHECK(a->info().inputs_checker != nullptr);
    CHECK(a->info().outputs_checker != nullptr);
    CHECK(a->info().output_schema["properties"].contains("okta_request_id"));
    for (const auto& [key, prop] : a->info().input_schema["properties"].items()) {
      CAPTURE(key);
      CHECK(prop.contains("description"));
    }
  }
  CHECK(registry.find("okta.reset_to_temporary_password")->info().outputs_sensitive);
  CHECK(registry.find("okta.reset_password")->info().outputs_sensitive);
  CHECK(registry.find("okta.change_password")->info().inputs_sensitive);
  CHECK(registry.find("okta.set_password")->info().inputs_sensitive);
  CHECK_FALSE(registry.find("okta.expire_password")->info().outputs_sensitive);
  CHECK_FALSE(registry.find("okta.list_user_factors")->info().outputs_sensitive);
  const Json& cp = registry.find("okta.change_password")->info().input_schema["properties"];
  CHECK(cp["old_password"].value("x-sensitive", false));
  CHECK(cp["new_password"].value("x-sensitive", false));
  CHECK(registry.find("okta.set_password")->info().input_schema["properties"]["password"].value("x-sensitive", false));
  CHECK(registry.find("okta.reset_to_temporary_password")->info().output_schema["properties"]["temp_password"].value(
      "x-sensitive", false));
  CHECK(registry.find("okta.reset_password")->info().output_schema["properties"]["reset_password_url"].value(
      "x-sensitive", false));
}

TEST_CASE("okta.change_password checks the current password") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.change_password",
                 {{"user_id", kAlice}, {"old_password", "Alice-Passw0rd"}, {"new_password", "Brand-New-Secret-1"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["user_id"] == kAlice);
  CHECK((*r)["credentials"]["provider"]["type"] == "OKTA");
  CHECK(r->dump().find("Brand-New-Secret-1") == std::string::npos);
  CHECK(sim_status(f, kAlice) == "ACTIVE");

  // The old password no longer works: Okta's 403 E0000014, without the password in the error.
  r = f.run("okta.change_password",
            {{"user_id", kAlice}, {"old_password", "Alice-Passw0rd"}, {"new_password", "Another-Secret-2"}});
  check_okta_error(r, "E0000014", 403);
  CHECK(r.error().to_json().dump().find("Alice-Passw0rd") == std::string::npos);
  CHECK(password_is(f, kAlice, "Brand-New-Secret-1", "Third-Secret-3"));

  // A new password the policy refuses.
  r = f.run("okta.change_password", {{"user_id", kAlice}, {"old_password", "Third-Secret-3"}, {"new_password", "short"}});
  check_okta_error(r, "E0000001", 400);

  r = f.run("okta.change_password", {{"user_id", kMissing}, {"old_password", "x"}, {"new_password", "Brand-New-Secret-1"}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.set_password sets a password without the current one") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.set_password", {{"user_id", "alice@example.com"}, {"password", "Admin-Set-Secret-4"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["user_id"] == kAlice);
  CHECK((*r)["status"] == "ACTIVE");
  CHECK(r->dump().find("Admin-Set-Secret-4") == std::string::npos);
  CHECK(password_is(f, kAlice, "Admin-Set-Secret-4", "Next-Secret-5"));

  r = f.run("okta.set_password", {{"user_id", kAlice}, {"password", "weak"}});
  check_okta_error(r, "E0000001", 400);
  CHECK(r.error().message.find("weak\"") == std::string::npos);

  r = f.run("okta.set_password", {{"user_id", kMissing}, {"password", "Admin-Set-Secret-4"}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.expire_password and okta.reset_to_temporary_password") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.expire_password", {{"user_id", kAlice}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "PASSWORD_EXPIRED");
  CHECK((*r)["user"]["id"] == kAlice);
  CHECK(sim_status(f, kAlice) == "PASSWORD_EXPIRED");

  r = f.run("okta.expire_password", {{"user_id", "00ustaged00000000001"}});
  check_okta_error(r, "E0000038", 403);

  r = f.run("okta.reset_to_temporary_password", {{"user_id", kAlice}, {"revoke_sessions", true}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "PASSWORD_EXPIRED");
  REQUIRE((*r)["temp_password"].is_string());
  const std::string temp = (*r)["temp_password"];
  CHECK(temp.size() >= 8);
  CHECK(sim_status(f, kAlice) == "PASSWORD_EXPIRED");
  // The temporary password is the user's password now; changing it makes them ACTIVE again.
  CHECK(password_is(f, kAlice, temp, "After-Temp-Secret-6"));
  CHECK(sim_status(f, kAlice) == "ACTIVE");

  r = f.run("okta.reset_to_temporary_password", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}

TEST_CASE("okta.reset_password returns the recovery link only when not emailed") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.reset_password", {{"user_id", kAlice}, {"send_email", false}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["status"] == "RECOVERY");
  REQUIRE((*r)["reset_password_url"].is_string());
  CHECK((*r)["reset_password_url"].get<std::string>().find("/reset_password/") != std::string::npos);
  CHECK(sim_status(f, kAlice) == "RECOVERY");

  r = f.run("okta.reset_password", {{"user_id", kAlice}});
  REQUIRE(r.ok());
  CHECK_FALSE((*r).contains("reset_password_url"));

  r = f.run("okta.reset_password", {{"user_id", "00ustaged00000000001"}, {"send_email", false}});
  check_okta_error(r, "E0000038", 403);
}

TEST_CASE("okta.list_user_factors and okta.reset_factors") {
  OktaFixture f(kSeed);
  auto r = f.run("okta.list_user_factors", {{"user_id", kAlice}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["count"] == 0);
  CHECK((*r)["items"] == Json::array());

  enroll(f, kAlice, {{"factorType", "sms"}, {"provider", "OKTA"}, {"profile", {{"phoneNumber", "+15555550100"}}}});
  enroll(f, kAlice,
         {{"factorType", "question"}, {"provider", "OKTA"}, {"profile", {{"question", "disliked_food"}, {"answer", "kale"}}}});

  r = f.run("okta.list_user_factors", {{"user_id", "alice@example.com"}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["count"] == 2);
  CHECK((*r)["truncated"] == false);
  CHECK((*r)["next"].is_null());
  CHECK((*r)["items"][0]["factorType"] == "sms");
  CHECK((*r)["items"][1]["factorType"] == "question");

  r = f.run("okta.list_user_factors", {{"user_id", kAlice}, {"max_items", 1}});
  REQUIRE(r.ok());
  CHECK((*r)["count"] == 1);
  CHECK((*r)["truncated"] == true);

  // As a for_each source: one page, no cursor.
  r = f.run("okta.list_user_factors", {{"user_id", kAlice}, {"stream", true}});
  REQUIRE(r.ok());
  CHECK((*r)["count"] == 2);
  CHECK((*r)["next"].is_null());

  r = f.run("okta.reset_factors", {{"user_id", kAlice}});
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK((*r)["reset"] == true);
  CHECK(f.raw_json("GET", std::string("/api/v1/users/") + kAlice + "/factors") == Json::array());
  CHECK(sim_status(f, kAlice) == "ACTIVE");  // unchanged

  r = f.run("okta.list_user_factors", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
  r = f.run("okta.reset_factors", {{"user_id", kMissing}});
  check_okta_error(r, "E0000007", 404);
}
