// okta.* actions on users and their lifecycle: create, read, look up, update, list, activate,
// suspend, unlock, deactivate, delete... Each is a few Okta calls; where Okta refuses because
// the goal is already reached, the action converges (`if_already`) so that a retried or resumed
// flow does not fail on work it already did.
#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "okta/okta_action.hpp"
#include "okta/user_common.hpp"

namespace spokeflow::okta {
namespace asio = boost::asio;
using connect::ApiRequest;
using connect::ApiResponse;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string login_of(const Json& user) {
  if (!user.is_object()) return {};
  auto p = user.find("profile");
  if (p == user.end() || !p->is_object()) return {};
  auto l = p->find("login");
  return l != p->end() && l->is_string() ? l->get<std::string>() : std::string();
}

// ---------------------------------------------------------------------------------------------

asio::awaitable<Result<Json>> create_user(Call& c) {
  const Json& in = c.in();
  const bool activate = in.value("activate", false);
  const bool expire = in.value("next_login_change_password", false);
  if (expire && !activate)
    co_return Error::make(ErrorKind::validation,
                          "okta.create_user: next_login_change_password needs activate: true (Okta only expires the "
                          "password of a user it activates at creation)");
  if (expire && !in.contains("password"))
    co_return Error::make(ErrorKind::validation,
                          "okta.create_user: next_login_change_password needs a password to expire; give `password`");

  ApiRequest req = request("POST", "/api/v1/users");
  req.query.emplace_back("activate", flag(activate));
  Json body = Json::object();
  body["profile"] = in["profile"];
  Json cred = Json::object();
  if (in.contains("password")) cred["password"] = {{"value", in["password"]}};
  if (in.contains("recovery_question"))
    cred["recovery_question"] = {{"question", in["recovery_question"]}, {"answer", in.value("recovery_answer", "")}};
  if (in.contains("provider")) {
    const Json& p = in["provider"];
    cred["provider"] = {{"type", p["type"]}, {"name", p.contains("name") ? p["name"] : p["type"]}};
    req.query.emplace_back("provider", "true");
  }
  if (!cred.empty()) body["credentials"] = std::move(cred);
  if (in.contains("group_ids") && !in["group_ids"].empty()) body["groupIds"] = in["group_ids"];
  if (expire) req.query.emplace_back("nextLogin", "changePassword");
  req.json_body = std::move(body);
  // A second create is refused (the login exists) and converges below.
  req.safe_to_repeat = c.converges();

  auto r = co_await c.send(std::move(req));
  if (r.ok()) {
    auto user = object_body(*r, "okta.create_user");
    if (!user.ok()) co_return user.error();
    Json out = user_outputs(std::move(*user));
    out["already"] = false;
    co_return c.finish(std::move(out));
  }
  // A retried or resumed step finds the user its first attempt created: take it as is.
  if (!c.already(r.error(), {"E0000001"}, "login: An object with this field already exists")) co_return r.error();
  auto existing = co_await fetch_user(c, in["profile"]["login"]);
  if (!existing.ok()) co_return existing.error();
  Json out = user_outputs(std::move(*existing));
  out["already"] = true;
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> get_user(Call& c) {
  const Json& in = c.in();
  auto user = co_await fetch_user(c, in["user_id"]);
  if (!user.ok()) {
    if (in.value("if_missing", std::string("fail")) == "succeed" && is_not_found(user.error())) {
      Json out = {{"found", false}, {"user", nullptr}, {"user_id", nullptr}, {"status", nullptr},
                  {"login", nullptr},  {"profile", nullptr}};
      co_return c.finish(std::move(out));
    }
    co_return user.error();
  }
  Json profile = (*user).value("profile", Json::object());
  Json out = user_outputs(std::move(*user));
  out["found"] = true;
  out["profile"] = std::move(profile);
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> lookup_user_id(Call& c) {
  const Json& in = c.in();
  const bool by_login = in.contains("login");
  if (by_login == in.contains("short_name"))
    co_return Error::make(ErrorKind::validation, "okta.lookup_user_id: give exactly one of `login` or `short_name`");

  ApiRequest req = request("GET", "/api/v1/users");
  std::function<bool(const Json&)> keep;
  std::string wanted;
  if (by_login) {
    wanted = in["login"].get<std::string>();
    // `filter` (unlike the default listing) includes deactivated users, and is exact.
    req.query.emplace_back("filter", "profile.login eq " + filter_literal(wanted));
    keep = [wanted](const Json& u) { return iequals(login_of(u), wanted); };
  } else {
    wanted = in["short_name"].get<std::string>();
    req.query.emplace_back("search", "profile.login sw " + filter_literal(wanted + "@"));
    keep = [wanted](const Json& u) {
      const std::string login = login_of(u);
      const auto at = login.find('@');
      return at != std::string::npos && iequals(std::string_view(login).substr(0, at), wanted);
    };
  }
  auto r = co_await c.list(std::move(req), std::move(keep));
  if (!r.ok()) co_return r.error();
  Json& items = (*r)["items"];
  if (items.size() > 1) {
    std::string logins;
    Json all = Json::array();
    for (const auto& u : items) {
      all.push_back(login_of(u));
      if (all.size() <= 5) logins += (logins.empty() ? "" : ", ") + login_of(u);
    }
    if (items.size() > 5) logins += ", ...";
    Error e = Error::make(ErrorKind::validation,
                          "okta.lookup_user_id: " + std::string(by_login ? "login '" : "short name '") + wanted +
                              "' matches " + std::to_string(items.size()) + " users (" + logins +
                              "); give the full login to pick one");
    e.details = {{"count", items.size()}, {"logins", std::move(all)}};
    co_return e;
  }
  if (items.empty()) {
    Json out = {{"found", false}, {"user_id", nullptr}, {"login", nullptr}, {"status", nullptr}, {"user", nullptr}};
    co_return c.finish(std::move(out));
  }
  Json out = user_outputs(std::move(items[0]));
  out["found"] = true;
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> update_user_profile(Call& c) {
  const Json& in = c.in();
  Json profile = Json::object();
  Json cleared = Json::array();
  for (const auto& [key, value] : in["profile"].items()) {
    // A partial update keeps every property it does not name; naming one with null is how
    // Okta is told to clear it.
    if (value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty())) {
      profile[key] = nullptr;
      cleared.push_back(key);
    } else {
      profile[key] = value;
    }
  }
  // The same partial update twice leaves the same profile.
  ApiRequest req = repeatable(request("POST", user_path(in["user_id"])));
  req.json_body = Json{{"profile", std::move(profile)}};
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  auto user = object_body(*r, "okta.update_user_profile");
  if (!user.ok()) co_return user.error();
  Json out = user_outputs(std::move(*user));
  out["cleared"] = std::move(cleared);
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> list_users(Call& c) {
  const Json& in = c.in();
  ApiRequest req = request("GET", "/api/v1/users");
  for (const char* key : {"q", "filter", "search"})
    if (in.contains(key)) req.query.emplace_back(key, in[key].get<std::string>());
  if (in.contains("sort_by")) {
    req.query.emplace_back("sortBy", in["sort_by"].get<std::string>());
    req.query.emplace_back("sortOrder", in.value("sort_order", std::string("asc")));
  }
  auto r = co_await c.list(std::move(req));
  co_return r;
}

// Activation links are one-time secrets; they are only in Okta's answer when not emailed.
void copy_activation(const ApiResponse& resp, Json& out) {
  if (!resp.json.is_object()) return;
  if (auto u = resp.json.find("activationUrl"); u != resp.json.end() && u->is_string()) out["activation_url"] = *u;
  if (auto t = resp.json.find("activationToken"); t != resp.json.end() && t->is_string()) out["activation_token"] = *t;
}

// The step asked for the link (send_email: false) and got none: never succeed without it.
Error no_activation_link(const std::string& user, const std::string& why) {
  Error e = Error::make(ErrorKind::action,
                        "okta.activate_user: no activation link for user " + user + ": " + why +
                            ". The step asked for the link (send_email: false); use send_email: true to let Okta "
                            "email it instead",
                        "no_activation_link");
  e.details = {{"user_id", user}};
  return e;
}

// A retried or resumed activation whose first call landed: Okta refuses a second activate
// (E0000016) and the first answer's link is lost. A PROVISIONED user (activated, waiting for
// them to set a password) gets a fresh link from Okta's reactivate; any other status cannot
// have one. Returns the user as read, with the link in `out`.
asio::awaitable<Result<Json>> reissue_activation(Call& c, Json& out) {
  const std::string given = c.in()["user_id"].get<std::string>();
  auto user = co_await fetch_user(c, c.in()["user_id"]);
  if (!user.ok()) co_return user.error();
  const std::string id = (*user).value("id", given);
  const std::string status = (*user).value("status", "");
  if (status != "PROVISIONED")
    co_return no_activation_link(
        id, "it is already activated and its status is " + status +
                "; Okta reissues an activation link only for a PROVISIONED user (one still to set a password)");
  ApiRequest req = request("POST", user_path(Json(id)) + "/lifecycle/reactivate");
  req.query.emplace_back("sendEmail", "false");
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  copy_activation(*r, out);
  if (!out.contains("activation_url"))
    co_return no_activation_link(id, "Okta's answer to reactivate (POST .../lifecycle/reactivate?sendEmail=false) "
                                     "had no activationUrl");
  out["reissued"] = true;
  co_return user;
}

asio::awaitable<Result<Json>> activate_user(Call& c) {
  const Json& in = c.in();
  const bool send_email = in.value("send_email", true);
  // A repeat is refused (E0000016) and converges; but without the email, the first answer held
  // the only activation link, which a repeat cannot give back.
  ApiRequest req = repeatable(request("POST", user_path(in["user_id"]) + "/lifecycle/activate"), send_email && c.converges());
  req.query.emplace_back("sendEmail", flag(send_email));
  auto r = co_await c.send(std::move(req));
  Json out = Json::object();
  bool already = false;
  std::optional<Json> user;  // read on the way, when the link had to be reissued
  if (!r.ok()) {
    if (!c.already(r.error(), {"E0000016"})) co_return r.error();
    already = true;
    if (!send_email) {
      auto read = co_await reissue_activation(c, out);
      if (!read.ok()) co_return read.error();
      user = std::move(*read);
    }
  } else if (!send_email) {
    copy_activation(*r, out);
    if (!out.contains("activation_url"))
      co_return no_activation_link(in["user_id"].get<std::string>(),
                                   "Okta's answer to activate had no activationUrl");
  }
  const std::string rid = c.last_request_id();
  out["already"] = already;
  // Okta's answer does not say whether the user became ACTIVE or PROVISIONED (that depends
  // on whether they have a password): read it, unless the author said the status is not needed
  // (the read is a second call against the org's rate limits).
  if (!in.value("read_status", true)) {
    out["user_id"] = in["user_id"];
    co_return finish_with(c, std::move(out), rid);
  }
  if (!user) {
    auto read = co_await fetch_user(c, in["user_id"]);
    if (!read.ok()) co_return read.error();
    user = std::move(*read);
  }
  out["user_id"] = user->value("id", "");
  out["status"] = user->value("status", "");
  co_return finish_with(c, std::move(out), rid);
}

asio::awaitable<Result<Json>> reactivate_user(Call& c) {
  const Json& in = c.in();
  const bool send_email = in.value("send_email", false);
  // Not repeatable: each call issues a new activation (and email) in place of the last.
  ApiRequest req = request("POST", user_path(in["user_id"]) + "/lifecycle/reactivate");
  req.query.emplace_back("sendEmail", flag(send_email));
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json out = Json::object();
  if (!send_email) copy_activation(*r, out);
  const std::string rid = c.last_request_id();
  auto user = co_await fetch_user(c, in["user_id"]);
  if (!user.ok()) co_return user.error();
  out["user_id"] = (*user).value("id", "");
  out["status"] = (*user).value("status", "");
  co_return finish_with(c, std::move(out), rid);
}

asio::awaitable<Result<Json>> deactivate_user(Call& c) {
  const Json& in = c.in();
  // Deactivating a deactivated user is not refused (okta-sim answers 200 {}; no recording shows
  // Okta refusing it), so only a read tells whether the step has anything to do.
  auto user = co_await fetch_user(c, in["user_id"]);
  if (!user.ok()) co_return user.error();
  const std::string id = (*user).value("id", "");
  if ((*user).value("status", "") == "DEPROVISIONED") {
    if (in.value("if_already", std::string("succeed")) != "succeed") {
      Error e = Error::make(ErrorKind::action,
                            "okta.deactivate_user: user " + id +
                                " is already DEPROVISIONED and the step says if_already: fail (use "
                                "if_already: succeed to accept a deactivated user)",
                            "already");
      e.details = {{"user_id", id}, {"status", "DEPROVISIONED"}};
      co_return e;
    }
    Json out = {{"user_id", id}, {"status", "DEPROVISIONED"}, {"already", true}};
    co_return c.finish(std::move(out));
  }
  // Deactivating a deactivated user changes nothing, unless it is asked to email again.
  ApiRequest req = repeatable(request("POST", "/api/v1/users/" + connect::escape_path_segment(id) + "/lifecycle/deactivate"),
                              !in.value("send_email", false));
  req.query.emplace_back("sendEmail", flag(in.value("send_email", false)));
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json out = {{"user_id", id}, {"status", "DEPROVISIONED"}, {"already", false}};
  co_return c.finish(std::move(out));
}

// suspend and unsuspend: Okta refuses a user in the wrong status with a bare 400 E0000001
// whatever that status is, so the user is read to tell "already done" from "not possible".
asio::awaitable<Result<Json>> suspend_like(Call& c, const char* op, const char* result_status,
                                           bool (*done)(std::string_view status)) {
  const Json& in = c.in();
  // A repeat is refused (E0000001) and converges below.
  ApiRequest req = repeatable(request("POST", user_path(in["user_id"]) + "/lifecycle/" + op), c.converges());
  auto r = co_await c.send(std::move(req));
  if (r.ok()) {
    Json out = {{"user_id", in["user_id"]}, {"status", result_status}, {"already", false}};
    co_return c.finish(std::move(out));
  }
  if (!c.already(r.error(), {"E0000001"})) co_return r.error();
  const std::string rid = c.last_request_id();
  auto user = co_await fetch_user(c, in["user_id"]);
  if (!user.ok()) co_return user.error();
  const std::string status = (*user).value("status", "");
  if (!done(status)) co_return r.error();
  Json out = {{"user_id", in["user_id"]}, {"status", status}, {"already", true}};
  co_return finish_with(c, std::move(out), rid);
}

asio::awaitable<Result<Json>> suspend_user(Call& c) {
  auto r = co_await suspend_like(c, "suspend", "SUSPENDED", [](std::string_view s) { return s == "SUSPENDED"; });
  co_return r;
}

asio::awaitable<Result<Json>> unsuspend_user(Call& c) {
  // Activated and not suspended: what unsuspend leads to, or what a user moves on to after it.
  auto r = co_await suspend_like(c, "unsuspend", "ACTIVE", [](std::string_view s) {
    return s == "ACTIVE" || s == "PASSWORD_EXPIRED" || s == "LOCKED_OUT" || s == "RECOVERY";
  });
  co_return r;
}

asio::awaitable<Result<Json>> is_user_locked(Call& c) {
  auto user = co_await fetch_user(c, c.in()["user_id"]);
  if (!user.ok()) co_return user.error();
  Json out = user_outputs(std::move(*user));
  out.erase("user");
  out["locked"] = out["status"] == "LOCKED_OUT";
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> unlock_user(Call& c) {
  const Json& in = c.in();
  // A repeat is refused (E0000032) and converges below.
  ApiRequest req = repeatable(request("POST", user_path(in["user_id"]) + "/lifecycle/unlock"), c.converges());
  auto r = co_await c.send(std::move(req));
  if (r.ok()) {
    Json out = {{"user_id", in["user_id"]}, {"status", "ACTIVE"}, {"already", false}};
    co_return c.finish(std::move(out));
  }
  if (!c.already(r.error(), {"E0000032"})) co_return r.error();
  const std::string rid = c.last_request_id();
  auto user = co_await fetch_user(c, in["user_id"]);
  if (!user.ok()) co_return user.error();
  Json out = {{"user_id", in["user_id"]}, {"status", (*user).value("status", "")}, {"already", true}};
  co_return finish_with(c, std::move(out), rid);
}

asio::awaitable<Result<Json>> delete_user(Call& c) {
  const Json& in = c.in();
  const bool succeed_if_gone = in.value("if_already", std::string("succeed")) == "succeed";
  auto gone = [&c, &in]() {
    Json out = {{"user_id", in["user_id"]}, {"deleted", true}, {"previous_status", nullptr}, {"already", true}};
    return c.finish(std::move(out));
  };
  auto user = co_await fetch_user(c, in["user_id"]);
  if (!user.ok()) {
    if (succeed_if_gone && is_not_found(user.error())) co_return gone();
    co_return user.error();
  }
  const std::string id = (*user).value("id", "");
  const std::string previous = (*user).value("status", "");
  const std::string path = "/api/v1/users/" + connect::escape_path_segment(id);
  const std::string send_email = flag(in.value("send_email", false));
  // Okta's DELETE on a user who is not DEPROVISIONED only deactivates them; the second removes.
  const int deletes = previous == "DEPROVISIONED" ? 1 : 2;
  for (int i = 0; i < deletes; ++i) {
    ApiRequest req = request("DELETE", path);
    req.query.emplace_back("sendEmail", send_email);
    auto r = co_await c.send(std::move(req));
    if (!r.ok()) {
      // Someone else finished the job between our read and our delete.
      if (succeed_if_gone && is_not_found(r.error())) co_return gone();
      co_return r.error();
    }
  }
  Json out = {{"user_id", id}, {"deleted", true}, {"previous_status", previous}, {"already", false}};
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> clear_user_sessions(Call& c) {
  const Json& in = c.in();
  ApiRequest req = request("DELETE", user_path(in["user_id"]) + "/sessions");
  req.query.emplace_back("oauthTokens", flag(in.value("oauth_tokens", false)));
  if (in.contains("forget_devices")) req.query.emplace_back("forgetDevices", flag(in["forget_devices"].get<bool>()));
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  Json out = {{"user_id", in["user_id"]}, {"cleared", true}};
  co_return c.finish(std::move(out));
}

}  // namespace

void register_users(ActionRegistry& registry, const ConnectionsPtr& connections) {
  registry.add(make_action("actions/okta/create_user.json", connections, &create_user));
  registry.add(make_action("actions/okta/get_user.json", connections, &get_user));
  registry.add(make_action("actions/okta/lookup_user_id.json", connections, &lookup_user_id));
  registry.add(make_action("actions/okta/update_user_profile.json", connections, &update_user_profile));
  registry.add(make_action("actions/okta/list_users.json", connections, &list_users));
  registry.add(make_action("actions/okta/activate_user.json", connections, &activate_user));
  registry.add(make_action("actions/okta/reactivate_user.json", connections, &reactivate_user));
  registry.add(make_action("actions/okta/deactivate_user.json", connections, &deactivate_user));
  registry.add(make_action("actions/okta/suspend_user.json", connections, &suspend_user));
  registry.add(make_action("actions/okta/unsuspend_user.json", connections, &unsuspend_user));
  registry.add(make_action("actions/okta/is_user_locked.json", connections, &is_user_locked));
  registry.add(make_action("actions/okta/unlock_user.json", connections, &unlock_user));
  registry.add(make_action("actions/okta/delete_user.json", connections, &delete_user));
  registry.add(make_action("actions/okta/clear_user_sessions.json", connections, &clear_user_sessions));
}

}  // namespace spokeflow::okta
