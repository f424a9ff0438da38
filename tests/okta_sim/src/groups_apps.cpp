// okta-sim: groups, members, apps and app assignments.
#include <algorithm>

#include "filter.hpp"
#include "sim.hpp"

namespace oktasim {

namespace {
const char* kLogoMedium = "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-medium.png";
const char* kLogoLarge = "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-large.png";
}  // namespace

Group* Sim::find_group(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

App* Sim::find_app(const std::string& id) {
  auto it = apps_.find(id);
  return it == apps_.end() ? nullptr : &it->second;
}

json Sim::group_json(const Group& g) const {
  json profile = g.profile;
  if (!profile.contains("description")) profile["description"] = nullptr;
  return {{"id", g.id},
          {"created", g.created},
          {"lastUpdated", g.lastUpdated},
          {"lastMembershipUpdated", g.lastMembershipUpdated},
          {"objectClass", json::array({"okta:user_group"})},
          {"type", g.type},
          {"profile", profile},
          {"_links",
           {{"logo", json::array({{{"name", "medium"}, {"href", kLogoMedium}, {"type", "image/png"}},
                                  {{"name", "large"}, {"href", kLogoLarge}, {"type", "image/png"}}})},
            {"users", {{"href", base_ + "/api/v1/groups/" + g.id + "/users"}}},
            {"apps", {{"href", base_ + "/api/v1/groups/" + g.id + "/apps"}}}}}};
}

Group& Sim::create_group_internal(const json& profile, const std::string& type, const std::string& id) {
  Group g;
  g.id = id.empty() ? new_id("00g") : id;
  g.seq = next_seq();
  seq_of_[g.id] = g.seq;
  g.type = type;
  g.created = g.lastUpdated = g.lastMembershipUpdated = iso_now();
  g.profile = profile;
  group_order_[g.seq] = g.id;
  const std::string gid = g.id;
  return groups_.emplace(gid, std::move(g)).first->second;
}

Response Sim::groups_collection(const Request& req, const Query& q) {
  Response r;
  if (req.method == "POST") {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    const json profile = body.value("profile", json::object());
    if (!profile.is_object() || !profile.contains("name") || !profile["name"].is_string() ||
        trim(profile["name"].get<std::string>()).empty())
      return validation("name", {"name: The field cannot be left blank"});
    const std::string name = profile["name"].get<std::string>();
    for (const auto& [id, g] : groups_)
      if (g.type != "APP_GROUP" && iequals(g.profile.value("name", ""), name))
        return validation("name", {"name: An object with this field already exists in the current organization"});
    Group& g = create_group_internal(profile, "OKTA_GROUP");
    emit("group.lifecycle.create", "Create Okta group", {{{"id", g.id}, {"type", "UserGroup"}, {"alternateId", name}}});
    r.set_json(group_json(g));
    return r;
  }
  if (req.method != "GET") return method_not_allowed();
  Page page;
  if (!parse_page(q, 10000, 10000, page, r)) return r;
  const auto* qq = query_get(q, "q");
  if (qq && !query_get(q, "limit")) page.limit = 10000;
  Filter filter;
  bool has_expr = false;
  if (!parse_filter(q, filter, has_expr, r)) return r;
  std::vector<const Group*> out;
  for (auto it = page.after_seq ? group_order_.upper_bound(*page.after_seq) : group_order_.begin();
       it != group_order_.end(); ++it) {
    const Group& g = groups_.at(it->second);
    if (qq && !starts_with_ci(g.profile.value("name", ""), *qq)) continue;
    if (has_expr && !filter.matches(group_json(g))) continue;
    out.push_back(&g);
    if (out.size() > page.limit) break;
  }
  const bool more = out.size() > page.limit;
  if (more) out.resize(page.limit);
  json arr = json::array();
  for (const auto* g : out) arr.push_back(group_json(*g));
  r.set_json(arr);
  add_links(r, req, q, more && !out.empty() ? std::optional<std::string>(out.back()->id) : std::nullopt, page.limit);
  return r;
}

Response Sim::group_item(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  const std::string& m = req.method;
  Response r;
  if (seg[3] == "rules") return group_rules(req, seg, q);
  Group* g = find_group(seg[3]);
  if (!g) return not_found(seg[3], "UserGroup");
  const json gtarget = {{"id", g->id}, {"type", "UserGroup"}, {"alternateId", g->profile.value("name", "")}};
  if (seg.size() == 4) {
    if (m == "GET") {
      r.set_json(group_json(*g));
      return r;
    }
    if (m == "PUT") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      if (g->type != "OKTA_GROUP")
        return error(403, "E0000006", "You do not have permission to perform the requested action");
      const json profile = body.value("profile", json::object());
      if (!profile.is_object() || !profile.contains("name") || !profile["name"].is_string() ||
          trim(profile["name"].get<std::string>()).empty())
        return validation("name", {"name: The field cannot be left blank"});
      for (const auto& [id, other] : groups_)
        if (id != g->id && other.type != "APP_GROUP" && iequals(other.profile.value("name", ""), profile["name"].get<std::string>()))
          return validation("name", {"name: An object with this field already exists in the current organization"});
      g->profile = profile;
      g->lastUpdated = iso_now();
      emit("group.profile.update", "Update Okta group profile", {gtarget});
      r.set_json(group_json(*g));
      return r;
    }
    if (m == "DELETE") {
      if (g->type == "BUILT_IN") return error(403, "E0000006", "You do not have permission to perform the requested action");
      for (auto& [aid, a] : apps_) a.groups.erase(g->seq);
      roles_.erase(g->id);
      group_order_.erase(g->seq);
      groups_.erase(g->id);
      emit("group.lifecycle.delete", "Delete Okta group", {gtarget});
      r.status = 204;
      return r;
    }
    return method_not_allowed();
  }
  const std::string& sub = seg[4];
  if (sub == "users") {
    if (seg.size() == 5) {
      if (m != "GET") return method_not_allowed();
      Page page;
      if (!parse_page(q, 1000, 10000, page, r)) return r;
      auto [out, more] = page_of(g->members, page, [&](const auto& entry) -> const User* {
        auto u = users_.find(entry.second);
        return u == users_.end() ? nullptr : &u->second;
      });
      json arr = json::array();
      for (const auto* u : out) arr.push_back(user_json(*u, false));
      r.set_json(arr);
      add_links(r, req, q, more && !out.empty() ? std::optional<std::string>(out.back()->id) : std::nullopt, page.limit);
      return r;
    }
    if (seg.size() == 6) {
      if (m != "PUT" && m != "DELETE") return method_not_allowed();
      User* u = find_user(seg[5]);
      if (!u || u->id != seg[5]) return not_found(seg[5], "User");
      if (g->type != "OKTA_GROUP")
        return error(403, "E0000006", "You do not have permission to perform the requested action");
      const json utarget = {{"id", u->id}, {"type", "User"}, {"alternateId", u->profile.value("login", "")}};
      if (m == "PUT") {
        if (!g->members.count(u->seq)) {
          g->members[u->seq] = u->id;
          g->lastMembershipUpdated = iso_now();
          emit("group.user_membership.add", "Add user to group membership", {utarget, gtarget});
        }
      } else if (g->members.erase(u->seq)) {
        g->lastMembershipUpdated = iso_now();
        emit("group.user_membership.remove", "Remove user from group membership", {utarget, gtarget});
      }
      r.status = 204;
      return r;
    }
  }
  if (sub == "apps" && seg.size() == 5) {
    if (m != "GET") return method_not_allowed();
    json arr = json::array();
    for (const auto& [seq, aid] : app_order_) {
      const App& a = apps_.at(aid);
      if (a.groups.count(g->seq)) arr.push_back(app_json(a));
    }
    r.set_json(arr);
    return r;
  }
  if (sub == "roles") return roles(req, g->id, true, seg, 5);
  return no_such_path(seg);
}

// ---------------------------------------------------------------- apps

json Sim::app_json(const App& a) const {
  json j = a.body;
  j["id"] = a.id;
  j["status"] = a.status;
  j["created"] = a.created;
  j["lastUpdated"] = a.lastUpdated;
  j["orn"] = "orn:okta:idp:" + org_id_ + ":apps:" + a.body.value("name", "app") + ":" + a.id;
  if (!j.contains("universalLogout")) j["universalLogout"] = nullptr;
  const std::string self = base_ + "/api/v1/apps/" + a.id;
  json links = {{"appLinks", json::array({{{"name", "login"},
                                            {"href", base_ + "/home/" + a.body.value("name", "app") + "/" + a.id + "/1"},
                                            {"type", "text/html"}}})},
                {"groups", {{"href", self + "/groups"}}},
                {"users", {{"href", self + "/users"}}},
                {"logo", json::array({{{"name", "medium"}, {"href", kLogoMedium}, {"type", "image/png"}}})}};
  if (!a.access_policy.empty()) links["accessPolicy"] = {{"href", base_ + "/api/v1/policies/" + a.access_policy}};
  if (a.status == "ACTIVE") links["deactivate"] = {{"href", self + "/lifecycle/deactivate"}};
  else links["activate"] = {{"href", self + "/lifecycle/activate"}};
  j["_links"] = links;
  return j;
}

json Sim::app_user_json(const App& a, const AppUser& au) const {
  return {{"id", au.user_id},
          {"externalId", nullptr},
          {"created", au.created},
          {"lastUpdated", au.lastUpdated},
          {"scope", au.scope},
          {"status", "ACTIVE"},
          {"statusChanged", au.statusChanged},
          {"passwordChanged", nullptr},
          {"syncState", "DISABLED"},
          {"credentials", au.credentials},
          {"profile", au.profile},
          {"_links",
           {{"app", {{"href", base_ + "/api/v1/apps/" + a.id}}}, {"user", {{"href", base_ + "/api/v1/users/" + au.user_id}}}}}};
}

json Sim::app_group_json(const App& a, const AppGroup& ag) const {
  return {{"id", ag.group_id},
          {"lastUpdated", ag.lastUpdated},
          {"priority", ag.priority},
          {"profile", ag.profile},
          {"_links",
           {{"app", {{"href", base_ + "/api/v1/apps/" + a.id}}},
            {"self", {{"href", base_ + "/api/v1/apps/" + a.id + "/groups/" + ag.group_id}}},
            {"group", {{"href", base_ + "/api/v1/groups/" + ag.group_id}}}}}};
}

App& Sim::create_app_internal(json body, bool activate, const std::string& id) {
  App a;
  a.id = id.empty() ? new_id("0oa") : id;
  a.seq = next_seq();
  seq_of_[a.id] = a.seq;
  a.created = a.lastUpdated = iso_now();
  a.status = activate ? "ACTIVE" : "INACTIVE";
  for (const char* k : {"id", "status", "created", "lastUpdated", "_links", "_embedded"}) body.erase(k);
  const std::string mode = body.value("signOnMode", "");
  if (!body.contains("name")) {
    if (mode == "BOOKMARK") body["name"] = "bookmark";
    else if (mode == "BASIC_AUTH") body["name"] = "template_basic_auth";
    else if (mode == "OPENID_CONNECT") body["name"] = "oidc_client";
    else if (mode == "AUTO_LOGIN") body["name"] = "template_swa";
    else body["name"] = "app";
  }
  if (!body.contains("accessibility"))
    body["accessibility"] = {{"selfService", false}, {"errorRedirectUrl", nullptr}, {"loginRedirectUrl", nullptr}};
  if (!body.contains("visibility"))
    body["visibility"] = {{"autoSubmitToolbar", false}, {"hide", {{"iOS", false}, {"web", false}}}, {"appLinks", {{"login", true}}}};
  if (!body.contains("features")) body["features"] = json::array();
  if (!body.contains("credentials"))
    body["credentials"] = {{"userNameTemplate", {{"template", "${source.login}"}, {"type", "BUILT_IN"}}}, {"signing", json::object()}};
  if (!body.contains("settings")) body["settings"] = {{"app", json::object()}};
  a.body = body;
  app_order_[a.seq] = a.id;
  const std::string aid = a.id;
  return apps_.emplace(aid, std::move(a)).first->second;
}

Response Sim::apps_collection(const Request& req, const Query& q) {
  Response r;
  if (req.method == "POST") {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    std::vector<std::string> causes;
    if (!body.contains("label") || !body["label"].is_string() || trim(body["label"].get<std::string>()).empty())
      causes.push_back("label: The field cannot be left blank");
    if (!body.contains("signOnMode") || !body["signOnMode"].is_string())
      causes.push_back("signOnMode: The field cannot be left blank");
    const std::string mode = body.value("signOnMode", "");
    if (mode == "BOOKMARK" && body.value("settings", json::object()).value("app", json::object()).value("url", "").empty())
      causes.push_back("url: The field cannot be left blank");
    if (mode == "BASIC_AUTH") {
      const json app = body.value("settings", json::object()).value("app", json::object());
      if (app.value("url", "").empty()) causes.push_back("url: The field cannot be left blank");
      if (app.value("authURL", "").empty()) causes.push_back("authURL: The field cannot be left blank");
    }
    if (!causes.empty()) return validation("App", causes);
    const bool activate = !(query_get(q, "activate") && iequals(*query_get(q, "activate"), "false"));
    App& a = create_app_internal(body, activate);
    emit("application.lifecycle.create", "Create application",
         {{{"id", a.id}, {"type", "AppInstance"}, {"alternateId", a.body.value("label", "")}}});
    if (activate)
      emit("application.lifecycle.activate", "Activate application",
           {{{"id", a.id}, {"type", "AppInstance"}, {"alternateId", a.body.value("label", "")}}});
    r.set_json(app_json(a));
    return r;
  }
  if (req.method != "GET") return method_not_allowed();
  Page page;
  if (!parse_page(q, 20, 200, page, r)) return r;
  const auto* qq = query_get(q, "q");
  Filter filter;
  bool has_expr = false;
  std::string user_filter, group_filter;
  if (const auto* f = query_get(q, "filter")) {
    // user.id eq "..." and group.id eq "..." are relations, not attributes.
    const std::string& s = *f;
    auto rel = [&](const char* key, std::string& out) {
      const std::string pfx = std::string(key) + " eq \"";
      if (s.rfind(pfx, 0) == 0 && s.size() > pfx.size() + 1 && s.back() == '"') {
        out = s.substr(pfx.size(), s.size() - pfx.size() - 1);
        return true;
      }
      return false;
    };
    if (!rel("user.id", user_filter) && !rel("group.id", group_filter) && !s.empty()) {
      std::string why;
      if (!filter.parse(s, why)) return error(400, "E0000031", "Invalid search criteria.", {why});
      has_expr = true;
    }
  }
  std::vector<const App*> out;
  for (auto it = page.after_seq ? app_order_.upper_bound(*page.after_seq) : app_order_.begin(); it != app_order_.end();
       ++it) {
    const App& a = apps_.at(it->second);
    if (qq && !starts_with_ci(a.body.value("label", ""), *qq) && !starts_with_ci(a.body.value("name", ""), *qq)) continue;
    if (has_expr && !filter.matches(app_json(a))) continue;
    if (!user_filter.empty()) {
      auto s = seq_of_.find(user_filter);
      if (s == seq_of_.end() || !a.users.count(s->second)) continue;
    }
    if (!group_filter.empty()) {
      auto s = seq_of_.find(group_filter);
      if (s == seq_of_.end() || !a.groups.count(s->second)) continue;
    }
    out.push_back(&a);
    if (out.size() > page.limit) break;
  }
  const bool more = out.size() > page.limit;
  if (more) out.resize(page.limit);
  json arr = json::array();
  for (const auto* a : out) arr.push_back(app_json(*a));
  r.set_json(arr);
  add_links(r, req, q, more && !out.empty() ? std::optional<std::string>(out.back()->id) : std::nullopt, page.limit);
  return r;
}

Response Sim::app_item(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  const std::string& m = req.method;
  Response r;
  App* a = find_app(seg[3]);
  if (!a) return not_found(seg[3], "AppInstance");
  const json atarget = {{"id", a->id}, {"type", "AppInstance"}, {"alternateId", a->body.value("label", "")}};
  if (seg.size() == 4) {
    if (m == "GET") {
      r.set_json(app_json(*a));
      return r;
    }
    if (m == "PUT") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      for (const char* k : {"id", "status", "created", "lastUpdated", "_links", "_embedded"}) body.erase(k);
      if (!body.contains("name")) body["name"] = a->body.value("name", "app");
      if (!body.contains("label") || !body["label"].is_string() || body["label"].get<std::string>().empty())
        return validation("App", {"label: The field cannot be left blank"});
      for (auto it = a->body.begin(); it != a->body.end(); ++it)
        if (!body.contains(it.key())) body[it.key()] = it.value();
      a->body = body;
      a->lastUpdated = iso_now();
      emit("application.lifecycle.update", "Update application", {atarget});
      r.set_json(app_json(*a));
      return r;
    }
    if (m == "DELETE") {
      if (a->status == "ACTIVE")
        return error(403, "E0000056", "Delete application forbidden.",
                     {"The application must be deactivated before deletion."});
      app_order_.erase(a->seq);
      apps_.erase(a->id);
      emit("application.lifecycle.delete", "Delete application", {atarget});
      r.status = 204;
      return r;
    }
    return method_not_allowed();
  }
  const std::string& sub = seg[4];
  if (sub == "policies" && seg.size() == 6) {
    // Assign an access policy to the app.
    if (m != "PUT") return method_not_allowed();
    bool found = false;
    for (const auto& p : policies_) found = found || (p["id"] == seg[5] && p["type"] == "ACCESS_POLICY");
    if (!found) return not_found(seg[5], "Policy");
    a->access_policy = seg[5];
    a->lastUpdated = iso_now();
    r.status = 204;
    return r;
  }
  if (sub == "lifecycle" && seg.size() == 6) {
    if (m != "POST") return method_not_allowed();
    if (seg[5] == "activate" || seg[5] == "deactivate") {
      const std::string st = seg[5] == "activate" ? "ACTIVE" : "INACTIVE";
      if (a->status != st) {
        a->status = st;
        a->lastUpdated = iso_now();
        emit("application.lifecycle." + seg[5], seg[5] == "activate" ? "Activate application" : "Deactivate application",
             {atarget});
      }
      r.set_json(json::object());
      return r;
    }
    return error(404, "E0000007", "Not found: Resource not found: lifecycle/" + seg[5]);
  }
  if (sub == "users") {
    if (seg.size() == 5) {
      if (m == "GET") {
        Page page;
        if (!parse_page(q, 50, 500, page, r)) return r;
        auto [out, more] = page_of(a->users, page, [](const auto& entry) { return &entry.second; });
        json arr = json::array();
        for (const auto* au : out) arr.push_back(app_user_json(*a, *au));
        r.set_json(arr);
        add_links(r, req, q, more && !out.empty() ? std::optional<std::string>(out.back()->user_id) : std::nullopt,
                  page.limit);
        return r;
      }
      if (m == "POST") {
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
        const std::string uid = body.value("id", "");
        User* u = uid.empty() ? nullptr : find_user(uid);
        if (!u || u->id != uid) return not_found(uid, "User");
        AppUser& au = a->users[u->seq];
        const std::string now = iso_now();
        if (au.user_id.empty()) {
          au.user_id = u->id;
          au.seq = u->seq;
          au.created = au.statusChanged = now;
        }
        au.lastUpdated = now;
        au.scope = body.value("scope", "USER");
        au.credentials = body.value("credentials", json::object());
        if (!au.credentials.contains("userName")) au.credentials["userName"] = u->profile.value("login", "");
        au.profile = body.value("profile", json::object());
        emit("application.user_membership.add", "Add user to application membership",
             {{{"id", u->id}, {"type", "User"}, {"alternateId", u->profile.value("login", "")}}, atarget});
        r.set_json(app_user_json(*a, au));
        return r;
      }
      return method_not_allowed();
    }
    if (seg.size() == 6) {
      auto us = seq_of_.find(seg[5]);
      auto it = us == seq_of_.end() ? a->users.end() : a->users.find(us->second);
      if (it == a->users.end()) return not_found(seg[5], "AppUser");
      if (m == "GET") {
        r.set_json(app_user_json(*a, it->second));
        return r;
      }
      if (m == "POST") {
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
        if (body.contains("credentials") && body["credentials"].is_object())
          for (auto c = body["credentials"].begin(); c != body["credentials"].end(); ++c)
            it->second.credentials[c.key()] = c.value();
        if (body.contains("profile") && body["profile"].is_object())
          for (auto c = body["profile"].begin(); c != body["profile"].end(); ++c) it->second.profile[c.key()] = c.value();
        it->second.lastUpdated = iso_now();
        r.set_json(app_user_json(*a, it->second));
        return r;
      }
      if (m == "DELETE") {
        const std::string uid = it->second.user_id;
        a->users.erase(it);
        emit("application.user_membership.remove", "Remove user from application membership",
             {{{"id", uid}, {"type", "User"}}, atarget});
        r.status = 204;
        return r;
      }
      return method_not_allowed();
    }
  }
  if (sub == "groups") {
    if (seg.size() == 5) {
      if (m != "GET") return method_not_allowed();
      Page page;
      if (!parse_page(q, 20, 200, page, r)) return r;
      auto [out, more] = page_of(a->groups, page, [](const auto& entry) { return &entry.second; });
      json arr = json::array();
      for (const auto* ag : out) arr.push_back(app_group_json(*a, *ag));
      r.set_json(arr);
      add_links(r, req, q, more && !out.empty() ? std::optional<std::string>(out.back()->group_id) : std::nullopt,
                page.limit);
      return r;
    }
    if (seg.size() == 6) {
      Group* g = find_group(seg[5]);
      if (m == "PUT") {
        if (!g) return not_found(seg[5], "UserGroup");
        json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
        AppGroup& ag = a->groups[g->seq];
        ag.group_id = g->id;
        ag.seq = g->seq;
        ag.lastUpdated = iso_now();
        if (body.contains("priority") && body["priority"].is_number_integer()) ag.priority = body["priority"].get<int>();
        if (body.contains("profile") && body["profile"].is_object()) ag.profile = body["profile"];
        emit("application.user_membership.add", "Assign group to application",
             {{{"id", g->id}, {"type", "UserGroup"}, {"alternateId", g->profile.value("name", "")}}, atarget});
        r.set_json(app_group_json(*a, ag));
        return r;
      }
      auto it = g ? a->groups.find(g->seq) : a->groups.end();
      if (m == "GET") {
        if (it == a->groups.end()) return not_found(seg[5], "ApplicationGroupAssignment");
        r.set_json(app_group_json(*a, it->second));
        return r;
      }
      if (m == "DELETE") {
        if (it != a->groups.end()) a->groups.erase(it);
        r.status = 204;
        return r;
      }
      return method_not_allowed();
    }
  }
  return no_such_path(seg);
}

