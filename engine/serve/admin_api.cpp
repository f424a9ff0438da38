#include "serve/admin_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "connect/probe.hpp"
#include "serve/api.hpp"
#include "serve/scheduler.hpp"
#include "store/async.hpp"

namespace spokeflow::serve {
using boost::asio::awaitable;
namespace {

constexpr int kFiresRead = 200;  // per flow: what schedules' recent fires and skip counts are taken from

// Answers holding a token or values in clear are for their caller only.
HttpResponse private_answer(unsigned status, const Json& body) {
  auto r = json_response(status, body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// The host (and port) of a base URL, and the URL without any user info in it.
std::pair<std::string, std::string> host_of(const std::string& base_url) {
  const auto scheme_end = base_url.find("://");
  const std::size_t from = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const std::size_t to = std::min(base_url.find_first_of("/?#", from), base_url.size());
  std::string authority = base_url.substr(from, to - from);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  const std::string scheme = scheme_end == std::string::npos ? "" : base_url.substr(0, scheme_end + 3);
  return {authority, scheme + authority + base_url.substr(to)};
}

Json fire_json(const store::ScheduleFire& f) {
  return {{"scheduled_at", format_timestamp(f.scheduled_at)},
          {"recorded_at", format_timestamp(f.recorded_at)},
          {"outcome", f.outcome},
          {"execution_id", f.execution_id.empty() ? Json() : Json(f.execution_id)},
          {"missed_before", f.missed}};
}

// Fires a record stands for that were not made: itself unless enqueued, and those it counts.
std::int64_t skipped_by(const store::ScheduleFire& f) { return (f.outcome == "enqueued" ? 0 : 1) + f.missed; }

}  // namespace

AdminApi::AdminApi(runtime::Runtime& runtime, FlowCatalog& catalog, AdminOptions options)
    : runtime_(runtime), catalog_(catalog), options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return now_unix_ms(); };
}

void AdminApi::saw(const Caller& caller) {
  if (caller.role == Role::none) return;
  const std::int64_t now = options_.clock();
  last_used_[caller.token_name] = now;
  // Written at most once a minute per token: every service sharing the store (and `tokens
  // list`) sees it, without a write per request.
  std::int64_t& written = last_written_[caller.token_name];
  if (now - written < kWriteUsedEveryMs) return;
  written = now;
  runtime_.store().post([name = caller.token_name, now](store::ExecutionStore& s) {
    try {
      s.note_token_used(name, now);
    } catch (const std::exception& e) {
      spdlog::warn("could not record that token '{}' was used: {}", name, e.what());
    }
  });
}

awaitable<std::optional<HttpResponse>> AdminApi::route(const HttpRequest& req, const std::vector<std::string>& seg,
                                                       const Caller& caller) {
  const std::size_t n = seg.size();
  if (n < 3) co_return std::nullopt;
  const std::string& m = req.method;
  const std::string& what = seg[2];
  if (what == "tokens") {
    if (n == 3) {
      if (m != "GET" && m != "POST") co_return method_not_allowed("GET, POST");
      if (auto r = forbidden(caller, Role::admin)) co_return r;
      if (m == "GET") co_return co_await list_tokens();
      co_return co_await create_token(req, caller);
    }
    if (n == 5 && seg[4] == "revoke") {
      if (m != "POST") co_return method_not_allowed("POST");
      if (auto r = forbidden(caller, Role::admin)) co_return r;
      co_return co_await revoke_token(req, caller, seg[3]);
    }
  } else if (what == "executions" && n == 5 && seg[4] == "reveal") {
    if (m != "POST") co_return method_not_allowed("POST");
    if (auto r = forbidden(caller, Role::admin)) co_return r;
    co_return co_await reveal(req, caller, seg[3]);
  } else if (what == "connections") {
    if (n == 3) {
      if (m != "GET") co_return method_not_allowed("GET");
      co_return list_connections();
    }
    if (n == 5 && seg[4] == "test") {
      if (m != "POST") co_return method_not_allowed("POST");
      if (auto r = forbidden(caller, Role::admin)) co_return r;
      co_return co_await test_connection(req, caller, seg[3]);
    }
  } else if (what == "hook-deliveries" && n == 3) {
    if (m != "GET") co_return method_not_allowed("GET");
    co_return co_await deliveries(req);
  } else if (what == "schedules" && n == 3) {
    if (m != "GET") co_return method_not_allowed("GET");
    co_return co_await schedules(req);
  }
  co_return std::nullopt;
}

// ---- tokens ---------------------------------------------------------------------------------

awaitable<HttpResponse> AdminApi::list_tokens() {
  auto read = [](store::ExecutionStore& s) { return s.list_tokens(); };
  auto tokens = co_await store::on_store(runtime_.store(), std::move(read));
  const std::int64_t now = options_.clock();
  Json rows = Json::array();
  for (const auto& t : tokens) {
    store::ApiToken shown = t;
    // This process's own view is the freshest; others' uses reach the store within a minute.
    if (auto used = last_used_.find(t.name); used != last_used_.end())
      shown.last_used_at = std::max(shown.last_used_at, used->second);
    rows.push_back(token_row(shown, now));
  }
  co_return json_response(200, {{"tokens", rows}});
}

awaitable<HttpResponse> AdminApi::create_token(const HttpRequest& req, const Caller& caller) {
  auto parsed = parse_json(req.body);
  if (!parsed.ok() || !parsed->is_object())
    co_return error_response(400, "validation", R"(the body must be a JSON object ({"name", "role", "expires"}))");
  const Json body = std::move(*parsed);
  for (const auto& [k, v] : body.items()) {
    if (k != "name" && k != "role" && k != "expires")
      co_return error_response(422, "validation", "unknown field '" + k + "' in the body (name, role, expires)");
    if (!v.is_string()) co_return error_response(422, "validation", "'" + k + "' must be a string");
  }
  if (!body.contains("name") || !body.contains("role"))
    co_return error_response(422, "validation", "the body needs 'name' and 'role' (viewer, operator or admin)");
  auto made = make_token(body["name"], body["role"], body.value("expires", ""), options_.clock());
  if (!made.ok()) co_return error_response(422, "validation", made.error().message);
  auto add = [t = made->record](store::ExecutionStore& s) { return s.add_token(t); };
  const bool added = co_await store::on_store(runtime_.store(), std::move(add));
  const store::ApiToken& t = made->record;
  if (!added)
    co_return error_response(409, "conflict", "a token named '" + t.name + "' exists (revoke it, or choose another name)");
  spdlog::info("token '{}' ({}) created by token '{}' (request {})", t.name, t.role, caller.token_name, req.request_id);
  Json out = token_row(t, options_.clock());
  out["token"] = made->token;  // the only time it is shown: the store keeps its hash
  auto r = private_answer(201, out);
  r.headers.emplace_back("Location", "/api/v1/tokens");
  co_return r;
}

awaitable<HttpResponse> AdminApi::revoke_token(const HttpRequest& req, const Caller& caller, const std::string& name) {
  const std::int64_t now = options_.clock();
  auto revoke = [name, now](store::ExecutionStore& s) {
    std::optional<store::ApiToken> found;
    for (auto& t : s.list_tokens())
      if (t.name == name) found = std::move(t);
    const bool revoked = found && s.revoke_token(name, now);
    return std::make_pair(found, revoked);
  };
  auto [found, revoked] = co_await store::on_store(runtime_.store(), std::move(revoke));
  if (!found) co_return error_response(404, "not_found", "no token named '" + name + "'");
  if (!revoked) co_return error_response(409, "conflict", "the token '" + name + "' was revoked before");
  spdlog::info("token '{}' revoked by token '{}' (request {})", name, caller.token_name, req.request_id);
  found->revoked_at = now;
  co_return json_response(200, token_row(*found, now));
}

// ---- reveal ---------------------------------------------------------------------------------

awaitable<HttpResponse> AdminApi::reveal(const HttpRequest& req, const Caller& caller, const std::string& id) {
  std::string problem;
  const auto offset = query_int(req.query, "steps_offset", 0, std::numeric_limits<int>::max(), problem).value_or(0);
  const auto limit = query_int(req.query, "steps_limit", 1, kMaxStepsPage, problem).value_or(500);
  if (!problem.empty()) co_return error_response(400, "validation", problem);
  if (!is_sortable_id(id)) co_return error_response(404, "not_found", "no execution with id '" + id + "'");
  const auto from = static_cast<std::size_t>(offset), most = static_cast<std::size_t>(limit);
  auto read = [id, from, most](store::ExecutionStore& s) {
    auto rec = s.get_execution(id);
    return std::make_pair(rec, rec ? s.step_run_page(id, from, most) : store::StepRunPage{});
  };
  auto [rec, page] = co_await store::on_store(runtime_.store(), std::move(read));
  if (!rec) co_return error_response(404, "not_found", "no execution with id '" + id + "'");
  if (!options_.unseal)
    co_return error_response(409, "conflict", "this service has no master key (SPOKEFLOW_MASTER_KEY): sealed values "
                                              "cannot be opened");
  // Who saw which execution in clear is logged; the values never are.
  spdlog::warn("execution {} (flow {}): sealed values revealed to token '{}' (request {})", id, rec->flow_name,
               caller.token_name, req.request_id);
  bool complete = run::open_sealed(rec->inputs, id + "/inputs", options_.unseal);
  complete = run::open_sealed(rec->outputs, id + "/outputs", options_.unseal) && complete;
  for (auto& s : page.runs) complete = run::open_sealed(s.outputs, id + "/" + s.path, options_.unseal) && complete;
  Json out = execution_detail(*rec, page, from);
  out["revealed"] = true;
  out["reveal_complete"] = complete;  // false: some sealed value did not open with this master key
  co_return private_answer(200, out);
}

// ---- connections ----------------------------------------------------------------------------

HttpResponse AdminApi::list_connections() const {
  Json rows = Json::array();
  if (options_.connections) {
    const connect::ConnectionsConfig& cfg = options_.connections->config();
    for (const auto& [name, alias] : cfg.aliases) {
      const connect::Connection* c = cfg.connection_of(alias);
      const connect::Credential* cred = c ? cfg.credential_of(*c) : nullptr;
      // The kind of credential says what the connection is; nothing of the credential itself
      // (names, ids, secrets' references) goes out.
      Json row = {{"alias", name}, {"connection", alias.connection}};
      row["type"] = cred ? Json(std::string(connect::to_string(cred->type))) : Json();
      if (c) {
        auto [host, url] = host_of(c->base_url);
        row["host"] = host;
        row["base_url"] = url;
      } else {
        row["host"] = Json();
        row["base_url"] = Json();
      }
      rows.push_back(std::move(row));
    }
  }
  Json out = {{"aliases", rows}};
  out["file"] = options_.connections_file.empty() ? Json() : Json(options_.connections_file);
  out["problem"] = options_.connections_problem.empty() ? Json() : Json(options_.connections_problem);
  return json_response(200, out);
}

awaitable<HttpResponse> AdminApi::test_connection(const HttpRequest& req, const Caller& caller, const std::string& alias) {
  if (!options_.connections)
    co_return error_response(409, "conflict", "this service has no connections file" +
                                                  (options_.connections_problem.empty()
                                                       ? std::string()
                                                       : " (" + options_.connections_problem + ")"));
  if (!options_.connections->config().alias(alias))
    co_return error_response(404, "not_found", "no alias '" + alias + "' in " + options_.connections_file);
  spdlog::info("connection test of alias '{}' by token '{}' (request {})", alias, caller.token_name, req.request_id);
  // Waits on the loop like any Okta call: other requests go on meanwhile.
  auto rep = co_await connect::test_connection(*options_.connections, alias);
  Json out = rep.details;
  out["ok"] = rep.ok;
  if (!rep.ok) out["summary"] = rep.summary;
  co_return json_response(200, out);
}

// ---- what the web view shows of hooks and schedules -----------------------------------------

awaitable<HttpResponse> AdminApi::deliveries(const HttpRequest& req) {
  std::string problem;
  const int limit = static_cast<int>(query_int(req.query, "limit", 1, kMaxPageRows, problem).value_or(50));
  if (!problem.empty()) co_return error_response(400, "validation", problem);
  store::DeliveryCursor after;
  if (auto c = query_param(req.query, "cursor"); c && !c->empty()) {
    const auto colon = c->find(':');
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < c->size();
    if (ok) {
      try {
        std::size_t used = 0;
        after.received_at = std::stoll(c->substr(0, colon), &used);
        ok = used == colon;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) co_return error_response(400, "validation", "'cursor' is not a cursor this API gave");
    after.event_id = c->substr(colon + 1);
  }
  auto read = [limit, after](store::ExecutionStore& s) { return s.recent_deliveries(limit, after); };
  auto list = co_await store::on_store(runtime_.store(), std::move(read));
  Json rows = Json::array();
  for (const auto& d : list) {
    int started = 0, duplicates = 0;
    for (const auto& row : d.started)
      if (row.contains("created")) (row["created"] == true ? started : duplicates) += 1;
    rows.push_back({{"event_id", d.event_id},
                    {"hook", d.hook},
                    {"received_at", format_timestamp(d.received_at)},
                    {"events", d.events},
                    {"executions_started", started},
                    {"duplicate_events", duplicates},
                    {"redeliveries", d.redeliveries},
                    {"last_redelivered_at", d.last_redelivered_at ? Json(format_timestamp(d.last_redelivered_at)) : Json()},
                    {"started", d.started}});
  }
  Json out = {{"deliveries", rows}};
  out["next_cursor"] = static_cast<int>(list.size()) == limit
                           ? Json(std::to_string(list.back().received_at) + ":" + list.back().event_id)
                           : Json();
  co_return json_response(200, out);
}

awaitable<HttpResponse> AdminApi::schedules(const HttpRequest& req) {
  std::string problem;
  const int shown = static_cast<int>(query_int(req.query, "fires", 0, 100, problem).value_or(10));
  if (!problem.empty()) co_return error_response(400, "validation", problem);
  struct Entry {
    std::string flow, key;
    Json row;
  };
  std::vector<Entry> entries;
  std::set<std::string> flows;
  const schedule::Instant now{std::chrono::milliseconds(options_.clock())};
  for (const auto& [name, f] : catalog_.flows()) {
    for (std::size_t i = 0; i < f->triggers.size(); ++i) {
      const flow::Trigger& t = f->triggers[i];
      if (!t.schedule) continue;
      Json next = Json::array();
      schedule::Instant at = now;
      for (int k = 0; k < 3; ++k) {
        auto fire = t.schedule->next_after(at);
        if (!fire) break;
        const schedule::WallTime wall = t.schedule->wall_time(*fire);
        next.push_back({{"at", format_timestamp(fire->time_since_epoch().count())}, {"local", wall.iso},
                        {"abbrev", wall.abbrev}});
        at = *fire;
      }
      Json row = {{"flow", name},
                  {"trigger", i},
                  {"cron", t.schedule->cron().text},
                  {"timezone", t.schedule->time_zone()},
                  {"catchup", schedule::to_string(t.catchup)},
                  {"overlap", schedule::to_string(t.overlap)},
                  {"next_fires", next}};
      entries.push_back({name, Scheduler::trigger_key(i, t), std::move(row)});
      flows.insert(name);
    }
  }
  auto read = [flows](store::ExecutionStore& s) {
    std::map<std::string, std::vector<store::ScheduleFire>> fires;
    for (const auto& f : flows) fires[f] = s.recent_fires(f, kFiresRead);
    return fires;
  };
  auto fires = co_await store::on_store(runtime_.store(), std::move(read));
  Json rows = Json::array();
  for (auto& e : entries) {
    Json recent = Json::array();
    Json last, last_enqueued;
    std::int64_t skipped = 0;
    for (const auto& f : fires[e.flow]) {  // newest first
      if (f.trigger != e.key) continue;
      if (last.is_null()) last = fire_json(f);
      if (f.outcome == "enqueued" && last_enqueued.is_null()) last_enqueued = fire_json(f);
      skipped += skipped_by(f);
      if (static_cast<int>(recent.size()) < shown) recent.push_back(fire_json(f));
    }
    e.row["last_fire"] = last;
    e.row["last_enqueued"] = last_enqueued;
    e.row["recent_fires"] = std::move(recent);
    e.row["skipped_fires"] = skipped;
    rows.push_back(std::move(e.row));
  }
  co_return json_response(200, {{"schedules", rows}, {"fires_counted", kFiresRead}});
}

}  // namespace spokeflow::serve
