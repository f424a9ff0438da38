// okta.* actions on a user's credentials and factors: change or set a password, expire it,
// reset it to a temporary one, send a recovery link, reset and list MFA factors. Passwords,
// temporary passwords and recovery links are x-sensitive in the schemas, so the engine seals
// them in records and scrubs them from logs; this file never logs or formats them.
#include <algorithm>
#include <string>

#include "okta/okta_action.hpp"
#include "okta/user_common.hpp"

namespace spokeflow::okta {
namespace asio = boost::asio;
using connect::ApiRequest;

namespace {

constexpr int kDefaultMaxItems = 1000;

void add_strict(const Json& in, ApiRequest& req) {
  if (in.contains("strict")) req.query.emplace_back("strict", flag(in["strict"].get<bool>()));
}

asio::awaitable<Result<Json>> change_password(Call& c) {
  const Json& in = c.in();
  // Not repeatable: once it landed, the old password no longer holds.
  ApiRequest req = request("POST", user_path(in["user_id"]) + "/credentials/change_password");
  add_strict(in, req);
  req.json_body = Json{{"oldPassword", {{"value", in["old_password"]}}}, {"newPassword", {{"value", in["new_password"]}}}};
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json out = {{"user_id", in["user_id"]},
              {"credentials", r->json.is_object() ? std::move(r->json) : Json::object()}};
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> set_password(Call& c) {
  const Json& in = c.in();
  // The admin path: a partial update of the user's credentials, no current password needed.
  // Not repeatable: a password policy may refuse the password just set as "recently used".
  ApiRequest req = request("POST", user_path(in["user_id"]));
  add_strict(in, req);
  req.json_body = Json{{"credentials", {{"password", {{"value", in["password"]}}}}}};
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  auto user = object_body(*r, "okta.set_password");
  if (!user.ok()) co_return user.error();
  co_return c.finish(user_outputs(std::move(*user)));
}

asio::awaitable<Result<Json>> expire_password(Call& c) {
  // Expiring an expired password changes nothing; the answer is the user either way.
  ApiRequest req = repeatable(request("POST", user_path(c.in()["user_id"]) + "/lifecycle/expire_password"));
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  auto user = object_body(*r, "okta.expire_password");
  if (!user.ok()) co_return user.error();
  co_return c.finish(user_outputs(std::move(*user)));
}

asio::awaitable<Result<Json>> reset_to_temporary_password(Call& c) {
  const Json& in = c.in();
  // A repeat replaces the first temporary password, which no one has seen, and returns the one
  // that holds.
  ApiRequest req =
      repeatable(request("POST", user_path(in["user_id"]) + "/lifecycle/expire_password_with_temp_password"));
  if (in.value("revoke_sessions", false)) req.query.emplace_back("revokeSessions", "true");
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  const Json& body = r->json;
  if (!body.is_object() || !body.contains("tempPassword") || !body["tempPassword"].is_string())
    co_return Error::make(ErrorKind::http, "okta.reset_to_temporary_password: Okta answered HTTP " +
                                               std::to_string(r->status) + " without a tempPassword");
  Json out = {{"user_id", in["user_id"]}, {"status", "PASSWORD_EXPIRED"}, {"temp_password", body["tempPassword"]}};
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> reset_password(Call& c) {
  const Json& in = c.in();
  const bool send_email = in.value("send_email", true);
  // Without the email, a repeat returns a fresh reset link in place of one no one has seen; with
  // it, the user would get two emails.
  ApiRequest req = repeatable(request("POST", user_path(in["user_id"]) + "/lifecycle/reset_password"), !send_email);
  req.query.emplace_back("sendEmail", flag(send_email));
  if (in.value("revoke_sessions", false)) req.query.emplace_back("revokeSessions", "true");
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json out = {{"user_id", in["user_id"]}, {"status", "RECOVERY"}};
  if (!send_email && r->json.is_object())
    if (auto u = r->json.find("resetPasswordUrl"); u != r->json.end() && u->is_string()) out["reset_password_url"] = *u;
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> reset_factors(Call& c) {
  const Json& in = c.in();
  // Resetting reset factors changes nothing.
  ApiRequest req = repeatable(request("POST", user_path(in["user_id"]) + "/lifecycle/reset_factors"));
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json out = {{"user_id", in["user_id"]}, {"reset", true}};
  co_return c.finish(std::move(out));
}

// Okta answers this one unpaged (no `limit`, no Link), so the list shape is filled in here:
// one page, no cursor; `max_items` still caps a plain step.
asio::awaitable<Result<Json>> list_user_factors(Call& c) {
  const Json& in = c.in();
  if (in.contains("after") && in["after"].is_string()) {
    Error e = Error::make(ErrorKind::validation, "okta.list_user_factors: after: this list is not paged (its `next` is "
                                                 "always null), so no cursor continues it");
    e.details = {{"input", "after"}};
    co_return e;
  }
  ApiRequest req = request("GET", user_path(in["user_id"]) + "/factors");
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json& body = r->json;
  if (!body.is_array())
    co_return Error::make(ErrorKind::http, "okta.list_user_factors: expected a JSON list from Okta (HTTP " +
                                               std::to_string(r->status) + "), got " + body.type_name());
  const bool stream = in.value("stream", false);
  const auto max_items = static_cast<std::size_t>(std::max(0, in.value("max_items", kDefaultMaxItems)));
  bool truncated = false;
  if (!stream && body.size() > max_items) {
    body.erase(body.begin() + static_cast<std::ptrdiff_t>(max_items), body.end());
    truncated = true;
  }
  Json out = {{"count", body.size()}, {"truncated", truncated}, {"next", nullptr}};
  out["items"] = std::move(body);
  co_return c.finish(std::move(out));
}

}  // namespace

void register_passwords(ActionRegistry& registry, const ConnectionsPtr& connections) {
  registry.add(make_action("actions/okta/change_password.json", connections, &change_password));
  registry.add(make_action("actions/okta/set_password.json", connections, &set_password));
  registry.add(make_action("actions/okta/expire_password.json", connections, &expire_password));
  registry.add(make_action("actions/okta/reset_to_temporary_password.json", connections, &reset_to_temporary_password));
  registry.add(make_action("actions/okta/reset_password.json", connections, &reset_password));
  registry.add(make_action("actions/okta/reset_factors.json", connections, &reset_factors));
  registry.add(make_action("actions/okta/list_user_factors.json", connections, &list_user_factors));
}

}  // namespace spokeflow::okta
