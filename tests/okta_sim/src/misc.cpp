// okta-sim: auth, reset and seed, System Log, event hooks, schema metadata, sessions.
#include <algorithm>
#include <cctype>
#include <string_view>
#include <stdexcept>

#include "filter.hpp"
#include "sim.hpp"

namespace oktasim {

namespace {
// trim() without the copy (same whitespace set).
std::string_view trim_view(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
}  // namespace

// ---------------------------------------------------------------- auth

bool Sim::auth_ok(const Request& req, const std::vector<std::string>& seg, Response& out) {
  if (seg.size() >= 1 && (seg[0] == ".well-known" || seg[0] == "oauth2")) return true;
  const std::string* h = req.header("Authorization");
  auto invalid = [&] {
    out = error(401, "E0000011", "Invalid token provided");
    return false;
  };
  if (!h) return invalid();
  const std::string_view v = trim_view(*h);
  if (starts_with_ci(v, "SSWS ")) {
    if (trim_view(v.substr(5)) == api_token_ && !api_token_.empty()) return true;
    return invalid();
  }
  if (starts_with_ci(v, "Bearer ") || starts_with_ci(v, "DPoP ")) {
    const bool dpop = starts_with_ci(v, "DPoP ");
    const std::string tok = trim(v.substr(dpop ? 5 : 7));
    auto it = tokens_.find(tok);
    if (it == tokens_.end() || it->second.expires_at <= epoch_seconds(Clock::now())) {
      out = error(401, "E0000011", "Invalid token provided");
      out.headers.emplace_back("WWW-Authenticate", std::string(dpop ? "DPoP" : "Bearer") +
                                                       " authorization_uri=\"" + base_ +
                                                       "/oauth2/v1/authorize\", realm=\"" + base_ +
                                                       "\", scope=\"\", error=\"invalid_token\", "
                                                       "error_description=\"The access token is invalid.\"");
      return false;
    }
    if (it->second.jkt && !dpop) return invalid();
    if (dpop && !verify_dpop_for_api(req, it->second, tok, out)) return false;
    const std::string need = required_scope(req.method, seg);
    if (!need.empty()) {
      bool ok = it->second.scopes.count(need) > 0;
      // manage implies read
      if (!ok && need.size() > 5 && need.substr(need.size() - 5) == ".read")
        ok = it->second.scopes.count(need.substr(0, need.size() - 5) + ".manage") > 0;
      if (!ok) {
        out = Response{};
        out.status = 403;
        out.headers.emplace_back("WWW-Authenticate",
                                 std::string(dpop ? "DPoP" : "Bearer") + " authorization_uri=\"" + base_ +
                                     "/oauth2/v1/authorize\", realm=\"" + base_ + "\", scope=\"" + need +
                                     "\", error=\"insufficient_scope\", error_description=\"The access token "
                                     "provided does not contain the required scopes.\", resource=\"" +
                                     req.path + "\"");
        return false;
      }
    }
    return true;
  }
  return invalid();
}

// ---------------------------------------------------------------- reset and seed

void Sim::reset() {
  ++gen_;
  users_.clear();
  user_order_.clear();
  login_index_.clear();
  groups_.clear();
  group_order_.clear();
  apps_.clear();
  app_order_.clear();
  factors_.clear();
  hooks_.clear();
  hook_order_.clear();
  events_.clear();
  roles_.clear();
  rules_.clear();
  rule_order_.clear();
  seq_of_.clear();
  tokens_.clear();
  used_jtis_.clear();
  dpop_nonces_.clear();
  dpop_jtis_.clear();
  auth_codes_.clear();
  refresh_tokens_.clear();
  buckets_.clear();
  outbox_.clear();
  clients_.clear();
  org_factors_ = {{"okta_question", "INACTIVE"}, {"okta_sms", "INACTIVE"}, {"okta_otp", "ACTIVE"},
                  {"okta_email", "ACTIVE"}, {"okta_password", "ACTIVE"}};
  custom_schema_ = json::object();
  policies_.clear();
  {
    const std::string now = iso_now();
    int prio = 0;
    auto add = [&](const char* type, const char* name, const char* desc, bool system) {
      json p = {{"id", new_id("rst")}, {"type", type}, {"name", name}, {"system", system}, {"priority", ++prio},
                {"created", now}};
      if (desc) p["description"] = desc;
      seq_of_[p["id"].get<std::string>()] = next_seq();
      policies_.push_back(p);
    };
    add("ACCESS_POLICY", "Okta Admin Console", nullptr, false);
    add("ACCESS_POLICY", "Okta Dashboard", nullptr, false);
    add("ACCESS_POLICY", "Any two factors", "Require two factors to access.", true);
    add("ACCESS_POLICY", "One factor access", "Require one factor to access.", false);
    prio = 0;
    add("OKTA_SIGN_ON", "Default Policy", "The default policy applies in all situations if no other policy applies.", true);
    prio = 0;
    add("PASSWORD", "Default Policy", "The default password policy applies when no other policy applies.", true);
    prio = 0;
    add("MFA_ENROLL", "Default Policy", "The default MFA enrollment policy.", true);
  }
  const std::string suffix = rng_.base62(17);
  org_type_id_ = "oty" + suffix;
  org_schema_id_ = "osc" + suffix;
  org_id_ = "00o" + suffix;

  Group& every = create_group_internal({{"name", "Everyone"}, {"description", "All users in your organization"}},
                                       "BUILT_IN");
  everyone_id_ = every.id;

  const json seed = seed_;
  const json admin = seed.value("admin", json::object());
  User a;
  a.id = admin.value("id", new_id("00u"));
  a.seq = next_seq();
  seq_of_[a.id] = a.seq;
  a.status = "ACTIVE";
  a.created = a.lastUpdated = iso_now();
  a.statusChanged = a.created;
  a.lastLogin = a.created;
  a.activated = a.created;
  a.profile = {{"login", admin.value("login", "admin@okta-sim.example")},
               {"email", admin.value("login", "admin@okta-sim.example")},
               {"firstName", admin.value("firstName", "Sim")},
               {"lastName", admin.value("lastName", "Admin")}};
  a.password = admin.value("password", "Adm1nPassw0rd");
  a.passwordChanged = a.created;
  admin_user_id_ = a.id;
  login_index_[lower(a.profile["login"].get<std::string>())] = a.id;
  user_order_[a.seq] = a.id;
  every.members[a.seq] = a.id;
  users_.emplace(a.id, std::move(a));

  // schema first: users may use custom properties
  if (seed.contains("schema")) {
    const json& custom = seed["schema"].value("custom", json::object());
    for (auto it = custom.begin(); it != custom.end(); ++it) {
      json def = it.value().is_object() ? it.value() : json::object();
      if (!def.contains("type")) def["type"] = "string";
      if (!def.contains("title")) def["title"] = it.key();
      custom_schema_[it.key()] = def;
    }
  }
  std::map<std::string, std::string> group_by_name;
  for (const auto& gj : seed.value("groups", json::array())) {
    json profile = {{"name", gj.at("name")}};
    if (gj.contains("description")) profile["description"] = gj["description"];
    Group& g = create_group_internal(profile, gj.value("type", "OKTA_GROUP"), gj.value("id", ""));
    group_by_name[gj.at("name").get<std::string>()] = g.id;
  }
  for (const auto& uj : seed.value("users", json::array())) {
    User u;
    u.id = uj.value("id", new_id("00u"));
    u.seq = next_seq();
    seq_of_[u.id] = u.seq;
    u.status = uj.value("status", "ACTIVE");
    u.created = u.lastUpdated = iso_now();
    u.statusChanged = u.created;
    if (u.status != "STAGED") u.activated = u.created;
    json profile = uj.value("profile", json::object());
    profile["login"] = uj.at("login");
    if (!profile.contains("email")) profile["email"] = uj.value("email", uj.at("login").get<std::string>());
    if (!profile.contains("firstName")) profile["firstName"] = uj.value("firstName", "First");
    if (!profile.contains("lastName")) profile["lastName"] = uj.value("lastName", "Last");
    {
      std::vector<std::string> causes;
      if (!validate_profile(profile, causes, true)) {
        std::string all;
        for (const auto& c : causes) all += (all.empty() ? "" : "; ") + c;
        throw std::runtime_error("seed: user " + profile["login"].dump() + ": " + all);
      }
    }
    u.profile = profile;
    if (uj.contains("password")) {
      u.password = uj["password"].get<std::string>();
      u.passwordChanged = u.created;
    }
    // Sign-ins are not simulated: a seed says when a user last signed in (ISO 8601), if ever.
    if (uj.contains("lastLogin")) u.lastLogin = uj["lastLogin"].get<std::string>();
    const std::string login = lower(profile["login"].get<std::string>());
    if (login_index_.count(login)) throw std::runtime_error("seed: duplicate user login " + login);
    login_index_[login] = u.id;
    user_order_[u.seq] = u.id;
    every.members[u.seq] = u.id;
    for (const auto& gn : uj.value("groups", json::array())) {
      auto it = group_by_name.find(gn.get<std::string>());
      if (it == group_by_name.end()) throw std::runtime_error("seed: user " + login + " names unknown group " + gn.dump(-1, ' ', false, json::error_handler_t::replace));
      groups_.at(it->second).members[u.seq] = u.id;
    }
    users_.emplace(u.id, std::move(u));
  }
  for (const auto& aj : seed.value("apps", json::array())) {
    json body = aj.value("app", json::object());
    body["label"] = aj.at("label");
    if (!body.contains("signOnMode")) body["signOnMode"] = aj.value("signOnMode", "BOOKMARK");
    if (aj.contains("url")) body["settings"] = {{"app", {{"url", aj["url"]}, {"requestIntegration", false}}}};
    App& app = create_app_internal(body, aj.value("status", "ACTIVE") == "ACTIVE", aj.value("id", ""));
    for (const auto& ul : aj.value("users", json::array())) {
      User* u = find_user(ul.get<std::string>());
      if (!u) throw std::runtime_error("seed: app " + aj.at("label").dump(-1, ' ', false, json::error_handler_t::replace) + " names unknown user " + ul.dump(-1, ' ', false, json::error_handler_t::replace));
      AppUser& au = app.users[u->seq];
      au.user_id = u->id;
      au.seq = u->seq;
      au.created = au.lastUpdated = au.statusChanged = iso_now();
      au.credentials = {{"userName", u->profile["login"]}};
    }
    for (const auto& gn : aj.value("groups", json::array())) {
      auto it = group_by_name.find(gn.get<std::string>());
      if (it == group_by_name.end()) throw std::runtime_error("seed: app names unknown group " + gn.dump(-1, ' ', false, json::error_handler_t::replace));
      Group& g = groups_.at(it->second);
      AppGroup& ag = app.groups[g.seq];
      ag.group_id = g.id;
      ag.seq = g.seq;
      ag.lastUpdated = iso_now();
    }
  }
  for (const auto& cj : seed.value("oauth_clients", json::array())) {
    OAuthClient c;
    c.client_id = cj.at("client_id").get<std::string>();
    c.public_key_pem = cj.value("public_key_pem", "");
    c.jwk = cj.value("public_jwk", json());
    for (const auto& s : cj.value("scopes", json::array())) c.scopes.insert(s.get<std::string>());
    c.dpop = cj.value("dpop", true);
    c.refresh_token = cj.value("refresh_token", "");
    c.client_secret = cj.value("client_secret", "");
    for (const auto& u : cj.value("redirect_uris", json::array())) c.redirect_uris.push_back(u.get<std::string>());
    c.rotate_refresh_token = cj.value("rotate_refresh_token", false);
    clients_[c.client_id] = c;
  }
  seed_refresh_tokens();
}

namespace {
void check_seed_keys(const json& j, std::initializer_list<const char*> allowed, const std::string& where) {
  if (!j.is_object()) throw std::runtime_error(where + ": expected a mapping");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) throw std::runtime_error(where + ": unknown key '" + it.key() + "'");
  }
}
}  // namespace

