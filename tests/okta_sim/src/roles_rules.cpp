// okta-sim: admin role assignments (users and groups, group targets) and group rules.
#include <algorithm>
#include <cctype>

#include "sim.hpp"

namespace oktasim {

namespace {

const std::map<std::string, std::string>& role_labels() {
  static const std::map<std::string, std::string> m = {
      {"SUPER_ADMIN", "Super Administrator"},
      {"ORG_ADMIN", "Organizational Administrator"},
      {"APP_ADMIN", "Application Administrator"},
      {"USER_ADMIN", "User Administrator"},
      {"HELP_DESK_ADMIN", "Help Desk Administrator"},
      {"READ_ONLY_ADMIN", "Read-only Administrator"},
      {"MOBILE_ADMIN", "Mobile Administrator"},
      {"API_ACCESS_MANAGEMENT_ADMIN", "API Access Management Administrator"},
      {"REPORT_ADMIN", "Report Administrator"},
      {"GROUP_MEMBERSHIP_ADMIN", "Group Membership Administrator"},
  };
  return m;
}

// A very small subset of the Okta Expression Language, enough for common group rules:
//   user.attr=="v"   user.attr!="v"   String.startsWith(user.attr, S)   String.stringContains(user.attr, S)
//   S := "literal" | String.toLowerCase(S) | String.toUpperCase(S)
//   joined with && and ||
struct ExprParser {
  std::string_view s;
  std::size_t i = 0;
  const json& profile;
  bool ok = true;

  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool eat(std::string_view t) {
    ws();
    if (s.substr(i, t.size()) == t) {
      i += t.size();
      return true;
    }
    return false;
  }
  std::string str() {
    ws();
    if (eat("String.toLowerCase(")) {
      std::string v = lower(str());
      if (!eat(")")) ok = false;
      return v;
    }
    if (eat("String.toUpperCase(")) {
      std::string v = str();
      for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!eat(")")) ok = false;
      return v;
    }
    if (eat("user.")) {
      std::string name;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) name.push_back(s[i++]);
      if (profile.contains(name) && profile[name].is_string()) return profile[name].get<std::string>();
      return {};
    }
    if (i < s.size() && s[i] == '"') {
      ++i;
      std::string v;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        v.push_back(s[i++]);
      }
      if (i >= s.size()) ok = false;
      else ++i;
      return v;
    }
    ok = false;
    return {};
  }
  bool atom() {
    ws();
    if (eat("(")) {
      const bool v = disj();
      if (!eat(")")) ok = false;
      return v;
    }
    if (eat("String.startsWith(")) {
      const std::string a = str();
      if (!eat(",")) ok = false;
      const std::string b = str();
      if (!eat(")")) ok = false;
      return a.rfind(b, 0) == 0;
    }
    if (eat("String.stringContains(")) {
      const std::string a = str();
      if (!eat(",")) ok = false;
      const std::string b = str();
      if (!eat(")")) ok = false;
      return a.find(b) != std::string::npos;
    }
    const std::string a = str();
    if (eat("==")) return a == str();
    if (eat("!=")) return a != str();
    ok = false;
    return false;
  }
  bool conj() {
    bool v = atom();
    while (ok && eat("&&")) v = atom() && v;
    return v;
  }
  bool disj() {
    bool v = conj();
    while (ok && eat("||")) v = conj() || v;
    return v;
  }
};

bool rule_matches(const std::string& expr, const json& profile) {
  ExprParser p{expr, 0, profile};
  const bool v = p.disj();
  p.ws();
  return p.ok && p.i == expr.size() && v;
}

}  // namespace

