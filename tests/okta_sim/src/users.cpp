// okta-sim: users, their lifecycle, credentials, factors and sub-resources.
#include <algorithm>
#include <cctype>

#include "filter.hpp"
#include "sim.hpp"

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

bool truthy(const Query& q, const char* key, bool def) {
  const auto* v = query_get(q, key);
  if (!v) return def;
  return !(iequals(*v, "false") || *v == "0");
}

const char* kPasswordRules =
    "password: Password requirements were not met. Password requirements: at least 8 characters, a lowercase "
    "letter, an uppercase letter, a number, no parts of your username.";

bool password_ok(const std::string& pw, const json& profile) {
  if (pw.size() < 8) return false;
  bool lo = false, up = false, dig = false;
  for (const char c : pw) {
    lo = lo || std::islower(static_cast<unsigned char>(c));
    up = up || std::isupper(static_cast<unsigned char>(c));
    dig = dig || std::isdigit(static_cast<unsigned char>(c));
  }
  if (!lo || !up || !dig) return false;
  const std::string login = profile.is_object() && profile.contains("login") && profile["login"].is_string()
                                ? profile["login"].get<std::string>()
                                : "";
  const std::string local = lower(login.substr(0, login.find('@')));
  if (local.size() >= 4 && lower(pw).find(local) != std::string::npos) return false;
  return true;
}

}  // namespace

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