void Sim::load_seed(const json& seed) {
  check_seed_keys(seed, {"admin", "schema", "groups", "users", "apps", "oauth_clients"}, "seed");
  auto each = [&](const char* key, std::initializer_list<const char*> allowed, std::initializer_list<const char*> required) {
    if (!seed.contains(key)) return;
    if (!seed[key].is_array()) throw std::runtime_error(std::string("seed.") + key + ": expected a list");
    std::size_t i = 0;
    for (const auto& e : seed[key]) {
      const std::string where = std::string("seed.") + key + "[" + std::to_string(i++) + "]";
      check_seed_keys(e, allowed, where);
      for (const char* r : required)
        if (!e.contains(r) || !e[r].is_string()) throw std::runtime_error(where + ": '" + r + "' is required (a string)");
    }
  };
  each("groups", {"id", "name", "description", "type"}, {"name"});
  each("users", {"id", "login", "email", "firstName", "lastName", "status", "password", "profile", "groups", "lastLogin"}, {"login"});
  each("apps", {"id", "label", "signOnMode", "url", "status", "users", "groups", "app"}, {"label"});
  each("oauth_clients", {"client_id", "public_key_pem", "public_jwk", "scopes", "dpop", "refresh_token", "client_secret",
                         "redirect_uris", "rotate_refresh_token"}, {"client_id"});
  for (const auto& c : seed.value("oauth_clients", json::array())) {
    if (!c.contains("redirect_uris")) continue;
    if (!c["redirect_uris"].is_array()) throw std::runtime_error("seed.oauth_clients: redirect_uris must be a list");
    for (const auto& u : c["redirect_uris"]) {
      const std::string uri = u.is_string() ? u.get<std::string>() : std::string();
      // The sim only ever redirects to loopback: a browser following it never leaves the machine.
      if (uri.rfind("http://127.0.0.1:", 0) != 0 && uri.rfind("http://localhost:", 0) != 0 &&
          uri.rfind("http://[::1]:", 0) != 0)
        throw std::runtime_error("seed.oauth_clients: redirect URI " + u.dump() +
                                 " is not a loopback http URL (http://127.0.0.1:PORT/..., localhost or [::1])");
    }
  }
  if (seed.contains("admin")) check_seed_keys(seed["admin"], {"id", "login", "firstName", "lastName", "password"}, "seed.admin");
  if (seed.contains("schema")) check_seed_keys(seed["schema"], {"custom"}, "seed.schema");
  static const std::set<std::string> statuses = {"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED",
                                                 "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"};
  for (const auto& u : seed.value("users", json::array()))
    if (u.contains("status") && (!u["status"].is_string() || !statuses.count(u["status"].get<std::string>())))
      throw std::runtime_error("seed: user " + u.value("login", "?") + " has an unknown status " + u["status"].dump(-1, ' ', false, json::error_handler_t::replace));
  const json old = seed_;
  seed_ = seed;
  try {
    reset();
  } catch (...) {
    seed_ = old;
    reset();
    throw;
  }
}

