// okta-sim: the user record and /api/v1/users itself: lookup, JSON rendering, profile
// validation, create, list/search, update and delete. One user's URL tree is routed in
// user_item.cpp; lifecycle, credentials and factors have their own files.
#include <algorithm>

#include "filter.hpp"
#include "sim.hpp"
#include "users_internal.hpp"

namespace oktasim {

namespace {

const std::vector<std::string>& base_properties() {
  static const std::vector<std::string> p = {
      "login",          "email",           "secondEmail",     "firstName",  "lastName",     "middleName",
      "honorificPrefix", "honorificSuffix", "title",           "displayName", "nickName",     "profileUrl",
      "primaryPhone",   "mobilePhone",     "streetAddress",   "city",       "state",        "zipCode",
      "postalAddress",  "countryCode",     "preferredLanguage", "locale",   "timezone",     "userType",
      "employeeNumber", "costCenter",      "organization",    "division",   "department",   "managerId",
      "manager"};
  return p;
}

bool looks_like_email(const std::string& s) {
  const auto at = s.find('@');
  return at != std::string::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == std::string::npos &&
         s.find(' ') == std::string::npos;
}

}  // namespace

bool truthy(const Query& q, const char* key, bool def) {
  const auto* v = query_get(q, key);
  if (!v) return def;
  return !(iequals(*v, "false") || *v == "0");
}

User* Sim::find_user(const std::string& id_or_login) {
  auto it = users_.find(id_or_login);
  if (it != users_.end()) return &it->second;
  auto li = login_index_.find(lower(id_or_login));
  if (li != login_index_.end()) {
    auto jt = users_.find(li->second);
    if (jt != users_.end()) return &jt->second;
  }
  return nullptr;
}

std::vector<std::string> Sim::user_group_ids(const User& u) const {
  std::vector<std::string> r;
  for (const auto& [seq, gid] : group_order_) {
    const auto& g = groups_.at(gid);
    if (g.members.count(u.seq)) r.push_back(gid);
  }
  return r;
}

json Sim::user_json(const User& u, bool with_links) const {
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  json profile = u.profile;
  if (!profile.contains("mobilePhone")) profile["mobilePhone"] = nullptr;
  if (!profile.contains("secondEmail")) profile["secondEmail"] = nullptr;
  json cred = json::object();
  if (u.password) cred["password"] = json::object();
  if (profile.contains("email") && profile["email"].is_string())
    cred["emails"] = json::array({{{"value", profile["email"]}, {"status", "VERIFIED"}, {"type", "PRIMARY"}}});
  if (u.recovery_question) cred["recovery_question"] = {{"question", *u.recovery_question}};
  cred["provider"] = {{"type", u.provider_type}, {"name", u.provider_name}};
  json j = {{"id", u.id},
            {"status", u.status},
            {"created", u.created},
            {"activated", opt(u.activated)},
            {"statusChanged", opt(u.statusChanged)},
            {"lastLogin", opt(u.lastLogin)},
            {"lastUpdated", u.lastUpdated},
            {"passwordChanged", opt(u.passwordChanged)},
            {"realmId", "guo" + org_type_id_.substr(3)},
            {"type", {{"id", org_type_id_}}},
            {"profile", profile},
            {"credentials", cred}};
  if (u.transitioning) j["transitioningToStatus"] = *u.transitioning;
  const std::string self = base_ + "/api/v1/users/" + u.id;
  json links = {{"self", {{"href", self}}}};
  if (with_links) {
    auto op = [&](const char* name, const std::string& path) {
      links[name] = {{"href", self + path}, {"method", "POST"}};
    };
    links["schema"] = {{"href", base_ + "/api/v1/meta/schemas/user/" + org_schema_id_}};
    links["type"] = {{"href", base_ + "/api/v1/meta/types/user/" + org_type_id_}};
    const std::string& s = u.status;
    if (s == "STAGED" || s == "DEPROVISIONED") op("activate", "/lifecycle/activate");
    if (s == "PROVISIONED" || s == "RECOVERY") op("reactivate", "/lifecycle/reactivate");
    if (s == "ACTIVE") op("suspend", "/lifecycle/suspend");
    if (s == "SUSPENDED") op("unsuspend", "/lifecycle/unsuspend");
    if (s == "LOCKED_OUT") op("unlock", "/lifecycle/unlock");
    if (s != "STAGED" && s != "DEPROVISIONED" && s != "SUSPENDED") op("resetPassword", "/lifecycle/reset_password");
    if (s == "ACTIVE" || s == "PASSWORD_EXPIRED" || s == "LOCKED_OUT" || s == "RECOVERY")
      op("expirePassword", "/lifecycle/expire_password");
    if (s == "ACTIVE" && u.password) {
      op("forgotPassword", "/credentials/forgot_password");
      op("changePassword", "/credentials/change_password");
      op("changeRecoveryQuestion", "/credentials/change_recovery_question");
    }
    if (s != "DEPROVISIONED") {
      op("resetFactors", "/lifecycle/reset_factors");
      op("deactivate", "/lifecycle/deactivate");
    }
  }
  j["_links"] = links;
  return j;
}

bool Sim::validate_profile(const json& profile, std::vector<std::string>& causes, bool require_base) const {
  if (!profile.is_object()) {
    causes.push_back("profile: The field cannot be left blank");
    return false;
  }
  const auto& base = base_properties();
  for (auto it = profile.begin(); it != profile.end(); ++it) {
    const bool known = std::find(base.begin(), base.end(), it.key()) != base.end() || custom_schema_.contains(it.key());
    if (!known) causes.push_back("Property name '" + it.key() + "' is not defined in profile");
  }
  if (!causes.empty()) return false;
  if (require_base) {
    for (const char* f : {"login", "email", "firstName", "lastName"}) {
      if (!profile.contains(f) || !profile[f].is_string() || trim(profile[f].get<std::string>()).empty())
        causes.push_back(std::string(f) + ": The field cannot be left blank");
    }
  }
  for (const char* f : {"login", "email", "secondEmail"}) {
    if (profile.contains(f) && profile[f].is_string() && !profile[f].get<std::string>().empty()) {
      const std::string v = profile[f].get<std::string>();
      if (std::string(f) == "login" && !looks_like_email(v))
        causes.push_back("login: Username must be in the form of an email address");
      else if (std::string(f) != "login" && !looks_like_email(v))
        causes.push_back(std::string(f) + ": Does not match required pattern");
    }
  }
  for (auto it = profile.begin(); it != profile.end(); ++it) {
    if (it.value().is_null()) continue;
    const bool is_base = std::find(base.begin(), base.end(), it.key()) != base.end();
    std::string type = "string";
    if (!is_base) type = custom_schema_[it.key()].value("type", "string");
    bool ok = true;
    if (type == "string") ok = it.value().is_string();
    else if (type == "boolean") ok = it.value().is_boolean();
    else if (type == "integer") ok = it.value().is_number_integer();
    else if (type == "number") ok = it.value().is_number();
    else if (type == "array") ok = it.value().is_array();
    if (!ok) causes.push_back(it.key() + ": Does not match required type " + type);
  }
  return causes.empty();
}

// ---------------------------------------------------------------- /api/v1/users

Response Sim::users_collection(const Request& req, const Query& q) {
  if (req.method == "GET") return list_users(req, q);
  if (req.method == "POST") return create_user(req, q);
  return method_not_allowed();
}

Response Sim::create_user(const Request& req, const Query& q) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  if (!body.contains("profile")) return validation("newUser", {"profile: The field cannot be left blank"});
  const json& profile = body["profile"];
  std::vector<std::string> causes;
  if (!validate_profile(profile, causes, true)) {
    const bool unknown = causes.front().rfind("Property name", 0) == 0;
    return validation(unknown ? "newUser" : causes.front().substr(0, causes.front().find(':')), causes);
  }
  const std::string login = profile["login"].get<std::string>();
  if (login_index_.count(lower(login)))
    return validation("login", {"login: An object with this field already exists in the current organization"});