void Sim::set_status(User& u, const std::string& st) {
  u.status = st;
  u.transitioning.reset();
  const std::string now = iso_now();
  u.statusChanged = now;
  u.lastUpdated = now;
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

Response Sim::user_item(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  const std::string& m = req.method;
  User* u = seg[3] == "me" ? me_user(req) : find_user(seg[3]);
  if (!u) return not_found(seg[3], "User");
  if (seg.size() == 4) {
    if (m == "GET") {
      Response r;
      if (u->cache_gen != gen_) {
        u->cache_body = user_json(*u, true).dump(-1, ' ', false, json::error_handler_t::replace);
        u->cache_gen = gen_;
      }
      r.body = u->cache_body;
      return r;
    }
    if (m == "POST") return update_user(req, *u, false);
    if (m == "PUT") return update_user(req, *u, true);
    if (m == "DELETE") {
      Response r;
      r.status = 204;
      const json target = {{"id", u->id}, {"type", "User"}, {"alternateId", u->profile.value("login", "")}};
      if (u->status != "DEPROVISIONED") {
        set_status(*u, "DEPROVISIONED");
        emit("user.lifecycle.deactivate", "Deactivate Okta user", {target});
      } else {
        delete_user(u->id);
        emit("user.lifecycle.delete.initiated", "Delete Okta user", {target});
      }
      return r;
    }
    return method_not_allowed();
  }
  const std::string& sub = seg[4];
  if (sub == "lifecycle" && seg.size() == 6) {
    if (m != "POST") return method_not_allowed();
    return user_lifecycle(req, *u, seg[5], q);
  }
  if (sub == "credentials" && seg.size() == 6) {
    if (m != "POST") return method_not_allowed();
    return user_credentials(req, *u, seg[5], q);
  }
  if (sub == "factors") return user_factors(req, *u, seg);
  if (sub == "roles") return roles(req, u->id, false, seg, 5);
  if (seg.size() == 5) {
    Response r;
    if (sub == "groups") {
      if (m != "GET") return method_not_allowed();
      json arr = json::array();
      for (const auto& gid : user_group_ids(*u)) arr.push_back(group_json(groups_.at(gid)));
      r.set_json(arr);
      add_links(r, req, q, std::nullopt, 200);
      return r;
    }
    if (sub == "appLinks") {
      if (m != "GET") return method_not_allowed();
      json arr = json::array();
      const auto gids = user_group_ids(*u);
      for (const auto& [seq, aid] : app_order_) {
        const App& a = apps_.at(aid);
        if (a.status != "ACTIVE") continue;
        bool assigned = a.users.count(u->seq) > 0;
        for (const auto& gid : gids) assigned = assigned || a.groups.count(seq_of_.at(gid)) > 0;
        if (!assigned) continue;
        arr.push_back({{"id", "00b" + aid.substr(3)},
                       {"label", a.body.value("label", "")},
                       {"linkUrl", base_ + "/home/" + a.body.value("name", "app") + "/" + aid + "/1"},
                       {"logoUrl", base_ + "/assets/img/logos/default.png"},
                       {"appName", a.body.value("name", "")},
                       {"appInstanceId", aid},
                       {"appAssignmentId", "0ua" + u->id.substr(3)},
                       {"credentialsSetup", false},
                       {"hidden", false},
                       {"sortOrder", static_cast<int>(arr.size())}});
      }
      r.set_json(arr);
      return r;
    }
    if (sub == "sessions") {
      if (m != "DELETE") return method_not_allowed();
      emit("user.session.clear", "Clear user sessions", {{{"id", u->id}, {"type", "User"}}});
      r.status = 204;
      return r;
    }
    if (sub == "blocks") {
      if (m != "GET") return method_not_allowed();
      return error(401, "E0000015", "You do not have permission to access the feature you are requesting");
    }
    if (sub == "grants" || sub == "clients" || sub == "idps" ||
        sub == "subscriptions" || sub == "linkedObjects") {
      if (m == "GET") {
        r.set_json(json::array());
        return r;
      }
      if (m == "DELETE" && sub == "grants") {
        r.status = 204;
        return r;
      }
      return method_not_allowed();
    }
  }
  std::string p;
  for (const auto& s : seg) p += "/" + s;
  return error(404, "E0000007", "Not found: Resource not found: " + p);
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

Response Sim::user_lifecycle(const Request& req, User& u, const std::string& op, const Query& q) {
  (void)req;
  Response r;
  // Okta's defaults: activate and the others email unless told not to; reactivate does not.
  const bool send_email = truthy(q, "sendEmail", op != "reactivate");
  const std::string& s = u.status;
  // Built only when an event is emitted (not for refused transitions), without initializer-list copies.
  auto target = [&u] {
    json::object_t t;
    t.reserve(3);
    t.emplace_back("id", u.id);
    t.emplace_back("type", "User");
    t.emplace_back("alternateId", u.profile.value("login", ""));
    return json(std::move(t));
  };
  // The event's target list, built in place (a braced list would copy the target once more).
  auto targets = [&target] {
    std::vector<json> v;
    v.reserve(1);
    v.push_back(target());
    return v;
  };
  auto not_allowed = [&] { return error(403, "E0000038", "This operation is not allowed in the user's current status."); };
  auto activation_body = [&] {
    const std::string tok = rng_.token(20);
    if (send_email) return json::object();
    return json{{"activationUrl", base_ + "/tokens/" + tok + "/verify"}, {"activationToken", tok}};
  };
  if (op == "activate") {
    if (s != "STAGED" && s != "DEPROVISIONED")
      return error(403, "E0000016", "Activation failed because the user is already active");
    set_status(u, u.password ? "ACTIVE" : "PROVISIONED");
    u.activated = u.statusChanged;
    emit("user.lifecycle.activate", "Activate Okta user", targets());
    r.set_json(activation_body());
    return r;
  }
  if (op == "reactivate") {
    if (s != "PROVISIONED" && s != "RECOVERY") return not_allowed();
    emit("user.lifecycle.reactivate", "Reactivate Okta user", targets());
    r.set_json(activation_body());
    return r;
  }
  if (op == "deactivate") {
    if (s != "DEPROVISIONED") {
      set_status(u, "DEPROVISIONED");
      emit("user.lifecycle.deactivate", "Deactivate Okta user", targets());
    }
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "suspend") {
    if (s != "ACTIVE") return validation("Cannot suspend a user that is not active", {});
    set_status(u, "SUSPENDED");
    emit("user.lifecycle.suspend", "Suspend Okta user", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "unsuspend") {
    if (s != "SUSPENDED") return validation("Cannot unsuspend a user that is not suspended", {});
    set_status(u, "ACTIVE");
    emit("user.lifecycle.unsuspend", "Unsuspend Okta user", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "unlock") {
    if (s != "LOCKED_OUT")
      return error(403, "E0000032", "Unlock is not allowed for this user.", {"The user is not locked out."});
    set_status(u, "ACTIVE");
    emit("user.account.unlock", "Unlock user account", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  if (op == "expire_password" || op == "expire_password_with_temp_password") {
    if (s != "ACTIVE" && s != "PASSWORD_EXPIRED" && s != "LOCKED_OUT" && s != "RECOVERY") return not_allowed();
    const bool temp = op == "expire_password_with_temp_password" || truthy(q, "tempPassword", false);
    set_status(u, "PASSWORD_EXPIRED");
    emit("user.password.expire", "Expire password", targets());  // not an Okta event name guarantee
    if (temp) {
      const std::string tmp = rng_.base62(8);
      u.password = tmp;
      u.passwordChanged = u.lastUpdated;
      r.set_json({{"tempPassword", tmp}});
    } else {
      r.set_json(user_json(u, true));
    }
    return r;
  }
  if (op == "reset_password") {
    if (s == "STAGED" || s == "DEPROVISIONED" || s == "SUSPENDED") return not_allowed();
    set_status(u, "RECOVERY");
    emit("user.account.reset_password", "Reset password", targets());
    if (send_email) r.body = "{}";  // json::object().dump()
    else r.set_json({{"resetPasswordUrl", base_ + "/reset_password/drp" + rng_.token(17)}});
    return r;
  }
  if (op == "reset_factors") {
    if (s == "DEPROVISIONED") return not_allowed();
    for (auto f = factors_.begin(); f != factors_.end();) {
      if (f->second.user_id == u.id) f = factors_.erase(f);
      else ++f;
    }
    emit("user.mfa.factor.reset_all", "Reset all factors for user", targets());
    r.body = "{}";  // json::object().dump()
    return r;
  }
  return error(404, "E0000007", "Not found: Resource not found: lifecycle/" + op);
}

Response Sim::user_credentials(const Request& req, User& u, const std::string& op, const Query& q) {
  Response r;
  const json target = {{"id", u.id}, {"type", "User"}, {"alternateId", u.profile.value("login", "")}};
  auto cred_body = [&] {
    json c = json::object();
    if (u.password) c["password"] = json::object();
    if (u.recovery_question) c["recovery_question"] = {{"question", *u.recovery_question}};
    c["provider"] = {{"type", u.provider_type}, {"name", u.provider_name}};
    return c;
  };
  if (op == "forgot_password") {
    if (u.status != "ACTIVE" && u.status != "PASSWORD_EXPIRED" && u.status != "RECOVERY")
      return error(403, "E0000038", "This operation is not allowed in the user's current status.");
    if (!req.body.empty()) {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded()) return error(400, "E0000003", "The request body was not well-formed.");
      if (body.is_object() && body.contains("recovery_question")) {
        const std::string ans = body["recovery_question"].value("answer", "");
        if (!u.recovery_answer || *u.recovery_answer != ans)
          return error(403, "E0000014", "Update of credentials failed", {"The recovery question answer did not match our records."});
        if (body.contains("password") && body["password"].is_object()) u.password = body["password"].value("value", "");
        u.passwordChanged = iso_now();
        r.set_json(cred_body());
        return r;
      }
    }
    emit("user.account.reset_password", "Forgot password", {target});
    if (truthy(q, "sendEmail", true)) r.set_json(json::object());
    else r.set_json({{"resetPasswordUrl", base_ + "/signin/reset-password/dfp" + rng_.token(17)}});
    return r;
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  if (op == "change_password") {
    const std::string oldp = body.value("oldPassword", json::object()).value("value", "");
    const std::string newp = body.value("newPassword", json::object()).value("value", "");
    if (!u.password || (!u.password_hashed && *u.password != oldp))
      return error(403, "E0000014", "Update of credentials failed", {"oldPassword: The credentials provided were incorrect."});
    if (!password_ok(newp, u.profile)) return validation("password", {kPasswordRules});
    u.password = newp;
    u.password_hashed = false;
    u.passwordChanged = iso_now();
    u.lastUpdated = *u.passwordChanged;
    if (u.status == "PASSWORD_EXPIRED" || u.status == "RECOVERY") set_status(u, "ACTIVE");
    emit("user.account.update_password", "Update password for user", {target});
    r.set_json(cred_body());
    return r;
  }
  if (op == "change_recovery_question") {
    const std::string pw = body.value("password", json::object()).value("value", "");
    if (!u.password || (!u.password_hashed && *u.password != pw))
      return error(403, "E0000014", "Update of credentials failed", {"password: The credentials provided were incorrect."});
    const json rq = body.value("recovery_question", json::object());
    if (!rq.is_object() || rq.value("question", "").empty())
      return validation("recovery_question", {"recovery_question: The field cannot be left blank"});
    u.recovery_question = rq.value("question", "");
    u.recovery_answer = rq.value("answer", "");
    u.lastUpdated = iso_now();
    r.set_json(cred_body());
    return r;
  }
  if (op == "forgot_password_recovery_question") {
    const json rq = body.value("recovery_question", json::object());
    if (!u.recovery_answer || !rq.is_object() || rq.value("answer", "") != *u.recovery_answer)
      return error(403, "E0000014", "Update of credentials failed", {"The recovery question answer did not match our records."});
    if (body.contains("password") && body["password"].is_object()) {
      u.password = body["password"].value("value", "");
      u.passwordChanged = iso_now();
    }
    r.set_json(cred_body());
    return r;
  }
  return error(404, "E0000007", "Not found: Resource not found: credentials/" + op);
}

Response Sim::user_factors(const Request& req, User& u, const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  Response r;
  auto factor_json = [&](const Factor& f) {
    json j = f.body;
    j["id"] = f.id;
    j["status"] = f.status;
    j["created"] = f.created;
    j["lastUpdated"] = f.lastUpdated;
    const std::string self = base_ + "/api/v1/users/" + u.id + "/factors/" + f.id;
    json links = {{"self", {{"href", self}, {"hints", {{"allow", {"GET", "DELETE"}}}}}},
                  {"user", {{"href", base_ + "/api/v1/users/" + u.id}, {"hints", {{"allow", {"GET"}}}}}}};
    if (f.status == "PENDING_ACTIVATION")
      links["activate"] = {{"href", self + "/lifecycle/activate"}, {"hints", {{"allow", {"POST"}}}}};
    j["_links"] = links;
    return j;
  };
  if (seg.size() == 5) {
    if (m == "GET") {
      json arr = json::array();
      std::vector<const Factor*> fs;
      for (const auto& [id, f] : factors_)
        if (f.user_id == u.id) fs.push_back(&f);
      std::sort(fs.begin(), fs.end(), [](const Factor* a, const Factor* b) { return a->seq < b->seq; });
      for (const auto* f : fs) arr.push_back(factor_json(*f));
      r.set_json(arr);
      return r;
    }
    if (m == "POST") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      const std::string type = body.value("factorType", "");
      static const std::map<std::string, std::string> prefixes = {
          {"sms", "mbl"}, {"call", "clf"}, {"email", "emf"}, {"question", "ufs"}, {"token:software:totp", "ost"},
          {"push", "opf"}, {"webauthn", "fwf"}, {"token:hotp", "chf"}};
      auto pit = prefixes.find(type);
      if (pit == prefixes.end()) return validation("factorType", {"factorType: Invalid factor type " + type});
      for (const auto& [id, f] : factors_)
        if (f.user_id == u.id && f.body.value("factorType", "") == type)
          return error(400, "E0000001", "Api validation failed: factorEnrollRequest",
                       {"A factor of this type is already set up."});
      Factor f;
      f.id = new_id(pit->second);
      f.seq = next_seq();
      seq_of_[f.id] = f.seq;
      f.user_id = u.id;
      f.created = f.lastUpdated = iso_now();
      f.body = {{"factorType", type},
                {"provider", body.value("provider", "OKTA")},
                {"vendorName", body.value("provider", "OKTA")},
                {"profile", body.value("profile", json::object())}};
      if (type == "question") {
        f.body["profile"].erase("answer");
        f.status = "ACTIVE";
      }
      if (type == "email") f.status = "ACTIVE";
      emit("user.mfa.factor.activate", "User set up factor", {{{"id", u.id}, {"type", "User"}}});
      const std::string fid = f.id;
      factors_.emplace(fid, std::move(f));
      r.set_json(factor_json(factors_.at(fid)));
      return r;
    }
    return method_not_allowed();
  }
  if (seg.size() == 6 && seg[5] == "catalog") {
    if (m != "GET") return method_not_allowed();
    json arr = json::array();
    for (const char* t : {"sms", "call", "question", "token:software:totp", "email"})
      arr.push_back({{"factorType", t}, {"provider", t == std::string("token:software:totp") ? "GOOGLE" : "OKTA"},
                     {"vendorName", "OKTA"}, {"status", "NOT_SETUP"}, {"enrollment", "OPTIONAL"}});
    r.set_json(arr);
    return r;
  }
  if (seg.size() == 6 && seg[5] == "questions") {
    if (m != "GET") return method_not_allowed();
    r.set_json(json::array({{{"question", "disliked_food"}, {"questionText", "What is the food you least liked as a child?"}},
                            {{"question", "name_of_first_plush_toy"}, {"questionText", "What is the name of your first stuffed animal?"}},
                            {{"question", "first_award"}, {"questionText", "What did you earn your first medal or award for?"}}}));
    return r;
  }
  auto it = factors_.find(seg[5]);
  if (it == factors_.end() || it->second.user_id != u.id) return not_found(seg[5], "UserFactor");
  Factor& f = it->second;
  if (seg.size() == 6) {
    if (m == "GET") {
      r.set_json(factor_json(f));
      return r;
    }
    if (m == "DELETE") {
      factors_.erase(it);
      emit("user.mfa.factor.deactivate", "Reset factor for user", {{{"id", u.id}, {"type", "User"}}});
      r.status = 204;
      return r;
    }
    if (m == "PUT") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      if (body.contains("profile") && body["profile"].is_object()) {
        json p = body["profile"];
        p.erase("answer");
        f.body["profile"] = p;
      }
      f.lastUpdated = iso_now();
      r.set_json(factor_json(f));
      return r;
    }
    return method_not_allowed();
  }
  if (seg.size() == 8 && seg[6] == "lifecycle" && seg[7] == "activate") {
    if (m != "POST") return method_not_allowed();
    f.status = "ACTIVE";
    f.lastUpdated = iso_now();
    r.set_json(factor_json(f));
    return r;
  }
  return error(404, "E0000007", "Not found: Resource not found: factors");
}

}  // namespace oktasim