// ---------------------------------------------------------------- System Log

Response Sim::logs(const Request& req, const Query& q) {
  Response r;
  Page page;
  Query q2;
  for (const auto& kv : q)
    if (kv.first != "after") q2.push_back(kv);
  if (!parse_page(q2, 100, 1000, page, r)) return r;
  // The System Log cursor is the event sequence number.
  if (const auto* a = query_get(q, "after"); a && !a->empty()) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(a->c_str(), &end, 10);
    if (*end != '\0') return error(400, "E0000029", "Invalid paging request.");
    page.after_seq = v;
  }
  Clock::time_point since = Clock::now() - std::chrono::hours(24 * 7), until = Clock::now() + std::chrono::hours(1);
  if (const auto* s = query_get(q, "since"); s && !parse_iso(*s, since))
    return validation("since", {"since: Invalid date format, expected ISO 8601"});
  if (const auto* u = query_get(q, "until"); u && !parse_iso(*u, until))
    return validation("until", {"until: Invalid date format, expected ISO 8601"});
  Filter filter;
  if (const auto* f = query_get(q, "filter"); f && !f->empty()) {
    std::string why;
    if (!filter.parse(*f, why)) return error(400, "E0000031", "Invalid search criteria.", {why});
  }
  std::vector<std::string> words;
  if (const auto* qq = query_get(q, "q")) {
    std::string w;
    for (const char c : *qq + " ") {
      if (c == ' ') {
        if (!w.empty()) words.push_back(lower(w));
        w.clear();
      } else {
        w.push_back(c);
      }
    }
  }
  const bool desc = query_get(q, "sortOrder") && iequals(*query_get(q, "sortOrder"), "DESCENDING");
  std::vector<std::pair<std::uint64_t, json>> all;
  auto consider = [&](const LogEvent& e) {
    if (page.after_seq && (desc ? e.seq >= *page.after_seq : e.seq <= *page.after_seq)) return true;
    if (e.published < since || e.published >= until) return true;
    json j = event_json(e);
    if (!filter.matches(j)) return true;
    if (!words.empty()) {
      const std::string text = lower(j.dump(-1, ' ', false, json::error_handler_t::replace));
      for (const auto& w : words)
        if (text.find(w) == std::string::npos) return true;
    }
    all.emplace_back(e.seq, std::move(j));
    return all.size() <= page.limit;
  };
  if (desc) {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it)
      if (!consider(*it)) break;
  } else {
    for (const auto& e : events_)
      if (!consider(e)) break;
  }
  const bool more = all.size() > page.limit;
  if (more) all.resize(page.limit);
  json arr = json::array();
  for (auto& [seq, j] : all) arr.push_back(std::move(j));
  r.set_json(arr);
  std::optional<std::string> next;
  if (!all.empty()) next = std::to_string(all.back().first);
  // Polling (ascending, no until) always offers a next link, like Okta.
  const bool polling = !desc && !query_get(q, "until");
  if (!more && !polling) next.reset();
  if (!next && polling && query_get(q, "after")) next = *query_get(q, "after");
  add_links(r, req, q, next, page.limit);
  return r;
}

