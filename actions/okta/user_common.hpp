#pragma once
// Small pieces shared by the user and password actions (users.cpp, passwords.cpp).
#include <boost/asio/awaitable.hpp>
#include <string>
#include <utility>

#include "okta/okta_action.hpp"

namespace spokeflow::okta {

inline const char* flag(bool b) { return b ? "true" : "false"; }

inline std::string user_path(const Json& id_or_login) { return "/api/v1/users/" + seg(id_or_login); }

inline bool is_not_found(const Error& e) { return e.kind == ErrorKind::okta && e.code == "E0000007"; }

// The JSON object Okta answered, or an error naming the action when it answered something else.
inline Result<Json> object_body(connect::ApiResponse& resp, const char* action) {
  if (!resp.json.is_object())
    return Error::make(ErrorKind::http, std::string(action) + ": expected a JSON object from Okta (HTTP " +
                                            std::to_string(resp.status) + "), got " + resp.json.type_name());
  return std::move(resp.json);
}

// The handy scalars user actions return beside the user object: user_id, status, login.
inline Json user_outputs(Json user) {
  Json out = Json::object();
  if (!user.is_object()) user = Json::object();
  out["user_id"] = user.value("id", "");
  out["status"] = user.value("status", "");
  std::string login;
  if (auto p = user.find("profile"); p != user.end() && p->is_object()) login = p->value("login", "");
  out["login"] = std::move(login);
  out["user"] = std::move(user);
  return out;
}

// GET /api/v1/users/{id or login}.
inline boost::asio::awaitable<Result<Json>> fetch_user(Call& c, const Json& id_or_login) {
  connect::ApiRequest req = request("GET", user_path(id_or_login));
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  auto user = object_body(*r, "okta: reading a user");
  co_return user;
}

// Outputs whose okta_request_id is the request that did the work (`rid`), not a read after it.
inline Json finish_with(const Call& c, Json outputs, const std::string& rid) {
  Json out = c.finish(std::move(outputs));
  if (!rid.empty()) out["okta_request_id"] = rid;
  return out;
}

}  // namespace spokeflow::okta