  const json cred = body.value("credentials", json::object());
  if (!cred.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  std::optional<std::string> password;
  bool hashed = false;
  if (cred.contains("password") && cred["password"].is_object()) {
    const auto& pw = cred["password"];
    if (pw.contains("value") && pw["value"].is_string()) {
      const std::string v = pw["value"].get<std::string>();
      if (!password_ok(v, profile)) return validation("password", {kPasswordRules});
      password = v;
    } else if (pw.contains("hash") && pw["hash"].is_object()) {
      password = pw["hash"].value("value", "");
      hashed = true;
    }
  }
  std::vector<std::string> group_ids;
  if (body.contains("groupIds")) {
    if (!body["groupIds"].is_array()) return validation("groupIds", {"groupIds: must be an array"});
    for (const auto& g : body["groupIds"]) {
      if (!g.is_string() || !find_group(g.get<std::string>()))
        return not_found(g.is_string() ? g.get<std::string>() : g.dump(-1, ' ', false, json::error_handler_t::replace), "UserGroup");
      group_ids.push_back(g.get<std::string>());
    }
  }
  const bool activate = truthy(q, "activate", true);
  const bool provider = truthy(q, "provider", false);
  const auto* next_login = query_get(q, "nextLogin");

  User u;
  u.id = new_id("00u");
  u.seq = next_seq();
  seq_of_[u.id] = u.seq;
  const std::string now = iso_now();
  u.created = u.lastUpdated = now;
  u.statusChanged = now;
  u.type_id = org_type_id_;
  u.profile = profile;
  for (auto it = u.profile.begin(); it != u.profile.end();) {
    if (it.value().is_null() && it.key() != "mobilePhone" && it.key() != "secondEmail") it = u.profile.erase(it);
    else ++it;
  }
  u.password = password;
  u.password_hashed = hashed;
  if (password) u.passwordChanged = now;
  if (cred.contains("recovery_question") && cred["recovery_question"].is_object()) {
    u.recovery_question = cred["recovery_question"].value("question", "");
    u.recovery_answer = cred["recovery_question"].value("answer", "");
  }
  if (cred.contains("provider") && cred["provider"].is_object()) {
    u.provider_type = cred["provider"].value("type", "OKTA");
    u.provider_name = cred["provider"].value("name", "OKTA");
  }
  if (provider) {
    u.status = "ACTIVE";
    u.activated = now;
  } else if (activate) {
    if (password) {
      u.status = (next_login && *next_login == "changePassword") ? "PASSWORD_EXPIRED" : "ACTIVE";
    } else {
      u.status = "PROVISIONED";
    }
    u.activated = now;
  } else {
    u.status = "STAGED";
  }
  const std::string uid = u.id;
  login_index_[lower(login)] = uid;
  user_order_[u.seq] = uid;
  auto& stored = users_.emplace(uid, std::move(u)).first->second;
  if (auto* every = find_group(everyone_id_)) {
    every->members[stored.seq] = uid;
    every->lastMembershipUpdated = now;
  }
  const json target = {{"id", uid}, {"type", "User"}, {"alternateId", login},
                       {"displayName", stored.profile.value("firstName", "") + " " + stored.profile.value("lastName", "")}};
  emit("user.lifecycle.create", "Create okta user", {target});
  if (stored.status != "STAGED") emit("user.lifecycle.activate", "Activate Okta user", {target});
  for (const auto& gid : group_ids) {
    auto& g = groups_.at(gid);
    g.members[stored.seq] = uid;
    g.lastMembershipUpdated = now;
    emit("group.user_membership.add", "Add user to group membership",
         {target, {{"id", gid}, {"type", "UserGroup"}, {"alternateId", g.profile.value("name", "")}}});
  }
  Response r;
  r.set_json(user_json(stored, true));
  return r;
}

Response Sim::list_users(const Request& req, const Query& q) {
  Page page;
  Response err;
  const auto* qq = query_get(q, "q");
  if (!parse_page(q, qq ? 10 : 200, 200, page, err)) return err;
  Filter filter;
  bool has_expr = false;
  if (!parse_filter(q, filter, has_expr, err)) return err;
  std::vector<const User*> matches;
  for (auto it = page.after_seq ? user_order_.upper_bound(*page.after_seq) : user_order_.begin();
       it != user_order_.end(); ++it) {
    const User& u = users_.at(it->second);
    if (!has_expr && u.status == "DEPROVISIONED") continue;
    if (qq) {
      bool hit = false;
      for (const char* f : {"firstName", "lastName", "email", "login"})
        if (u.profile.contains(f) && u.profile[f].is_string() && starts_with_ci(u.profile[f].get<std::string>(), *qq))
          hit = true;
      if (!hit) continue;
    }
    if (has_expr) {
      const json j = user_json(u, false);
      if (!filter.matches(j)) continue;
    }
    matches.push_back(&u);
    if (matches.size() > page.limit) break;
  }
  const bool more = matches.size() > page.limit;
  if (more) matches.resize(page.limit);
  json arr = json::array();
  for (const User* u : matches) arr.push_back(user_json(*u, false));
  if (const auto* sb = query_get(q, "sortBy")) {
    const auto* so = query_get(q, "sortOrder");
    const bool desc = so && iequals(*so, "desc");
    const std::string key = *sb;
    std::stable_sort(arr.begin(), arr.end(), [&](const json& a, const json& b) {
      const json* x = json_path(a, key);
      const json* y = json_path(b, key);
      const std::string xs = x ? x->dump() : "";
      const std::string ys = y ? y->dump() : "";
      return desc ? xs > ys : xs < ys;
    });
  }
  Response r;
  r.set_json(arr);
  std::optional<std::string> next;
  if (more && !qq && !matches.empty()) next = matches.back()->id;
  add_links(r, req, q, next, page.limit);
  return r;
}

void Sim::delete_user(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  const User& u = it->second;
  for (auto& [gid, g] : groups_) g.members.erase(u.seq);
  for (auto& [aid, a] : apps_) a.users.erase(u.seq);
  roles_.erase(id);
  for (auto f = factors_.begin(); f != factors_.end();) {
    if (f->second.user_id == id) f = factors_.erase(f);
    else ++f;
  }
  if (u.profile.contains("login") && u.profile["login"].is_string()) login_index_.erase(lower(u.profile["login"].get<std::string>()));
  user_order_.erase(u.seq);
  users_.erase(it);
}

Response Sim::update_user(const Request& req, User& u, bool replace) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  json new_profile = u.profile;
  if (body.contains("profile")) {
    if (!body["profile"].is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    if (replace) new_profile = body["profile"];
    else
      for (auto it = body["profile"].begin(); it != body["profile"].end(); ++it) new_profile[it.key()] = it.value();
  }
  std::vector<std::string> causes;
  json check = body.contains("profile") ? (replace ? body["profile"] : new_profile) : new_profile;
  if (!validate_profile(check, causes, true)) {
    const bool unknown = causes.front().rfind("Property name", 0) == 0;
    return validation(unknown ? "updateUser" : causes.front().substr(0, causes.front().find(':')), causes);
  }
  const std::string old_login = u.profile.value("login", "");
  const std::string new_login = new_profile.value("login", "");
  if (lower(old_login) != lower(new_login) && login_index_.count(lower(new_login)))
    return validation("login", {"login: An object with this field already exists in the current organization"});
  const std::string now = iso_now();
  if (body.contains("credentials") && body["credentials"].is_object()) {
    const auto& cred = body["credentials"];
    if (cred.contains("password") && cred["password"].is_object()) {
      const auto& pw = cred["password"];
      if (pw.contains("value") && pw["value"].is_string()) {
        const std::string v = pw["value"].get<std::string>();
        if (!password_ok(v, new_profile)) return validation("password", {kPasswordRules});
        u.password = v;
        u.password_hashed = false;
        u.passwordChanged = now;
      } else if (pw.contains("hash") && pw["hash"].is_object()) {
        u.password = pw["hash"].value("value", "");
        u.password_hashed = true;
        u.passwordChanged = now;
      }
    }
    if (cred.contains("recovery_question") && cred["recovery_question"].is_object()) {
      u.recovery_question = cred["recovery_question"].value("question", "");
      u.recovery_answer = cred["recovery_question"].value("answer", "");
    }
  }
  for (auto it = new_profile.begin(); it != new_profile.end();) {
    if (it.value().is_null() && it.key() != "mobilePhone" && it.key() != "secondEmail") it = new_profile.erase(it);
    else ++it;
  }
  u.profile = new_profile;
  u.lastUpdated = now;
  if (lower(old_login) != lower(new_login)) {
    login_index_.erase(lower(old_login));
    login_index_[lower(new_login)] = u.id;
  }
  emit("user.account.update_profile", "Update user profile for Okta",
       {{{"id", u.id}, {"type", "User"}, {"alternateId", new_login}}});
  Response r;
  r.set_json(user_json(u, true));
  return r;
}

}  // namespace oktasim