// ---------------------------------------------------------------- event hooks

json Sim::hook_json(const EventHook& h) const {
  json channel = h.channel;
  if (channel.contains("config") && channel["config"].contains("authScheme") &&
      channel["config"]["authScheme"].is_object())
    channel["config"]["authScheme"].erase("value");
  const std::string self = base_ + "/api/v1/eventHooks/" + h.id;
  json links = {{"self", {{"href", self}}},
                {"verify", {{"href", self + "/lifecycle/verify"}, {"hints", {{"allow", {"POST"}}}}}}};
  if (h.status == "ACTIVE")
    links["deactivate"] = {{"href", self + "/lifecycle/deactivate"}, {"hints", {{"allow", {"POST"}}}}};
  else
    links["activate"] = {{"href", self + "/lifecycle/activate"}, {"hints", {{"allow", {"POST"}}}}};
  return {{"id", h.id},
          {"status", h.status},
          {"verificationStatus", h.verificationStatus},
          {"name", h.name},
          {"created", h.created},
          {"createdBy", admin_user_id_},
          {"lastUpdated", h.lastUpdated},
          {"events", h.events},
          {"channel", channel},
          {"_links", links}};
}

namespace {
bool hook_body_ok(const json& body, std::vector<std::string>& causes) {
  if (!body.contains("name") || !body["name"].is_string() || body["name"].get<std::string>().empty())
    causes.push_back("name: The field cannot be left blank");
  const json ev = body.value("events", json::object());
  if (!ev.is_object() || !ev.contains("items") || !ev["items"].is_array() || ev["items"].empty())
    causes.push_back("events: The field cannot be left blank");
  const json ch = body.value("channel", json::object());
  if (!ch.is_object() || !ch.contains("config") || !ch["config"].is_object() || !ch["config"].contains("uri") ||
      !ch["config"]["uri"].is_string() || ch["config"]["uri"].get<std::string>().empty())
    causes.push_back("channel.config.uri: The field cannot be left blank");
  return causes.empty();
}
}  // namespace