Response Sim::roles(const Request& req, const std::string& owner, bool group_owner, const std::vector<std::string>& seg,
                    std::size_t at) {
  const std::string& m = req.method;
  Response r;
  auto& list = roles_[owner];
  const std::string owner_href = base_ + (group_owner ? "/api/v1/groups/" : "/api/v1/users/") + owner;
  auto role_json = [&](const RoleAssignment& ra) {
    return json{{"id", ra.id},
                {"label", role_labels().count(ra.type) ? role_labels().at(ra.type) : ra.type},
                {"type", ra.type},
                {"status", "ACTIVE"},
                {"created", ra.created},
                {"lastUpdated", ra.lastUpdated},
                {"assignmentType", group_owner ? "GROUP" : "USER"},
                {"_links", {{"assignee", {{"href", owner_href}}}}}};
  };
  if (seg.size() == at) {
    if (m == "GET") {
      json arr = json::array();
      for (const auto& ra : list) arr.push_back(role_json(ra));
      r.set_json(arr);
      return r;
    }
    if (m != "POST") return method_not_allowed();
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    const std::string type = body.value("type", "");
    if (!role_labels().count(type)) return validation("type", {"type: Invalid role type " + type});
    for (const auto& ra : list)
      if (ra.type == type) return error(409, "E0000090", "Duplicate role assignment exception.");
    RoleAssignment ra;
    // Okta names standard role assignments by the base32 of the role type (USER_ADMIN -> KVJUKUS7IFCE2SKO).
    {
      static const char* b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
      std::string out;
      unsigned buffer = 0;
      int bits = 0;
      for (const unsigned char c : type) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 5) {
          out.push_back(b32[(buffer >> (bits - 5)) & 31]);
          bits -= 5;
        }
      }
      if (bits > 0) out.push_back(b32[(buffer << (5 - bits)) & 31]);
      ra.id = out;
    }
    ra.type = type;
    ra.created = ra.lastUpdated = iso_now();
    list.push_back(ra);
    emit("user.account.privilege.grant", "Grant user privilege", {{{"id", owner}, {"type", group_owner ? "UserGroup" : "User"}}});
    r.status = 201;
    r.set_json(role_json(ra));
    return r;
  }
  auto it = std::find_if(list.begin(), list.end(), [&](const RoleAssignment& ra) { return ra.id == seg[at]; });
  if (it == list.end()) return not_found(seg[at], "Role");
  if (seg.size() == at + 1) {
    if (m == "GET") {
      r.set_json(role_json(*it));
      return r;
    }
    if (m != "DELETE") return method_not_allowed();
    list.erase(it);
    r.status = 204;
    return r;
  }
  if (seg.size() >= at + 3 && seg[at + 1] == "targets" && seg[at + 2] == "groups") {
    if (seg.size() == at + 3) {
      if (m != "GET") return method_not_allowed();
      json arr = json::array();
      for (const auto& gid : it->target_groups)
        if (auto* g = find_group(gid)) arr.push_back(group_json(*g));
      r.set_json(arr);
      return r;
    }
    if (seg.size() == at + 4) {
      Group* g = find_group(seg[at + 3]);
      if (!g) return not_found(seg[at + 3], "UserGroup");
      auto& tg = it->target_groups;
      if (m == "PUT") {
        if (std::find(tg.begin(), tg.end(), g->id) == tg.end()) tg.push_back(g->id);
      } else if (m == "DELETE") {
        tg.erase(std::remove(tg.begin(), tg.end(), g->id), tg.end());
      } else {
        return method_not_allowed();
      }
      r.status = 204;
      return r;
    }
  }
  return not_found(seg.back(), "Role");
}

// ---------------------------------------------------------------- group rules

json Sim::rule_json(const GroupRule& g) const {
  json j = {{"type", "group_rule"},
            {"id", g.id},
            {"status", g.status},
            {"name", g.name},
            {"created", g.created},
            {"lastUpdated", g.lastUpdated},
            {"conditions", g.conditions},
            {"actions", g.actions},
            {"allGroupsValid", true}};
  return j;
}

void Sim::apply_rule(GroupRule& rule, bool on) {
  const std::string expr = rule.conditions.value("expression", json::object()).value("value", "");
  std::vector<std::string> gids;
  for (const auto& g : rule.actions.value("assignUserToGroups", json::object()).value("groupIds", json::array()))
    if (g.is_string()) gids.push_back(g.get<std::string>());
  if (!on) {
    for (const auto& [gid, uid] : rule.added) {
      Group* g = find_group(gid);
      auto u = users_.find(uid);
      if (g && u != users_.end()) g->members.erase(u->second.seq);
    }
    rule.added.clear();
    return;
  }
  for (const auto& [seq, uid] : user_order_) {
    const User& u = users_.at(uid);
    if (!rule_matches(expr, u.profile)) continue;
    for (const auto& gid : gids) {
      Group* g = find_group(gid);
      if (!g || g->members.count(u.seq)) continue;
      g->members[u.seq] = uid;
      g->lastMembershipUpdated = iso_now();
      rule.added.emplace_back(gid, uid);
      emit("group.user_membership.add", "Add user to group membership",
           {{{"id", uid}, {"type", "User"}}, {{"id", gid}, {"type", "UserGroup"}}});
    }
  }
}