// The Okta Terraform provider sets and reads an OIDC app's ID token issuer through this internal
// endpoint. As recorded: POST {"issuerMode": ...} answers every other field null; GET answers the org
// URL as issuer and the client id as audience. The mode is kept in settings.oauthClient.issuer_mode,
// which is where the app itself reports it. Apps that are not OIDC and other modes are not recorded:
// they get the simulator's guess (404 like an unknown app, 400 E0000001).
Response Sim::internal_api(const Request& req, const std::vector<std::string>& seg) {
  if (seg.size() != 8 || seg[3] != "apps" || seg[5] != "settings" || seg[6] != "oauth" || seg[7] != "idToken")
    return no_such_path(seg);
  App* a = find_app(seg[4]);
  if (!a || a->body.value("signOnMode", "") != "OPENID_CONNECT") return not_found(seg[4], "AppInstance");
  json& settings = a->body["settings"];
  if (!settings.is_object()) settings = json::object();
  json& oauth = settings["oauthClient"];
  if (!oauth.is_object()) oauth = json::object();
  Response r;
  if (req.method == "GET") {
    std::string audience = a->id;
    const json creds = a->body.value("credentials", json::object());
    if (creds.is_object() && creds.contains("oauthClient") && creds["oauthClient"].is_object() &&
        creds["oauthClient"].contains("client_id") && creds["oauthClient"]["client_id"].is_string())
      audience = creds["oauthClient"]["client_id"].get<std::string>();
    r.set_json({{"issuer", base_},
                {"orgUrl", nullptr},
                {"customUrl", nullptr},
                {"audience", audience},
                {"issuerMode", oauth.value("issuer_mode", "ORG_URL")}});
    return r;
  }
  if (req.method != "POST") return method_not_allowed();
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  const json mode = body.value("issuerMode", json());
  if (!mode.is_string() || (mode != "ORG_URL" && mode != "CUSTOM_URL" && mode != "DYNAMIC"))
    return validation("issuerMode", {"issuerMode: must be one of ORG_URL, CUSTOM_URL, DYNAMIC"});
  oauth["issuer_mode"] = mode;
  a->lastUpdated = iso_now();
  emit("application.lifecycle.update", "Update application",
       {{{"id", a->id}, {"type", "AppInstance"}, {"alternateId", a->body.value("label", "")}}});
  r.set_json({{"issuer", nullptr}, {"orgUrl", nullptr}, {"customUrl", nullptr}, {"audience", nullptr}, {"issuerMode", mode}});
  return r;
}

}  // namespace oktasim