Response Sim::hooks_collection(const Request& req) {
  Response r;
  if (req.method == "GET") {
    json arr = json::array();
    for (const auto& [seq, id] : hook_order_) arr.push_back(hook_json(hooks_.at(id)));
    r.set_json(arr);
    return r;
  }
  if (req.method != "POST") return method_not_allowed();
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
  std::vector<std::string> causes;
  if (!hook_body_ok(body, causes)) return validation("eventHook", causes);
  EventHook h;
  h.id = new_id("who");
  h.seq = next_seq();
  seq_of_[h.id] = h.seq;
  h.name = body["name"].get<std::string>();
  h.created = h.lastUpdated = iso_now();
  h.events = body["events"];
  if (!h.events.contains("type")) h.events["type"] = "EVENT_TYPE";
  h.channel = body["channel"];
  if (!h.channel.contains("type")) h.channel["type"] = "HTTP";
  if (!h.channel.contains("version")) h.channel["version"] = "1.0.0";
  if (!h.channel["config"].contains("method")) h.channel["config"]["method"] = "POST";
  if (!h.channel["config"].contains("headers")) h.channel["config"]["headers"] = json::array();
  hook_order_[h.seq] = h.id;
  const std::string id = h.id;
  hooks_.emplace(id, std::move(h));
  emit("event_hook.created", "Event hook created", {{{"id", id}, {"type", "EventHook"}}});
  r.set_json(hook_json(hooks_.at(id)));
  return r;
}

