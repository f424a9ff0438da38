// okta-sim: request entry point, errors, auth, rate limits, pagination, admin endpoints, config, seed.
#include <algorithm>
#include <stdexcept>

#include "filter.hpp"
#include "sim.hpp"

namespace oktasim {

namespace {

std::vector<std::string> split_path(const std::string& raw, bool& ok) {
  std::vector<std::string> seg;
  ok = true;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t slash = raw.find('/', pos);
    if (slash == std::string::npos) slash = raw.size();
    if (slash > pos) {
      bool dec_ok = true;
      std::string s = url_decode(std::string_view(raw).substr(pos, slash - pos), false, &dec_ok);
      if (!dec_ok || !valid_utf8(s)) ok = false;
      for (const char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ok = false;
      seg.push_back(std::move(s));
    }
    pos = slash + 1;
  }
  return seg;
}

}  // namespace

LimitConfig default_limits() {
  LimitConfig l;
  l.window_seconds = 60;
  l.concurrency = 75;
  l.default_limit = 1200;
  l.buckets = {{"users", 600},       {"user_get", 2000}, {"user", 600},     {"groups", 500},
               {"apps", 100},        {"logs", 120},      {"event_hooks", 100}, {"schemas", 600},
               {"oauth_token", 600}, {"default", 1200}};
  return l;
}

Sim::Sim(Config cfg, std::string api_token) : cfg_(std::move(cfg)), api_token_(std::move(api_token)) {
  if (cfg_.limits.buckets.empty()) {
    auto d = default_limits();
    cfg_.limits.buckets = d.buckets;
  }
  initial_cfg_ = cfg_;
  reset();
}

std::string Sim::new_id(const std::string& prefix) {
  std::string id;
  do {
    id = rng_.id(prefix);
  } while (seq_of_.count(id));
  return id;
}

// ---------------------------------------------------------------- errors

Response Sim::error(unsigned status, const std::string& code, const std::string& summary,
                    const std::vector<std::string>& causes) {
  Response r;
  r.status = status;
  json c = json::array();
  for (const auto& s : causes) c.push_back({{"errorSummary", s}});
  r.set_json({{"errorCode", code},
              {"errorSummary", summary},
              {"errorLink", code},
              {"errorId", "oae" + rng_.base62(22)},
              {"errorCauses", c}});
  return r;
}

Response Sim::not_found(const std::string& what, const std::string& type) {
  return error(404, "E0000007", "Not found: Resource not found: " + what + " (" + type + ")");
}

Response Sim::validation(const std::string& summary_arg, const std::vector<std::string>& causes) {
  return error(400, "E0000001", "Api validation failed: " + summary_arg, causes);
}

Response Sim::method_not_allowed() {
  return error(405, "E0000022", "The endpoint does not support the provided HTTP method");
}

Response Sim::no_such_path(const std::vector<std::string>& seg) {
  std::string p;
  for (const auto& s : seg) p += "/" + s;
  return error(404, "E0000007", "Not found: Resource not found: " + (p.empty() ? std::string("/") : p));
}

// ---------------------------------------------------------------- rate limits

std::string Sim::bucket_for(const std::string& method, const std::vector<std::string>& seg) const {
  if (seg.size() >= 3 && seg[0] == "oauth2") return "oauth_token";
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1") return "default";
  const std::string& r = seg[2];
  if (r == "users") {
    if (seg.size() == 3) return "users";
    if (seg.size() == 4 && method == "GET") return "user_get";
    return "user";
  }
  if (r == "groups") return "groups";
  if (r == "apps") return "apps";
  if (r == "logs") return "logs";
  if (r == "eventHooks") return "event_hooks";
  if (r == "meta") return "schemas";
  return "default";
}

bool Sim::rate_check(const std::string& bucket, Response& out) {
  auto it = cfg_.limits.buckets.find(bucket);
  const int limit = it != cfg_.limits.buckets.end() ? it->second : cfg_.limits.default_limit;
  const std::int64_t now = epoch_seconds(Clock::now());
  auto& st = buckets_[bucket];
  out.headers.reserve(out.headers.size() + 3);
  const int window = std::max(1, cfg_.limits.window_seconds);
  if (st.window_start == 0 || now >= st.window_start + window) {
    st.window_start = now;
    st.used = 0;
  }
  const bool allowed = st.used < limit;
  if (allowed) ++st.used;
  out.headers.emplace_back("X-Rate-Limit-Limit", std::to_string(limit));
  out.headers.emplace_back("X-Rate-Limit-Remaining", std::to_string(std::max(0, limit - st.used)));
  out.headers.emplace_back("X-Rate-Limit-Reset", std::to_string(st.window_start + window));
  return allowed;
}

// ---------------------------------------------------------------- pagination

bool Sim::parse_filter(const Query& q, Filter& filter, bool& has_expr, Response& err) {
  has_expr = false;
  for (const char* key : {"filter", "search"}) {
    if (const auto* f = query_get(q, key)) {
      if (f->empty()) continue;
      std::string why;
      Filter parsed;
      if (!parsed.parse(*f, why)) {
        err = error(400, "E0000031", "Invalid search criteria.", {why});
        return false;
      }
      filter = std::move(parsed);
      has_expr = true;
    }
  }
  return true;
}

bool Sim::parse_page(const Query& q, std::size_t def_limit, std::size_t max_limit, Page& page, Response& err) {
  page.limit = def_limit;
  if (const auto* l = query_get(q, "limit")) {
    char* end = nullptr;
    const long v = std::strtol(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || v < 0) {
      err = validation("limit", {"limit: The field must be a positive integer"});
      return false;
    }
    page.limit = v == 0 ? def_limit : std::min<std::size_t>(static_cast<std::size_t>(v), max_limit);
  }
  if (const auto* a = query_get(q, "after")) {
    if (!a->empty()) {
      auto it = seq_of_.find(*a);
      if (it == seq_of_.end()) {
        err = error(400, "E0000029", "Invalid paging request.");
        return false;
      }
      page.after_seq = it->second;
    }
  }
  return true;
}

void Sim::add_links(Response& r, const Request& req, const Query& q, const std::optional<std::string>& next_after,
                    std::size_t limit) {
  std::string self = base_ + req.path;
  if (!req.query.empty()) self += "?" + req.query;
  r.headers.emplace_back("Link", "<" + self + ">; rel=\"self\"");
  if (next_after) {
    std::string next = base_ + req.path + "?";
    bool first = true;
    for (const auto& [k, v] : q) {
      if (k == "after" || k == "limit") continue;
      if (!first) next += '&';
      next += url_encode(k);
      next += '=';
      next += url_encode(v);
      first = false;
    }
    if (!first) next += '&';
    next += "after=";
    next += url_encode(*next_after);
    next += "&limit=";
    next += std::to_string(limit);
    r.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
  }
}

// ---------------------------------------------------------------- auth

std::string Sim::required_scope(const std::string& method, const std::vector<std::string>& seg) const {
  if (seg.size() < 3) return {};
  const bool read = method == "GET";
  const std::string& r = seg[2];
  if (r == "users") return read ? "okta.users.read" : "okta.users.manage";
  if (r == "groups") return read ? "okta.groups.read" : "okta.groups.manage";
  if (r == "apps" || (r == "internal" && seg.size() > 3 && seg[3] == "apps"))
    return read ? "okta.apps.read" : "okta.apps.manage";
  if (r == "logs") return "okta.logs.read";
  if (r == "eventHooks") return read ? "okta.eventHooks.read" : "okta.eventHooks.manage";
  if (r == "meta") return read ? "okta.schemas.read" : "okta.schemas.manage";
  return {};
}

// ---------------------------------------------------------------- entry point

const std::string& Sim::date_header() {
  const auto now = Clock::now();
  const std::int64_t sec = epoch_seconds(now);
  if (sec != date_second_) {
    date_second_ = sec;
    date_cache_ = http_date(now);
  }
  return date_cache_;
}

int Sim::pick_latency_ms() {
  int ms = cfg_.faults.latency_ms;
  if (cfg_.faults.latency_jitter_ms > 0)
    ms += static_cast<int>(rng_.next() % static_cast<std::uint64_t>(cfg_.faults.latency_jitter_ms + 1));
  return std::max(0, ms);
}

Response Sim::handle(const Request& req, int inflight) {
  base_ = req.base;
  bool path_ok = true;
  std::vector<std::string> seg = split_path(req.path, path_ok);
  bool q_ok = true;
  Query q = parse_query(req.query, &q_ok);

  Response r;
  std::string request_id;  // set for logged requests: the log and the answer carry the same one
  if (req.method != "GET") ++gen_;
  const bool is_admin = !seg.empty() && seg[0] == "__sim";
  if (is_admin) {
    r = admin(req, seg, q);
  } else {
    const std::string bucket = bucket_for(req.method, seg);
    Response rl;
    const bool under_limit = rate_check(bucket, rl);
    bool concurrency_ok = inflight <= cfg_.limits.concurrency;
    if (!concurrency_ok) {
      r = error(429, "E0000047", "API call exceeded rate limit due to too many requests.");
      r.headers.emplace_back("X-Rate-Limit-Limit", "0");
      r.headers.emplace_back("X-Rate-Limit-Remaining", "0");
      r.headers.emplace_back("X-Rate-Limit-Reset", std::to_string(epoch_seconds(Clock::now()) + 1));
    } else {
      Response auth_err;
      if (!path_ok || !q_ok) {
        r = error(404, "E0000007", "Not found: Resource not found: " + std::string("path"));
      } else if (!auth_ok(req, seg, auth_err)) {
        r = std::move(auth_err);
      } else if (!under_limit) {
        r = error(429, "E0000047", "API call exceeded rate limit due to too many requests.");
      } else {
        const double roll = rng_.uniform();
        const auto& f = cfg_.faults;
        if (roll < f.reset_rate) {
          r.reset_connection = true;
        } else if (roll < f.reset_rate + f.error_500_rate) {
          r = error(500, "E0000009", "Internal Server Error");
        } else if (roll < f.reset_rate + f.error_500_rate + f.error_503_rate) {
          r = error(503, "E0000010", "Service is in read only mode");
        } else if (!req.body.empty() && !valid_utf8(req.body)) {
          r = error(400, "E0000003", "The request body was not well-formed.");
        } else {
          r = dispatch(req, seg, q);
          if (f.truncate_rate > 0 && !r.body.empty() && rng_.uniform() < f.truncate_rate) r.truncate_body = true;
        }
      }
      r.headers.reserve(r.headers.size() + rl.headers.size() + 3);
      for (auto& h : rl.headers) r.headers.push_back(std::move(h));
    }
    request_id = rng_.base62(27);
    // Recycle the oldest entry's strings once the log is full instead of freeing and allocating them.
    LogEntry e;
    if (request_log_.size() >= 10000) {
      e = std::move(request_log_.front());
      request_log_.pop_front();
    }
    e.time = Clock::now();
    e.method.assign(req.method);
    e.target.assign(req.target);
    e.status = r.status;
    e.request_body.assign(req.body, 0, std::min<std::size_t>(req.body.size(), 4096));
    e.request_id = request_id;
    request_log_.push_back(std::move(e));
    while (request_log_.size() > 10000) request_log_.pop_front();
  }
  r.headers.reserve(r.headers.size() + 3);
  r.headers.emplace_back("Date", date_header());
  r.headers.emplace_back("X-Okta-Request-Id", request_id.empty() ? rng_.base62(27) : std::move(request_id));
  if (!r.body.empty()) {
    bool has_ct = false;
    for (auto& [k, v] : r.headers) has_ct = has_ct || iequals(k, "Content-Type");
    if (!has_ct) r.headers.emplace_back("Content-Type", "application/json");
  }
  return r;
}

Response Sim::dispatch(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  const std::string& m = req.method;
  if (seg.size() == 2 && seg[0] == ".well-known" && seg[1] == "okta-organization") {
    if (m != "GET") return method_not_allowed();
    Response r;
    r.set_json({{"id", org_id_},
                {"cell", "sim1"},
                {"pipeline", "idx"},
                {"_links", {{"organization", {{"href", base_}}}, {"alternate", {{"href", base_}}}}},
                {"settings", {{"analyticsCollectionEnabled", false}, {"bugReportingEnabled", false},
                              {"om", {{"enabled", false}}}}}});
    return r;
  }
  if (seg.size() == 3 && seg[0] == "oauth2" && seg[1] == "v1" && seg[2] == "token") {
    if (m != "POST") return method_not_allowed();
    return oauth_token(req);
  }
  if (seg.size() == 3 && seg[0] == "oauth2" && seg[1] == "v1" && seg[2] == "authorize") {
    if (m != "GET") return method_not_allowed();
    return oauth_authorize(req, q);
  }
  if (seg.size() == 3 && seg[0] == "oauth2" && seg[1] == "v1" && seg[2] == "revoke") {
    if (m != "POST") return method_not_allowed();
    return oauth_revoke(req);
  }
  if (seg.size() >= 3 && seg[0] == "api" && seg[1] == "v1") {
    const std::string& r = seg[2];
    if (r == "users") {
      if (seg.size() == 3) return users_collection(req, q);
      return user_item(req, seg, q);
    }
    if (r == "groups") {
      if (seg.size() == 3) return groups_collection(req, q);
      return group_item(req, seg, q);
    }
    if (r == "apps") {
      if (seg.size() == 3) return apps_collection(req, q);
      return app_item(req, seg, q);
    }
    if (r == "logs" && seg.size() == 3) {
      if (m != "GET") return method_not_allowed();
      return logs(req, q);
    }
    if (r == "eventHooks") {
      if (seg.size() == 3) return hooks_collection(req);
      return hook_item(req, seg);
    }
    if (r == "meta") return schema(req, seg);
    if (r == "org" && seg.size() >= 5 && seg[3] == "factors") return org_factor(req, seg);
    if (r == "sessions") return sessions(req, seg);
    if (r == "policies") return policies(req, seg, q);
    if (r == "internal") return internal_api(req, seg);
  }
  return no_such_path(seg);
}

// ---------------------------------------------------------------- events

json Sim::actor() const {
  auto it = users_.find(admin_user_id_);
  std::string login = it != users_.end() ? it->second.profile.value("login", "admin") : "admin";
  return {{"id", admin_user_id_}, {"type", "User"}, {"alternateId", login}, {"displayName", "Sim Admin"},
          {"detailEntry", nullptr}};
}

json Sim::event_json(const LogEvent& e) const {
  json tg = json::array();
  for (const auto& t : e.targets) tg.push_back(t);
  return {{"actor", actor()},
          {"client", {{"userAgent", {{"rawUserAgent", "okta-sim"}, {"os", "Unknown"}, {"browser", "UNKNOWN"}}},
                      {"zone", "null"}, {"device", "Unknown"}, {"id", nullptr}, {"ipAddress", "127.0.0.1"},
                      {"geographicalContext", nullptr}}},
          {"authenticationContext", {{"authenticationStep", 0}, {"externalSessionId", "trs" + e.transaction.substr(0, 20)}}},
          {"displayMessage", e.display},
          {"eventType", e.type},
          {"outcome", {{"result", e.outcome}, {"reason", nullptr}}},
          {"published", iso_time(e.published)},
          {"securityContext", json::object()},
          {"severity", "INFO"},
          {"debugContext", {{"debugData", json::object()}}},
          {"legacyEventType", nullptr},
          {"transaction", {{"type", "WEB"}, {"id", e.transaction}, {"detail", json::object()}}},
          {"uuid", e.uuid},
          {"version", "0"},
          {"request", {{"ipChain", json::array()}}},
          {"target", tg}};
}

void Sim::emit(const std::string& type, const std::string& display, const std::vector<json>& targets,
               const std::string& outcome) {
  LogEvent e;
  e.seq = next_seq();
  const std::string u = rng_.base62(28);  // 8-4-11ef-4-12
  e.uuid.reserve(38);
  e.uuid.append(u, 0, 8);
  e.uuid += '-';
  e.uuid.append(u, 8, 4);
  e.uuid += "-11ef-";
  e.uuid.append(u, 12, 4);
  e.uuid += '-';
  e.uuid.append(u, 16, 12);
  e.type = type;
  e.display = display;
  e.outcome = outcome;
  e.transaction = rng_.base62(27);
  e.published = Clock::now();
  e.targets = targets;
  events_.push_back(std::move(e));
  if (events_.size() > 50000) events_.erase(events_.begin(), events_.begin() + 10000);
  const LogEvent& stored = events_.back();

  // Deliver to active event hooks subscribed to this type.
  for (const auto& [seq, hid] : hook_order_) {
    const auto& h = hooks_.at(hid);
    if (h.status != "ACTIVE") continue;
    bool wanted = false;
    if (h.events.contains("items") && h.events["items"].is_array())
      for (const auto& it : h.events["items"]) wanted = wanted || (it.is_string() && it.get<std::string>() == type);
    if (!wanted) continue;
    OutgoingHook o;
    const json& cfgj = h.channel.value("config", json::object());
    o.url = cfgj.value("uri", "");
    if (cfgj.contains("headers") && cfgj["headers"].is_array())
      for (const auto& hd : cfgj["headers"])
        if (hd.is_object()) o.headers.emplace_back(hd.value("key", ""), hd.value("value", ""));
    if (cfgj.contains("authScheme") && cfgj["authScheme"].is_object()) {
      const auto& as = cfgj["authScheme"];
      if (as.contains("value") && as["value"].is_string())
        o.headers.emplace_back(as.value("key", "Authorization"), as["value"].get<std::string>());
    }
    json payload = {{"eventType", "com.okta.event_hook"},
                    {"eventTypeVersion", "1.0"},
                    {"cloudEventsVersion", "0.1"},
                    {"source", base_ + "/api/v1/eventHooks/" + h.id},
                    {"eventId", rng_.base62(20)},
                    {"eventTime", iso_now()},
                    {"contentType", "application/json"},
                    {"data", {{"events", json::array({event_json(stored)})}}}};
    o.body = payload.dump(-1, ' ', false, json::error_handler_t::replace);
    outbox_.push_back(std::move(o));
  }
  while (outbox_.size() > 10000) outbox_.pop_front();
}

// ---------------------------------------------------------------- admin

Response Sim::admin(const Request& req, const std::vector<std::string>& seg, const Query& q) {
  Response r;
  const std::string& m = req.method;
  const std::string what = seg.size() > 1 ? seg[1] : "";
  if (what == "health" && seg.size() == 2) {
    r.set_json({{"status", "ok"}});
    return r;
  }
  if (what == "reset" && seg.size() == 2) {
    if (m != "POST") return method_not_allowed();
    reset();
    r.status = 204;
    return r;
  }
  if (what == "users" && seg.size() == 4 && seg[3] == "lock") {
    if (m != "POST") return method_not_allowed();
    User* u = find_user(seg[2]);
    if (!u) return not_found(seg[2], "User");
    set_status(*u, "LOCKED_OUT");
    emit("user.account.lock", "Max sign in attempts exceeded", {{{"id", u->id}, {"type", "User"}}});
    r.set_json(user_json(*u, true));
    return r;
  }
  if (what == "requests" && seg.size() == 2) {
    if (m == "DELETE") {
      request_log_.clear();
      r.status = 204;
      return r;
    }
    if (m != "GET") return method_not_allowed();
    json arr = json::array();
    for (const auto& e : request_log_)
      arr.push_back({{"time", iso_time(e.time)}, {"method", e.method}, {"target", e.target}, {"status", e.status},
                     {"body", e.request_body}, {"request_id", e.request_id}});
    r.set_json(arr);
    return r;
  }
  if (what == "config" && seg.size() == 2) {
    if (m == "GET") {
      r.set_json(config_to_json(cfg_));
      return r;
    }
    if (m != "PUT" && m != "PATCH" && m != "POST") return method_not_allowed();
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error(400, "E0000003", "The request body was not well-formed.");
    Config next = cfg_;
    try {
      apply_config_json(next, j, "request body");
    } catch (const std::exception& ex) {
      return validation("config", {ex.what()});
    }
    cfg_ = next;
    buckets_.clear();
    r.set_json(config_to_json(cfg_));
    return r;
  }
  if (what == "events" && seg.size() == 2) {
    if (m != "GET") return method_not_allowed();
    json arr = json::array();
    for (const auto& e : events_) arr.push_back(event_json(e));
    r.set_json(arr);
    return r;
  }
  if (what == "outbox" && seg.size() == 2) {
    json arr = json::array();
    for (const auto& o : outbox_) arr.push_back({{"url", o.url}, {"body", json::parse(o.body, nullptr, false)}});
    r.set_json(arr);
    return r;
  }
  (void)q;
  return error(404, "E0000007", "Not found: Resource not found: /__sim/" + what);
}

// ---------------------------------------------------------------- config

namespace {

void check_keys(const json& j, std::initializer_list<const char*> allowed, const std::string& where) {
  if (!j.is_object()) throw std::runtime_error(where + ": expected a mapping");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      throw std::runtime_error(where + ": unknown key '" + it.key() + "' (allowed: " + list + ")");
    }
  }
}

