// Which okta.* POSTs the client sends again after a 5xx (when Okta may have carried the first
// out): only those a second copy cannot take further, by okta-sim's request log.
#include <doctest/doctest.h>

#include <string>

#include "okta_fixture.hpp"

using spokeflow::ErrorKind;
using spokeflow::Json;
using spokeflow::test::OktaFixture;
using spokeflow::test::failed;

namespace {

const char* kSeed = R"(
users:
  - {id: 00uActive00000000001, login: active@example.com, password: Active-Passw0rd-1}
  - {id: 00uStaged00000000001, login: staged@example.com, status: STAGED}
)";

constexpr int kAttempts = 4;  // the alias's default max_attempts

// POSTs the sim received whose target starts with `prefix` (query included).
int posts(OktaFixture& f, const std::string& prefix) {
  int n = 0;
  for (const auto& e : f.raw_json("GET", "/__sim/requests"))
    if (e["method"] == "POST" && e["target"].get<std::string>().rfind(prefix, 0) == 0) ++n;
  return n;
}

// Runs the action with every Okta answer a 500, and counts its POSTs to `prefix`.
int posts_on_5xx(OktaFixture& f, const std::string& action, const Json& inputs, const std::string& prefix) {
  f.raw("DELETE", "/__sim/requests");
  auto r = f.run(action, inputs);
  const auto& e = failed(r);
  CHECK(e.kind == ErrorKind::server);
  return posts(f, prefix);
}

}  // namespace

TEST_CASE("after a 5xx the client repeats only the okta.* POSTs that are safe to repeat") {
  OktaFixture f(kSeed, "faults:\n  error_500_rate: 1.0\n");
  const Json profile = {{"login", "new@example.com"}, {"email", "new@example.com"}, {"firstName", "N"}, {"lastName", "U"}};
  const std::string active = "/api/v1/users/00uActive00000000001";
  const std::string staged = "/api/v1/users/00uStaged00000000001";

  // Converging creates: a repeat is refused as a duplicate and the action adopts the object.
  CHECK(posts_on_5xx(f, "okta.create_user", {{"profile", profile}}, "/api/v1/users?") == kAttempts);
  CHECK(posts_on_5xx(f, "okta.create_user", {{"profile", profile}, {"if_already", "fail"}}, "/api/v1/users?") == 1);
  CHECK(posts_on_5xx(f, "okta.create_group", {{"name", "G"}}, "/api/v1/groups") == kAttempts);
  CHECK(posts_on_5xx(f, "okta.create_group", {{"name", "G"}, {"if_already", "fail"}}, "/api/v1/groups") == 1);

  // Lifecycle operations that converge through if_already.
  CHECK(posts_on_5xx(f, "okta.suspend_user", {{"user_id", "00uActive00000000001"}}, active + "/lifecycle/suspend") == kAttempts);
  CHECK(posts_on_5xx(f, "okta.suspend_user", {{"user_id", "00uActive00000000001"}, {"if_already", "fail"}},
                     active + "/lifecycle/suspend") == 1);
  CHECK(posts_on_5xx(f, "okta.unlock_user", {{"user_id", "00uActive00000000001"}}, active + "/lifecycle/unlock") == kAttempts);
  // Activation: with the email a repeat converges; without it, the first answer held the only link.
  CHECK(posts_on_5xx(f, "okta.activate_user", {{"user_id", "00uStaged00000000001"}, {"send_email", true}},
                     staged + "/lifecycle/activate") == kAttempts);
  CHECK(posts_on_5xx(f, "okta.activate_user", {{"user_id", "00uStaged00000000001"}, {"send_email", false}},
                     staged + "/lifecycle/activate") == 1);
  CHECK(posts_on_5xx(f, "okta.reactivate_user", {{"user_id", "00uStaged00000000001"}}, staged + "/lifecycle/reactivate") == 1);

  // The same change twice is the same state.
  CHECK(posts_on_5xx(f, "okta.update_user_profile", {{"user_id", "00uActive00000000001"}, {"profile", {{"title", "T"}}}},
                     active) == kAttempts);
  CHECK(posts_on_5xx(f, "okta.expire_password", {{"user_id", "00uActive00000000001"}}, active + "/lifecycle/expire_password") ==
        kAttempts);
  CHECK(posts_on_5xx(f, "okta.reset_factors", {{"user_id", "00uActive00000000001"}}, active + "/lifecycle/reset_factors") ==
        kAttempts);
  CHECK(posts_on_5xx(f, "okta.reset_password", {{"user_id", "00uActive00000000001"}, {"send_email", false}},
                     active + "/lifecycle/reset_password") == kAttempts);

  // Not repeatable: a second copy would do something again, or fail where the first succeeded.
  CHECK(posts_on_5xx(f, "okta.reset_password", {{"user_id", "00uActive00000000001"}, {"send_email", true}},
                     active + "/lifecycle/reset_password") == 1);
  CHECK(posts_on_5xx(f, "okta.change_password",
                     {{"user_id", "00uActive00000000001"}, {"old_password", "Active-Passw0rd-1"}, {"new_password", "New-Passw0rd-22"}},
                     active + "/credentials/change_password") == 1);
  CHECK(posts_on_5xx(f, "okta.set_password", {{"user_id", "00uActive00000000001"}, {"password", "New-Passw0rd-22"}}, active) == 1);
  CHECK(posts_on_5xx(f, "okta.create_event_hook",
                     {{"name", "h"}, {"url", "https://hooks.example.com/x"}, {"events", {"user.lifecycle.create"}}},
                     "/api/v1/eventHooks") == 1);
}