Response Sim::hook_item(const Request& req, const std::vector<std::string>& seg) {
  Response r;
  const std::string& m = req.method;
  auto it = hooks_.find(seg[3]);
  if (it == hooks_.end()) return not_found(seg[3], "Webhook");
  EventHook& h = it->second;
  if (seg.size() == 4) {
    if (m == "GET") {
      r.set_json(hook_json(h));
      return r;
    }
    if (m == "PUT") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
      std::vector<std::string> causes;
      if (!hook_body_ok(body, causes)) return validation("eventHook", causes);
      h.name = body["name"].get<std::string>();
      h.events = body["events"];
      if (!h.events.contains("type")) h.events["type"] = "EVENT_TYPE";
      json old_auth = h.channel.value("config", json::object()).value("authScheme", json::object());
      h.channel = body["channel"];
      if (!h.channel.contains("type")) h.channel["type"] = "HTTP";
      if (!h.channel.contains("version")) h.channel["version"] = "1.0.0";
      if (!h.channel["config"].contains("method")) h.channel["config"]["method"] = "POST";
      if (!h.channel["config"].contains("headers")) h.channel["config"]["headers"] = json::array();
      if (h.channel["config"].contains("authScheme") && h.channel["config"]["authScheme"].is_object() &&
          !h.channel["config"]["authScheme"].contains("value") && old_auth.contains("value"))
        h.channel["config"]["authScheme"]["value"] = old_auth["value"];
      h.lastUpdated = iso_now();
      r.set_json(hook_json(h));
      return r;
    }
    if (m == "DELETE") {
      if (h.status == "ACTIVE")
        return validation("eventHook", {"Event hook must be INACTIVE before it can be deleted."});
      hook_order_.erase(h.seq);
      hooks_.erase(it);
      r.status = 204;
      return r;
    }
    return method_not_allowed();
  }
  if (seg.size() == 6 && seg[4] == "lifecycle") {
    if (m != "POST") return method_not_allowed();
    if (seg[5] == "activate" || seg[5] == "deactivate") {
      h.status = seg[5] == "activate" ? "ACTIVE" : "INACTIVE";
      h.lastUpdated = iso_now();
      r.set_json(hook_json(h));
      return r;
    }
    if (seg[5] == "verify") {
      // Reached only when the network layer could not run the verification (see verify_plan).
      h.verificationStatus = "UNVERIFIED";
      return validation("eventHook", {"Event hook verification failed: the endpoint must be a loopback URL."});
    }
  }
  return error(404, "E0000007", "Not found: Resource not found: eventHooks");
}

std::optional<Sim::VerifyPlan> Sim::verify_plan(const Request& req) {
  if (req.method != "POST") return std::nullopt;
  // Fast exit for every other POST: without a '%' the segments are the raw path's, and a verify call's
  // path holds "/eventHooks/" (empty segments are skipped below, so "//" does not matter).
  if (req.path.find('%') == std::string::npos && req.path.find("/eventHooks/") == std::string::npos)
    return std::nullopt;
  bool ok = true;
  std::vector<std::string> seg;
  {
    std::size_t pos = 0;
    const std::string& p = req.path;
    while (pos < p.size()) {
      std::size_t s = p.find('/', pos);
      if (s == std::string::npos) s = p.size();
      if (s > pos) seg.push_back(url_decode(std::string_view(p).substr(pos, s - pos), false, &ok));
      pos = s + 1;
    }
  }
  if (!ok || seg.size() != 6 || seg[0] != "api" || seg[1] != "v1" || seg[2] != "eventHooks" || seg[4] != "lifecycle" ||
      seg[5] != "verify")
    return std::nullopt;
  auto it = hooks_.find(seg[3]);
  if (it == hooks_.end()) return std::nullopt;
  Response auth_err;
  if (!auth_ok(req, seg, auth_err)) return std::nullopt;
  const json cfgj = it->second.channel.value("config", json::object());
  VerifyPlan plan;
  plan.hook_id = it->first;
  plan.url = cfgj.value("uri", "");
  plan.challenge = rng_.token(32);
  if (cfgj.contains("headers") && cfgj["headers"].is_array())
    for (const auto& hd : cfgj["headers"])
      if (hd.is_object()) plan.headers.emplace_back(hd.value("key", ""), hd.value("value", ""));
  if (cfgj.contains("authScheme") && cfgj["authScheme"].is_object() && cfgj["authScheme"].contains("value"))
    plan.headers.emplace_back(cfgj["authScheme"].value("key", "Authorization"), cfgj["authScheme"].value("value", ""));
  return plan;
}

