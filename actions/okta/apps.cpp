// okta.* application actions: apps, their user and group assignments, a user's app links.
#include <optional>
#include <string>

#include "okta/okta_action.hpp"
#include "okta/user_ref.hpp"

namespace spokeflow::okta {
namespace asio = boost::asio;

namespace {

using connect::ApiRequest;

std::string app_path(const Call& c) { return "/api/v1/apps/" + seg(c.in()["app_id"]); }

// True when the error text names `what` (Okta's E0000007 summaries end with "(<type>)").
bool names_type(const Error& e, const std::string& what) {
  const std::string tag = "(" + what + ")";
  if (e.message.find(tag) != std::string::npos) return true;
  return e.details.is_object() && e.details.value("errorSummary", std::string()).find(tag) != std::string::npos;
}

Json app_outputs(Json app) {
  Json out = Json::object();
  out["app_id"] = app.is_object() ? app.value("id", Json()) : Json();
  out["label"] = app.is_object() ? app.value("label", Json()) : Json();
  out["status"] = app.is_object() ? app.value("status", Json()) : Json();
  out["app"] = std::move(app);
  return out;
}

asio::awaitable<Result<Json>> list_apps(Call& c) {
  const Json& in = c.in();
  ApiRequest req = request("GET", "/api/v1/apps");
  if (in.contains("q")) req.query.emplace_back("q", in["q"].get<std::string>());
  int relations = 0;
  std::string filter;
  if (in.contains("filter")) {
    filter = in["filter"].get<std::string>();
    ++relations;
  }
  // Okta reads user.id / group.id as the only term of a filter, so each is its own input.
  if (in.contains("user_id")) {
    filter = "user.id eq " + filter_literal(in["user_id"].get<std::string>());
    ++relations;
  }
  if (in.contains("group_id")) {
    filter = "group.id eq " + filter_literal(in["group_id"].get<std::string>());
    ++relations;
  }
  if (relations > 1)
    co_return Error::make(ErrorKind::validation,
                          "okta.list_apps: give at most one of `filter`, `user_id` and `group_id` (Okta accepts a "
                          "user.id or group.id condition only on its own)");
  if (!filter.empty()) req.query.emplace_back("filter", filter);
  auto r = co_await c.list(std::move(req));
  co_return r;
}

asio::awaitable<Result<Json>> get_app(Call& c) {
  auto r = co_await c.send(request("GET", app_path(c)));
  if (!r.ok()) co_return r.error();
  co_return c.finish(app_outputs(std::move(r->json)));
}

asio::awaitable<Result<Json>> list_app_users(Call& c) {
  auto r = co_await c.list(request("GET", app_path(c) + "/users"));
  co_return r;
}

asio::awaitable<Result<Json>> list_app_groups(Call& c) {
  auto r = co_await c.list(request("GET", app_path(c) + "/groups"));
  co_return r;
}

Json assignment_outputs(const Call& c, const std::string& uid, Json assignment, bool already) {
  return {{"app_id", c.in()["app_id"]}, {"user_id", uid}, {"assignment", std::move(assignment)}, {"already", already}};
}

// Okta answers a second assignment with 200 and overwrites it (an assignment without a
// profile then loses the one it had), so the current assignment is read first: an assigned
// user is left alone, or only the given credentials/profile are merged into it.
asio::awaitable<Result<Json>> assign_user_to_app(Call& c) {
  const Json& in = c.in();
  auto found = co_await user_id_of(c, in["user_id"]);
  if (!found.ok()) co_return found.error();
  const std::string uid = *found;
  const std::string user_path = app_path(c) + "/users/" + connect::escape_path_segment(uid);
  auto cur = co_await c.send(request("GET", user_path));
  if (cur.ok()) {
    if (!in.contains("credentials") && !in.contains("profile"))
      co_return c.finish(assignment_outputs(c, uid, std::move(cur->json), true));
    Json body = Json::object();
    if (in.contains("credentials")) body["credentials"] = in["credentials"];
    if (in.contains("profile")) body["profile"] = in["profile"];
    // The same credentials/profile merged twice leave the same assignment.
    auto upd = co_await c.send(repeatable(request("POST", user_path, body)));
    if (!upd.ok()) co_return upd.error();
    co_return c.finish(assignment_outputs(c, uid, std::move(upd->json), true));
  }
  // Not assigned reads as 404 "(AppUser)"; an unknown app is an error worth stopping for.
  if (cur.error().kind != ErrorKind::okta || cur.error().code != "E0000007" || names_type(cur.error(), "AppInstance"))
    co_return cur.error();
  Json body = {{"id", uid}, {"scope", in.value("scope", std::string("USER"))}};
  if (in.contains("credentials")) body["credentials"] = in["credentials"];
  if (in.contains("profile")) body["profile"] = in["profile"];
  // Okta answers a second identical assignment with 200 and the same assignment.
  auto r = co_await c.send(repeatable(request("POST", app_path(c) + "/users", body)));
  if (!r.ok()) co_return r.error();
  co_return c.finish(assignment_outputs(c, uid, std::move(r->json), false));
}

asio::awaitable<Result<Json>> revoke_user_app_access(Call& c) {
  const Json& in = c.in();
  auto found = co_await user_id_of(c, in["user_id"]);
  if (!found.ok()) co_return found.error();
  const std::string uid = *found;
  ApiRequest req = request("DELETE", app_path(c) + "/users/" + connect::escape_path_segment(uid));
  req.query.emplace_back("sendEmail", in.value("send_email", false) ? "true" : "false");
  auto r = co_await c.send(std::move(req));
  Json out = {{"app_id", in["app_id"]}, {"user_id", uid}, {"already", false}};
  if (r.ok()) co_return c.finish(std::move(out));
  // "Not assigned" is Okta's 404 naming an AppUser; a missing app must not look like success.
  if (names_type(r.error(), "AppInstance") || !c.already(r.error(), {"E0000007"})) co_return r.error();
  out["already"] = true;
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> assign_group_to_app(Call& c) {
  const Json& in = c.in();
  Json body = Json::object();
  if (in.contains("priority")) body["priority"] = in["priority"];
  if (in.contains("profile")) body["profile"] = in["profile"];
  auto r = co_await c.send(request("PUT", app_path(c) + "/groups/" + seg(in["group_id"]), body));
  if (!r.ok()) co_return r.error();
  // A PUT of an existing assignment answers 200 too: `already` cannot be told from Okta's answer.
  co_return c.finish(
      {{"app_id", in["app_id"]}, {"group_id", in["group_id"]}, {"assignment", std::move(r->json)}, {"already", false}});
}

asio::awaitable<Result<Json>> unassign_group_from_app(Call& c) {
  const Json& in = c.in();
  auto r = co_await c.send(request("DELETE", app_path(c) + "/groups/" + seg(in["group_id"])));
  Json out = {{"app_id", in["app_id"]}, {"group_id", in["group_id"]}, {"already", false}};
  if (r.ok()) co_return c.finish(std::move(out));
  if (names_type(r.error(), "AppInstance") || !c.already(r.error(), {"E0000007"})) co_return r.error();
  out["already"] = true;
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> list_user_app_links(Call& c) {
  // Not paginated in Okta: one answer holds every link (a page_size is sent only when given).
  auto r = co_await c.list(request("GET", "/api/v1/users/" + seg(c.in()["user_id"]) + "/appLinks"), {}, 0);
  co_return r;
}

}  // namespace

void register_apps(ActionRegistry& registry, const ConnectionsPtr& connections) {
  registry.add(make_action("actions/okta/list_apps.json", connections, &list_apps));
  registry.add(make_action("actions/okta/get_app.json", connections, &get_app));
  registry.add(make_action("actions/okta/list_app_users.json", connections, &list_app_users));
  registry.add(make_action("actions/okta/list_app_groups.json", connections, &list_app_groups));
  registry.add(make_action("actions/okta/assign_user_to_app.json", connections, &assign_user_to_app));
  registry.add(make_action("actions/okta/revoke_user_app_access.json", connections, &revoke_user_app_access));
  registry.add(make_action("actions/okta/assign_group_to_app.json", connections, &assign_group_to_app));
  registry.add(make_action("actions/okta/unassign_group_from_app.json", connections, &unassign_group_from_app));
  registry.add(make_action("actions/okta/list_user_app_links.json", connections, &list_user_app_links));
}

}  // namespace spokeflow::okta
