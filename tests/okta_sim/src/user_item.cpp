// okta-sim: one user's URL tree, /api/v1/users/{id|login|me}[/...]: get, update and delete the
// user, dispatch to lifecycle, credentials, factors and roles, and answer the small sub-resources
// (groups, appLinks, sessions, blocks and the always-empty lists).
#include "sim.hpp"

namespace oktasim {

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
  return no_such_path(seg);
}

}  // namespace oktasim