Response Sim::verify_finish(const Request& req, const VerifyPlan& plan, bool ok) {
  base_ = req.base;
  Response r;
  auto it = hooks_.find(plan.hook_id);
  if (it == hooks_.end()) return not_found(plan.hook_id, "Webhook");
  if (!ok) {
    it->second.verificationStatus = "UNVERIFIED";
    r = validation("eventHook", {"Event hook verification failed: the endpoint did not echo the challenge."});
  } else {
    it->second.verificationStatus = "VERIFIED";
    it->second.lastUpdated = iso_now();
    r.set_json(hook_json(it->second));
  }
  rate_check("event_hooks", r);
  r.headers.emplace_back("Date", http_date(Clock::now()));
  if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

Response Sim::transport_error(unsigned status, const std::string& code, const std::string& summary,
                              const std::vector<std::string>& causes) {
  Response r = error(status, code, summary, causes);
  rate_check("default", r);
  r.headers.emplace_back("Date", http_date(Clock::now()));
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

// ---------------------------------------------------------------- schema

json Sim::schema_json() const {
  json base_props = json::object();
  for (const char* p : {"login", "firstName", "lastName", "middleName", "honorificPrefix", "honorificSuffix", "email",
                        "title", "displayName", "nickName", "profileUrl", "secondEmail", "mobilePhone", "primaryPhone",
                        "streetAddress", "city", "state", "zipCode", "countryCode", "postalAddress",
                        "preferredLanguage", "locale", "timezone", "userType", "employeeNumber", "costCenter",
                        "organization", "division", "department", "managerId", "manager"}) {
    json d = {{"title", p}, {"type", "string"}, {"mutability", "READ_WRITE"}, {"scope", "NONE"},
              {"permissions", json::array({{{"principal", "SELF"}, {"action", "READ_WRITE"}}})}};
    const std::string n = p;
    if (n == "login" || n == "firstName" || n == "lastName" || n == "email") d["required"] = true;
    if (n == "login") {
      d["title"] = "Username";
      d["minLength"] = 5;
      d["maxLength"] = 100;
    }
    base_props[p] = d;
  }
  json custom_props = json::object();
  for (auto it = custom_schema_.begin(); it != custom_schema_.end(); ++it) custom_props[it.key()] = it.value();
  const std::string now = iso_now();
  return {{"id", base_ + "/meta/schemas/user/" + org_schema_id_},
          {"$schema", "http://json-schema.org/draft-04/schema#"},
          {"name", "user"},
          {"title", "User"},
          {"description", "Okta user profile template"},
          {"lastUpdated", now},
          {"created", now},
          {"definitions",
           {{"custom", {{"id", "#custom"}, {"type", "object"}, {"properties", custom_props}, {"required", json::array()}}},
            {"base",
             {{"id", "#base"},
              {"type", "object"},
              {"properties", base_props},
              {"required", json::array({"login", "firstName", "lastName", "email"})}}}}},
          {"type", "object"},
          {"properties",
           {{"profile", {{"allOf", json::array({{{"$ref", "#/definitions/custom"}}, {{"$ref", "#/definitions/base"}}})}}}}},
          {"_links",
           {{"self", {{"href", base_ + "/api/v1/meta/schemas/user/" + org_schema_id_}, {"method", "GET"}}},
            {"type", {{"href", base_ + "/api/v1/meta/types/user/" + org_type_id_}}}}}};
}

Response Sim::schema(const Request& req, const std::vector<std::string>& seg) {
  Response r;
  if (seg.size() == 6 && seg[3] == "schemas" && seg[4] == "user" && (seg[5] == "default" || seg[5] == org_schema_id_)) {
    if (req.method == "GET") {
      r.set_json(schema_json());
      return r;
    }
    if (req.method != "POST") return method_not_allowed();
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    const json props = body.value("definitions", json::object()).value("custom", json::object()).value("properties", json::object());
    if (!props.is_object()) return validation("UserSchema", {"definitions.custom.properties: must be an object"});
    for (auto it = props.begin(); it != props.end(); ++it) {
      if (it.value().is_null()) {
        custom_schema_.erase(it.key());
        continue;
      }
      if (!it.value().is_object()) return validation("UserSchema", {it.key() + ": must be an object"});
      json def = it.value();
      if (!def.contains("type")) return validation("UserSchema", {it.key() + ".type: The field cannot be left blank"});
      if (!def.contains("title")) def["title"] = it.key();
      custom_schema_[it.key()] = def;
    }
    emit("system.custom_schema.update", "Update user profile schema", {});
    r.set_json(schema_json());
    return r;
  }
  return no_such_path(seg);
}

// ---------------------------------------------------------------- sessions

Response Sim::sessions(const Request& req, const std::vector<std::string>& seg) {
  if (seg.size() == 4) {
    if (req.method != "GET" && req.method != "DELETE") return method_not_allowed();
    return not_found(seg[3], "AppSession");
  }
  return no_such_path(seg);
}

}  // namespace oktasim

namespace oktasim {

Response Sim::org_factor(const Request& req, const std::vector<std::string>& seg) {
  Response r;
  auto it = org_factors_.find(seg[4]);
  if (it == org_factors_.end()) return not_found(seg[4], "OrgFactor");
  auto body = [&] {
    const std::string self = base_ + "/api/v1/org/factors/" + it->first;
    const std::string type = it->first.substr(5);
    json links = {{"self", {{"href", self}, {"hints", {{"allow", {"GET"}}}}}}};
    if (it->second == "ACTIVE") links["deactivate"] = {{"href", self + "/lifecycle/deactivate"}, {"hints", {{"allow", {"POST"}}}}};
    else links["activate"] = {{"href", self + "/lifecycle/activate"}, {"hints", {{"allow", {"POST"}}}}};
    return json{{"id", it->first}, {"provider", "OKTA"}, {"factorType", type == "otp" ? "token:software:totp" : type},
                {"status", it->second}, {"_links", links}};
  };
  if (seg.size() == 5) {
    if (req.method != "GET") return method_not_allowed();
    r.set_json(body());
    return r;
  }
  if (seg.size() == 7 && seg[5] == "lifecycle" && (seg[6] == "activate" || seg[6] == "deactivate")) {
    if (req.method != "POST") return method_not_allowed();
    it->second = seg[6] == "activate" ? "ACTIVE" : "INACTIVE";
    r.set_json(body());
    return r;
  }
  return not_found(seg.back(), "OrgFactor");
}

}  // namespace oktasim

namespace oktasim {

json Sim::policy_json(const json& p) const {
  json j = {{"id", p["id"]}, {"status", "ACTIVE"}, {"name", p["name"]}};
  if (p.contains("description")) j["description"] = p["description"];
  const std::string self = base_ + "/api/v1/policies/" + p["id"].get<std::string>();
  j["priority"] = p["priority"];
  j["system"] = p["system"];
  j["conditions"] = nullptr;
  j["created"] = p["created"];
  j["lastUpdated"] = p["created"];
  j["_links"] = {{"self", {{"href", self}, {"hints", {{"allow", {"GET", "PUT"}}}}}},
                 {"rules", {{"href", self + "/rules"}, {"hints", {{"allow", {"GET", "POST"}}}}}}};
  if (p["type"] == "ACCESS_POLICY") j["_embedded"] = {{"resourceType", "APP"}};
  j["type"] = p["type"];
  return j;
}

// Read-only built-in policies, enough for clients that look up an access policy and assign it to an app.
Response Sim::policies(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  Response r;
  if (seg.size() == 3) {
    if (req.method != "GET") return method_not_allowed();
    const auto* type = query_get(q, "type");
    if (!type || type->empty()) return validation("type", {"type: The field cannot be left blank"});
    json arr = json::array();
    for (const auto& p : policies_)
      if (p["type"] == *type) arr.push_back(policy_json(p));
    r.set_json(arr);
    return r;
  }
  for (const auto& p : policies_)
    if (p["id"] == seg[3]) {
      if (seg.size() != 4) break;
      if (req.method != "GET") return method_not_allowed();
      r.set_json(policy_json(p));
      return r;
    }
  return not_found(seg[3], "Policy");
}

}  // namespace oktasim
