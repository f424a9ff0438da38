#pragma once
// Okta's group membership and app assignment endpoints take a user id only, while flows often
// hold a login (an email from a form, an HR feed). A value that is not shaped like an id is
// read once (GET /api/v1/users/{login}) to find the id.
#include <boost/asio/awaitable.hpp>
#include <cctype>
#include <string>

#include "okta/okta_action.hpp"

namespace spokeflow::okta {

inline bool looks_like_user_id(const std::string& v) {
  if (v.size() != 20 || v.rfind("00u", 0) != 0) return false;
  for (char ch : v)
    if (!std::isalnum(static_cast<unsigned char>(ch))) return false;
  return true;
}

inline boost::asio::awaitable<Result<std::string>> user_id_of(Call& c, const Json& id_or_login) {
  const std::string v = id_or_login.get<std::string>();
  if (looks_like_user_id(v)) co_return v;
  connect::ApiRequest req;
  req.method = "GET";
  req.path = "/api/v1/users/" + seg(id_or_login);
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  if (!r->json.is_object() || !r->json.contains("id") || !r->json["id"].is_string())
    co_return Error::make(ErrorKind::http, "okta: reading user " + v + " answered no id");
  co_return r->json["id"].get<std::string>();
}

}  // namespace spokeflow::okta
