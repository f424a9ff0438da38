// okta.* group actions: group CRUD, lookups and listings, and memberships.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "okta/okta_action.hpp"
#include "okta/user_ref.hpp"

namespace spokeflow::okta {
namespace asio = boost::asio;

namespace {

using connect::ApiRequest;

std::string group_path(const Call& c) { return "/api/v1/groups/" + seg(c.in()["group_id"]); }

std::string group_name(const Json& group) {
  if (!group.is_object()) return {};
  const Json profile = group.value("profile", Json::object());
  return profile.is_object() && profile.contains("name") && profile["name"].is_string()
             ? profile["name"].get<std::string>()
             : std::string();
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

Json group_outputs(Json group) {
  Json out = Json::object();
  out["group_id"] = group.is_object() ? group.value("id", Json()) : Json();
  const std::string name = group_name(group);
  out["name"] = name.empty() ? Json() : Json(name);
  out["group"] = std::move(group);
  return out;
}

// Okta compares timestamps in filters as text in its own shape (2024-01-31T08:00:00.000Z), so
// whatever ISO 8601 form a flow gives is normalised to UTC with milliseconds first.
std::optional<std::string> normalize_timestamp(const std::string& text) {
  int Y = 0, M = 0, D = 0, h = 0, m = 0, s = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &Y, &M, &D, &consumed) != 3 || consumed != 10) return std::nullopt;
  std::size_t i = 10;
  int ms = 0;
  long offset_seconds = 0;
  if (i < text.size()) {
    if (text[i] != 'T' && text[i] != 't' && text[i] != ' ') return std::nullopt;
    int used = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d:%2d%n", &h, &m, &s, &used) != 3 || used != 8) return std::nullopt;
    i += 1 + 8;
    if (i < text.size() && text[i] == '.') {
      ++i;
      int digits = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (digits < 3) ms = ms * 10 + (text[i] - '0');
        ++digits;
        ++i;
      }
      if (digits == 0) return std::nullopt;
      for (int d = digits; d < 3; ++d) ms *= 10;
    }
    if (i >= text.size()) return std::nullopt;  // a time without a zone is ambiguous
    if (text[i] == 'Z' || text[i] == 'z') {
      ++i;
    } else if (text[i] == '+' || text[i] == '-') {
      int oh = 0, om = 0, used2 = 0;
      if (std::sscanf(text.c_str() + i + 1, "%2d:%2d%n", &oh, &om, &used2) != 2 || used2 != 5) return std::nullopt;
      offset_seconds = (text[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
      i += 6;
    } else {
      return std::nullopt;
    }
    if (i != text.size()) return std::nullopt;
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  const time_t t = timegm(&tm) - offset_seconds;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                utc.tm_hour, utc.tm_min, utc.tm_sec, ms);
  return std::string(buf);
}

// Every group whose name starts with `name` (Okta's q is a prefix match, case-insensitive),
// kept when `keep` says so. q answers cannot be paged in Okta and stop at 300 by default,
// so the largest page Okta allows is asked for; a next link, if any, is followed all the same.
asio::awaitable<Result<Json>> groups_named(Call& c, const std::string& name, std::function<bool(const Json&)> keep) {
  ApiRequest req = request("GET", "/api/v1/groups");
  req.query.emplace_back("q", name);
  auto r = co_await c.list(std::move(req), std::move(keep), 10000);
  co_return r;
}

// ---------------------------------------------------------------- CRUD

asio::awaitable<Result<Json>> create_group(Call& c) {
  const Json& in = c.in();
  const std::string name = in["name"].get<std::string>();
  Json profile = in.value("profile", Json::object());
  profile["name"] = name;
  if (in.contains("description")) profile["description"] = in["description"];
  // (Bodies are built before co_await: GCC 12 miscompiles braced JSON literals inside it.)
  ApiRequest req = request("POST", "/api/v1/groups", Json{{"profile", profile}});
  // A second create is refused (the name exists) and converges below.
  req.safe_to_repeat = c.converges();
  auto r = co_await c.send(std::move(req));
  if (r.ok()) {
    Json out = group_outputs(std::move(r->json));
    out["already"] = false;
    co_return c.finish(std::move(out));
  }
  // Okta refuses a second group of the same name (compared without case) with E0000001
  // "name: An object with this field already exists in the current organization".
  if (!c.already(r.error(), {"E0000001"}, "already exists")) co_return r.error();
  Error refused = r.error();
  auto found = co_await groups_named(c, name, [&name](const Json& g) { return iequal(group_name(g), name); });
  if (!found.ok()) co_return found.error();
  const Json* pick = nullptr;
  for (const auto& g : (*found)["items"]) {
    if (group_name(g) == name) {
      pick = &g;
      break;
    }
    if (!pick) pick = &g;
  }
  if (!pick) co_return refused;  // the clash is with something q does not show: let the author see Okta's answer
  Json out = group_outputs(*pick);
  out["already"] = true;
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> get_group(Call& c) {
  auto r = co_await c.send(request("GET", group_path(c)));
  if (!r.ok()) co_return r.error();
  co_return c.finish(group_outputs(std::move(r->json)));
}

asio::awaitable<Result<Json>> update_group(Call& c) {
  const Json& in = c.in();
  if (!in.contains("name") && !in.contains("description") && !in.contains("profile"))
    co_return Error::make(ErrorKind::validation,
                          "okta.update_group: nothing to change: give `name`, `description` and/or `profile`");
  // Okta's PUT replaces the whole profile: start from the current one so that what the step
  // does not mention stays as it is.
  auto cur = co_await c.send(request("GET", group_path(c)));
  if (!cur.ok()) co_return cur.error();
  Json profile = cur->json.is_object() ? cur->json.value("profile", Json::object()) : Json::object();
  if (!profile.is_object()) profile = Json::object();
  if (in.contains("profile"))
    for (const auto& [k, v] : in["profile"].items()) {
      if (v.is_null())
        profile.erase(k);
      else
        profile[k] = v;
    }
  if (in.contains("name")) profile["name"] = in["name"];
  if (in.contains("description")) profile["description"] = in["description"];
  ApiRequest req = request("PUT", group_path(c), Json{{"profile", profile}});
  auto r = co_await c.send(std::move(req));
  if (!r.ok()) co_return r.error();
  co_return c.finish(group_outputs(std::move(r->json)));
}

asio::awaitable<Result<Json>> delete_group(Call& c) {
  auto r = co_await c.send(request("DELETE", group_path(c)));
  if (r.ok()) co_return c.finish({{"group_id", c.in()["group_id"]}, {"deleted", true}, {"already", false}});
  if (!c.already(r.error(), {"E0000007"})) co_return r.error();
  co_return c.finish({{"group_id", c.in()["group_id"]}, {"deleted", false}, {"already", true}});
}

// ---------------------------------------------------------------- lookups and lists

asio::awaitable<Result<Json>> lookup_group_id_by_name(Call& c) {
  const Json& in = c.in();
  const std::string name = in["name"].get<std::string>();
  const std::string type = in.value("type", std::string());
  auto found = co_await groups_named(c, name, [&name, &type](const Json& g) {
    return group_name(g) == name && (type.empty() || g.value("type", std::string()) == type);
  });
  if (!found.ok()) co_return found.error();
  const Json& items = (*found)["items"];
  if (items.size() > 1) {
    std::string ids;
    for (const auto& g : items)
      ids +=
          (ids.empty() ? "" : ", ") + g.value("id", std::string("?")) + " (" + g.value("type", std::string("?")) + ")";
    Error e = Error::make(ErrorKind::validation, "okta.lookup_group_id_by_name: " + std::to_string(items.size()) +
                                                     " groups are named exactly \"" + name + "\": " + ids +
                                                     "; give `type` to choose one, or use the group id");
    e.details = {{"group_ids", Json::array()}};
    for (const auto& g : items) e.details["group_ids"].push_back(g.value("id", Json()));
    co_return e;
  }
  Json out = {{"found", !items.empty()}};
  if (items.empty()) {
    out["group_id"] = nullptr;
    out["group"] = nullptr;
  } else {
    out["group_id"] = items[0].value("id", Json());
    out["group"] = items[0];
  }
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> list_groups(Call& c) {
  const Json& in = c.in();
  ApiRequest req = request("GET", "/api/v1/groups");
  std::string filter = in.value("filter", std::string());
  std::string search = in.value("search", std::string());
  if (in.contains("changed_since")) {
    const std::string raw = in["changed_since"].get<std::string>();
    auto ts = normalize_timestamp(raw);
    if (!ts)
      co_return Error::make(ErrorKind::validation, "okta.list_groups: changed_since \"" + raw +
                                                       "\" is not an ISO 8601 timestamp with a zone (e.g. "
                                                       "2024-01-31T08:00:00Z, 2024-01-31T09:00:00+01:00) or a date");
    // A profile change moves lastUpdated, a membership change lastMembershipUpdated.
    const std::string changed =
        "lastUpdated gt " + filter_literal(*ts) + " or lastMembershipUpdated gt " + filter_literal(*ts);
    // Okta reads `search` or `filter`, not both: add the condition to the one in use.
    std::string& target = search.empty() ? filter : search;
    target = target.empty() ? changed : "(" + target + ") and (" + changed + ")";
  }
  const bool has_q = in.contains("q");
  if (has_q) req.query.emplace_back("q", in["q"].get<std::string>());
  if (!filter.empty()) req.query.emplace_back("filter", filter);
  if (!search.empty()) req.query.emplace_back("search", search);
  if (in.contains("sort_by")) req.query.emplace_back("sortBy", in["sort_by"].get<std::string>());
  if (in.contains("sort_order")) req.query.emplace_back("sortOrder", in["sort_order"].get<std::string>());
  // Okta cannot page a q query: ask for as many as the step may keep in one page.
  int limit = 200;
  if (has_q) limit = std::clamp(in.value("max_items", 1000), 1, 10000);
  auto r = co_await c.list(std::move(req), {}, limit);
  co_return r;
}

asio::awaitable<Result<Json>> list_group_members(Call& c) {
  auto r = co_await c.list(request("GET", group_path(c) + "/users"));
  co_return r;
}

asio::awaitable<Result<Json>> list_user_groups(Call& c) {
  // The endpoint takes no limit in Okta's contract: only a page_size the step gives is sent.
  auto r = co_await c.list(request("GET", "/api/v1/users/" + seg(c.in()["user_id"]) + "/groups"), {}, 0);
  co_return r;
}

// ---------------------------------------------------------------- membership

asio::awaitable<Result<Json>> add_user_to_group(Call& c) {
  const Json& in = c.in();
  auto uid = co_await user_id_of(c, in["user_id"]);
  if (!uid.ok()) co_return uid.error();
  auto r = co_await c.send(request("PUT", group_path(c) + "/users/" + connect::escape_path_segment(*uid)));
  if (!r.ok()) co_return r.error();
  // Okta answers 204 whether or not the user was a member: nothing tells the cases apart.
  co_return c.finish({{"group_id", in["group_id"]}, {"user_id", *uid}, {"member", true}, {"already", false}});
}

asio::awaitable<Result<Json>> remove_user_from_group(Call& c) {
  const Json& in = c.in();
  auto uid = co_await user_id_of(c, in["user_id"]);
  if (!uid.ok()) co_return uid.error();
  auto r = co_await c.send(request("DELETE", group_path(c) + "/users/" + connect::escape_path_segment(*uid)));
  if (!r.ok()) co_return r.error();
  co_return c.finish({{"group_id", in["group_id"]}, {"user_id", *uid}, {"member", false}, {"already", false}});
}

// Walks two lists at once, a page of each in turn: the user's groups and the group's members.
// The shorter one ends first and settles the answer, so a user in few groups costs one
// request and a small group a couple, without knowing either size in advance.
asio::awaitable<Result<Json>> is_user_in_group(Call& c) {
  const Json& in = c.in();
  const std::string user = in["user_id"].get<std::string>();
  const std::string group = in["group_id"].get<std::string>();
  const std::string via = in.value("via", std::string("auto"));
  const int page_size = in.value("page_size", 200);

  struct Walk {
    bool enabled = true;
    bool started = false;
    std::string next;
    int pages = 0;
  };
  Walk by_user, by_group;
  by_user.enabled = via != "group_members";
  by_group.enabled = via != "user_groups";
  std::optional<bool> member;
  std::string settled_by;
  for (int turn = 0; !member; ++turn) {
    const bool user_turn = (turn % 2 == 0) ? by_user.enabled : !by_group.enabled;
    Walk& w = user_turn ? by_user : by_group;
    ApiRequest req;
    if (w.started) {
      req = request("GET", w.next);
    } else if (user_turn) {
      req = request("GET", "/api/v1/users/" + seg(in["user_id"]) + "/groups");
      if (in.contains("page_size")) req.query.emplace_back("limit", std::to_string(page_size));
    } else {
      req = request("GET", group_path(c) + "/users");
      req.query.emplace_back("limit", std::to_string(page_size));
    }
    auto r = co_await c.send(std::move(req));
    if (!r.ok()) co_return r.error();
    w.started = true;
    ++w.pages;
    if (!r->json.is_array())
      co_return Error::make(ErrorKind::http, "okta.is_user_in_group: expected a JSON list from " + c.client().alias() +
                                                 ", got " + std::string(r->json.type_name()));
    for (const auto& item : r->json) {
      if (!item.is_object()) continue;
      bool hit = false;
      if (user_turn) {
        hit = item.value("id", std::string()) == group;
      } else {
        const Json profile = item.value("profile", Json::object());
        hit = item.value("id", std::string()) == user ||
              (profile.is_object() && iequal(profile.value("login", std::string()), user));
      }
      if (hit) {
        member = true;
        break;
      }
    }
    w.next = r->next_url;
    if (!member && w.next.empty()) member = false;  // one whole list read without a match
    if (member.has_value()) settled_by = user_turn ? "user_groups" : "group_members";
  }
  co_return c.finish({{"member", *member},
                      {"user_id", in["user_id"]},
                      {"group_id", in["group_id"]},
                      {"settled_by", settled_by},
                      {"pages_read", by_user.pages + by_group.pages}});
}

}  // namespace

void register_groups(ActionRegistry& registry, const ConnectionsPtr& connections) {
  registry.add(make_action("actions/okta/create_group.json", connections, &create_group));
  registry.add(make_action("actions/okta/get_group.json", connections, &get_group));
  registry.add(make_action("actions/okta/update_group.json", connections, &update_group));
  registry.add(make_action("actions/okta/delete_group.json", connections, &delete_group));
  registry.add(make_action("actions/okta/lookup_group_id_by_name.json", connections, &lookup_group_id_by_name));
  registry.add(make_action("actions/okta/list_groups.json", connections, &list_groups));
  registry.add(make_action("actions/okta/list_group_members.json", connections, &list_group_members));
  registry.add(make_action("actions/okta/list_user_groups.json", connections, &list_user_groups));
  registry.add(make_action("actions/okta/add_user_to_group.json", connections, &add_user_to_group));
  registry.add(make_action("actions/okta/remove_user_from_group.json", connections, &remove_user_from_group));
  registry.add(make_action("actions/okta/is_user_in_group.json", connections, &is_user_in_group));
}

}  // namespace spokeflow::okta