Response Sim::group_rules(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  const std::string& m = req.method;
  Response r;
  auto validate = [&](const json& body, std::vector<std::string>& causes) {
    if (!body.contains("name") || !body["name"].is_string() || body["name"].get<std::string>().empty())
      causes.push_back("name: The field cannot be left blank");
    const json gids = body.value("actions", json::object()).value("assignUserToGroups", json::object()).value("groupIds", json::array());
    if (!gids.is_array() || gids.empty()) causes.push_back("actions.assignUserToGroups.groupIds: The field cannot be left blank");
    else
      for (const auto& g : gids)
        if (!g.is_string() || !find_group(g.get<std::string>()))
          causes.push_back("actions.assignUserToGroups.groupIds: Group " + g.dump(-1, ' ', false, json::error_handler_t::replace) + " not found");
    return causes.empty();
  };
  if (seg.size() == 4) {
    if (m == "GET") {
      Page page;
      if (!parse_page(q, 50, 200, page, r)) return r;
      const auto* search = query_get(q, "search");
      json arr = json::array();
      for (const auto& [seq, id] : rule_order_) {
        const auto& g = rules_.at(id);
        if (page.after_seq && seq <= *page.after_seq) continue;
        if (search && !starts_with_ci(g.name, *search)) continue;
        arr.push_back(rule_json(g));
        if (arr.size() >= page.limit) break;
      }
      r.set_json(arr);
      return r;
    }
    if (m != "POST") return method_not_allowed();
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    std::vector<std::string> causes;
    if (!validate(body, causes)) return validation("groupRule", causes);
    GroupRule g;
    g.id = new_id("0pr");
    g.seq = next_seq();
    seq_of_[g.id] = g.seq;
    g.name = body["name"].get<std::string>();
    g.created = g.lastUpdated = iso_now();
    g.conditions = body.value("conditions", json::object());
    g.actions = body.value("actions", json::object());
    rule_order_[g.seq] = g.id;
    const std::string id = g.id;
    rules_.emplace(id, std::move(g));
    r.set_json(rule_json(rules_.at(id)));
    return r;
  }
  auto it = rules_.find(seg[4]);
  if (it == rules_.end()) return not_found(seg[4], "GroupRule");
  GroupRule& g = it->second;
  if (seg.size() == 5) {
    if (m == "GET") {
      r.set_json(rule_json(g));
      return r;
    }
    if (m == "PUT") {
      if (g.status == "ACTIVE")
        return validation("groupRule", {"Cannot update a rule that is ACTIVE. Deactivate the rule first."});
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      std::vector<std::string> causes;
      if (!validate(body, causes)) return validation("groupRule", causes);
      g.name = body["name"].get<std::string>();
      g.conditions = body.value("conditions", json::object());
      g.actions = body.value("actions", json::object());
      g.lastUpdated = iso_now();
      r.set_json(rule_json(g));
      return r;
    }
    if (m == "DELETE") {
      apply_rule(g, false);
      rule_order_.erase(g.seq);
      rules_.erase(it);
      r.status = 202;
      r.set_json(json::object());
      return r;
    }
    return method_not_allowed();
  }
  if (seg.size() == 7 && seg[5] == "lifecycle" && (seg[6] == "activate" || seg[6] == "deactivate")) {
    if (m != "POST") return method_not_allowed();
    const std::string st = seg[6] == "activate" ? "ACTIVE" : "INACTIVE";
    if (g.status != st) {
      g.status = st;
      g.lastUpdated = iso_now();
      apply_rule(g, st == "ACTIVE");
    }
    r.status = 204;
    return r;
  }
  return not_found(seg.back(), "GroupRule");
}

}  // namespace oktasim