int get_int(const json& j, const char* key, const std::string& where, int lo, int hi) {
  const auto& v = j.at(key);
  if (!v.is_number_integer()) throw std::runtime_error(where + "." + key + ": expected an integer");
  const auto x = v.get<long long>();
  if (x < lo || x > hi)
    throw std::runtime_error(where + "." + key + ": must be between " + std::to_string(lo) + " and " +
                             std::to_string(hi));
  return static_cast<int>(x);
}

double get_rate(const json& j, const char* key, const std::string& where) {
  const auto& v = j.at(key);
  if (!v.is_number()) throw std::runtime_error(where + "." + key + ": expected a number between 0 and 1");
  const double x = v.get<double>();
  if (x < 0 || x > 1) throw std::runtime_error(where + "." + key + ": expected a number between 0 and 1");
  return x;
}

}  // namespace

void apply_config_json(Config& cfg, const json& j, const std::string& where) {
  check_keys(j, {"rate_limits", "faults", "token_lifetime_seconds", "max_body_bytes"}, where);
  if (j.contains("rate_limits")) {
    const auto& rl = j["rate_limits"];
    const std::string w = where + ".rate_limits";
    check_keys(rl, {"window_seconds", "concurrency", "default", "buckets"}, w);
    if (rl.contains("window_seconds")) cfg.limits.window_seconds = get_int(rl, "window_seconds", w, 1, 3600);
    if (rl.contains("concurrency")) cfg.limits.concurrency = get_int(rl, "concurrency", w, 1, 100000);
    if (rl.contains("default")) cfg.limits.default_limit = get_int(rl, "default", w, 0, 100000000);
    if (rl.contains("buckets")) {
      const auto& b = rl["buckets"];
      const auto known = default_limits().buckets;
      if (!b.is_object()) throw std::runtime_error(w + ".buckets: expected a mapping");
      for (auto it = b.begin(); it != b.end(); ++it) {
        if (!known.count(it.key())) {
          std::string list;
          for (const auto& [k, v] : known) list += (list.empty() ? "" : ", ") + k;
          throw std::runtime_error(w + ".buckets: unknown bucket '" + it.key() + "' (known: " + list + ")");
        }
        if (!it.value().is_number_integer() || it.value().get<long long>() < 0)
          throw std::runtime_error(w + ".buckets." + it.key() + ": expected a non-negative integer");
        cfg.limits.buckets[it.key()] = static_cast<int>(std::min<long long>(it.value().get<long long>(), 100000000));
      }
    }
  }
  if (j.contains("faults")) {
    const auto& f = j["faults"];
    const std::string w = where + ".faults";
    check_keys(f, {"latency_ms", "latency_jitter_ms", "error_500_rate", "error_503_rate", "reset_rate",
                   "truncate_rate"},
               w);
    if (f.contains("latency_ms")) cfg.faults.latency_ms = get_int(f, "latency_ms", w, 0, 600000);
    if (f.contains("latency_jitter_ms")) cfg.faults.latency_jitter_ms = get_int(f, "latency_jitter_ms", w, 0, 600000);
    if (f.contains("error_500_rate")) cfg.faults.error_500_rate = get_rate(f, "error_500_rate", w);
    if (f.contains("error_503_rate")) cfg.faults.error_503_rate = get_rate(f, "error_503_rate", w);
    if (f.contains("reset_rate")) cfg.faults.reset_rate = get_rate(f, "reset_rate", w);
    if (f.contains("truncate_rate")) cfg.faults.truncate_rate = get_rate(f, "truncate_rate", w);
  }
  if (j.contains("token_lifetime_seconds"))
    cfg.token_lifetime_seconds = get_int(j, "token_lifetime_seconds", where, 1, 86400 * 30);
  if (j.contains("max_body_bytes"))
    cfg.max_body_bytes = static_cast<std::size_t>(get_int(j, "max_body_bytes", where, 1024, 64 << 20));
}

json config_to_json(const Config& cfg) {
  json b = json::object();
  for (const auto& [k, v] : cfg.limits.buckets) b[k] = v;
  return {{"rate_limits",
           {{"window_seconds", cfg.limits.window_seconds},
            {"concurrency", cfg.limits.concurrency},
            {"default", cfg.limits.default_limit},
            {"buckets", b}}},
          {"faults",
           {{"latency_ms", cfg.faults.latency_ms},
            {"latency_jitter_ms", cfg.faults.latency_jitter_ms},
            {"error_500_rate", cfg.faults.error_500_rate},
            {"error_503_rate", cfg.faults.error_503_rate},
            {"reset_rate", cfg.faults.reset_rate},
            {"truncate_rate", cfg.faults.truncate_rate}}},
          {"token_lifetime_seconds", cfg.token_lifetime_seconds},
          {"max_body_bytes", cfg.max_body_bytes}};
}

}  // namespace oktasim
