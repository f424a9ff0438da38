#include "serve/api.hpp"

#include "common/json_text.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>
#include <set>

#include "common/ids.hpp"
#include "common/log_fields.hpp"
#include "common/url_encode.hpp"
#include "serve/admin_api.hpp"
#include "serve/hooks.hpp"
#include "serve/metrics.hpp"
#include "serve/web_ui.hpp"
#include "store/async.hpp"

namespace spokeflow::serve {
namespace asio = boost::asio;
using asio::awaitable;
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// An Idempotency-Key holds this long after its first execution was created.
constexpr std::int64_t kIdempotencyWindowMs = 24 * 3600 * 1000;

bool finished(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

HttpResponse not_found(const std::string& what) { return error_response(404, "not_found", what); }

HttpResponse unauthorized(const Caller& caller) {
  auto r = error_response(401, "auth", caller.problem.empty() ? "an API token is needed (Authorization: Bearer <token>)"
                                                              : caller.problem);
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Json input_json(const flow::InputDecl& d) {
  Json j = {{"name", d.name}, {"type", d.type}, {"required", d.required}, {"sensitive", d.sensitive}};
  if (!d.description.empty()) j["description"] = d.description;
  if (d.default_value && !d.sensitive) j["default"] = *d.default_value;
  if (!d.enum_values.empty()) j["enum"] = d.enum_values;
  if (!d.format.empty()) j["format"] = d.format;
  return j;
}

// The triggers as written; schedules with their next fires.
Json triggers_json(const flow::Flow& f) {
  Json out = Json::array();
  for (const auto& t : f.triggers) {
    Json j = t.spec;
    if (t.schedule && j.is_object()) {
      Json next = Json::array();
      auto at = schedule::Instant(std::chrono::milliseconds(now_unix_ms()));
      for (int i = 0; i < 3; ++i) {
        auto n = t.schedule->next_after(at);
        if (!n) break;
        next.push_back(format_timestamp(n->time_since_epoch().count()));
        at = *n;
      }
      j["next_fires"] = std::move(next);
    }
    out.push_back(std::move(j));
  }
  return out;
}

// Who or what started an execution, from its trigger: the API token, the user@host of a command
// line, the event hook; null for a schedule (its cron is in the trigger's detail).
Json triggered_by(const Json& trigger) {
  if (!trigger.is_object()) return nullptr;
  auto text = [&](const char* key) {
    auto it = trigger.find(key);
    return it != trigger.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string type = text("type");
  if (type == "api" || type == "rerun") return text("token").empty() ? Json() : Json("token " + text("token"));
  if (type == "cli" && !text("user").empty()) return text("host").empty() ? text("user") : text("user") + "@" + text("host");
  if (type == "okta_event" && !text("hook").empty()) return "event hook " + text("hook");
  return nullptr;
}

}  // namespace

HttpResponse method_not_allowed(const std::string& allow) {
  auto r = error_response(405, "validation", "method not allowed here (allowed: " + allow + ")");
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::optional<HttpResponse> forbidden(const Caller& caller, Role needed) {
  if (caller.role >= needed) return std::nullopt;
  return error_response(403, "forbidden", "the token '" + caller.token_name + "' (" + to_string(caller.role) +
                                              ") may not do this: it needs the role " + to_string(needed));
}

Json execution_detail(const store::ExecutionRecord& rec, const store::StepRunPage& page, std::size_t offset) {
  Json j = execution_row(rec);
  j["inputs"] = run::without_sealed(rec.inputs);
  j["outputs"] = run::without_sealed(rec.outputs);
  j["error"] = rec.error;
  j["flow_file"] = rec.flow_file;
  j["flow_hash"] = rec.flow_hash;
  j["triggered_by"] = triggered_by(rec.trigger);
  // The trigger as recorded, but an Okta event's body (the flow's `event`, often large).
  Json detail = rec.trigger.is_object() ? rec.trigger : Json::object();
  detail.erase("event");
  j["trigger_detail"] = std::move(detail);
  if (!rec.lease_owner.empty()) j["lease"] = {{"owner", rec.lease_owner}, {"until", format_timestamp(rec.lease_until)}};
  Json out = Json::array();
  for (const auto& s : page.runs) {
    Json row = {{"path", s.path}, {"attempt", s.attempt}, {"kind", s.kind}, {"status", s.status},
                {"inputs", run::without_sealed(s.inputs)}, {"outputs", run::without_sealed(s.outputs)},
                {"error", s.error}};
    row["started_at"] = s.started_at ? Json(format_timestamp(s.started_at)) : Json();
    row["finished_at"] = s.finished_at ? Json(format_timestamp(s.finished_at)) : Json();
    if (s.started_at && s.finished_at) row["duration_ms"] = s.finished_at - s.started_at;
    if (!s.client.is_null()) row["client"] = s.client;
    out.push_back(std::move(row));
  }
  j["steps"] = std::move(out);
  j["steps_total"] = page.total;
  j["steps_offset"] = offset;
  if (offset + page.runs.size() < page.total && !page.runs.empty()) j["steps_next_offset"] = offset + page.runs.size();
  return j;
}

std::optional<std::int64_t> query_int(const std::string& query, const std::string& name, std::int64_t lo,
                                      std::int64_t hi, std::string& problem) {
  auto v = query_param(query, name);
  if (!v) return std::nullopt;
  try {
    std::size_t used = 0;
    const long long n = std::stoll(*v, &used);
    if (used == v->size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  problem = "query parameter '" + name + "' must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  return std::nullopt;
}

Json execution_row(const store::ExecutionRecord& rec) {
  Json j = {{"id", rec.id}, {"flow", rec.flow_name}, {"status", rec.status},
            {"trigger", rec.trigger.is_object() ? rec.trigger.value("type", "") : ""},
            {"created_at", format_timestamp(rec.created_at)}};
  j["started_at"] = rec.started_at ? Json(format_timestamp(rec.started_at)) : Json();
  j["finished_at"] = rec.finished_at ? Json(format_timestamp(rec.finished_at)) : Json();
  if (rec.started_at && rec.finished_at) j["duration_ms"] = rec.finished_at - rec.started_at;
  if (!rec.parent_id.empty()) j["parent_id"] = rec.parent_id;
  if (rec.error.is_object()) j["error_kind"] = rec.error.value("kind", "");
  if (rec.status == "waiting" && rec.run_at) j["wakes_at"] = format_timestamp(rec.run_at);
  return j;
}

std::optional<std::vector<std::string>> path_segments(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::size_t i = 1;
  while (i <= path.size()) {
    const std::size_t j = std::min(path.find('/', i), path.size());
    const std::string raw = path.substr(i, j - i);
    if (raw.empty()) {
      if (j == path.size() && !out.empty()) break;  // one trailing slash
      if (j == path.size() && out.empty()) break;   // "/"
      return std::nullopt;
    }
    std::string seg = percent_decode(raw);
    if (seg == "." || seg == ".." || seg.find('/') != std::string::npos || seg.find('\0') != std::string::npos)
      return std::nullopt;
    out.push_back(std::move(seg));
    i = j + 1;
  }
  return out;
}

std::optional<std::string> query_param(const std::string& query, const std::string& name) {
  std::size_t i = 0;
  while (i <= query.size()) {
    const std::size_t amp = std::min(query.find('&', i), query.size());
    const std::string pair = query.substr(i, amp - i);
    const auto eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    for (auto& c : key)
      if (c == '+') c = ' ';
    if (percent_decode(key) == name) {
      std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      for (auto& c : value)
        if (c == '+') c = ' ';
      return percent_decode(value);
    }
    i = amp + 1;
  }
  return std::nullopt;
}

Api::Api(runtime::Runtime& runtime, const ActionRegistry& actions, FlowCatalog& catalog, ApiOptions options)
    : runtime_(runtime), actions_(actions), catalog_(catalog), options_(std::move(options)) {}

Api::~Api() { *alive_ = false; }

bool Api::ready() const { return catalog_.loaded() && !runtime_.worker().draining(); }

void Api::forget_waiter(const std::string& id, const asio::steady_timer* timer) {
  auto [from, to] = waiters_.equal_range(id);
  for (auto it = from; it != to;) {
    auto t = it->second.lock();
    if (!t || t.get() == timer) it = waiters_.erase(it);
    else ++it;
  }
}

void Api::execution_stopped(const std::string& id) {
  auto [from, to] = waiters_.equal_range(id);
  for (auto it = from; it != to; ++it)
    if (auto t = it->second.lock()) t->cancel();
  waiters_.erase(from, to);
}

awaitable<Caller> Api::authenticate(const HttpRequest& req) {
  Caller none;
  const std::string* auth = req.header("authorization");
  if (!auth) {
    if (web_ui_) co_return co_await web_ui_->authenticate(req);
    co_return none;
  }
  static constexpr std::string_view kBearer = "Bearer ";
  if (auth->size() <= kBearer.size() || auth->compare(0, kBearer.size(), kBearer) != 0) {
    none.problem = "the Authorization header must be 'Bearer <token>'";
    co_return none;
  }
  const std::string hash = token_hash(std::string_view(*auth).substr(kBearer.size()));
  auto find = [hash](store::ExecutionStore& s) { return s.token_by_hash(hash); };
  auto record = co_await store::on_store(runtime_.store(), std::move(find));
  co_return judge_token(record, now_unix_ms());
}

awaitable<HttpResponse> Api::handle(const HttpRequest& req) {
  auto seg = path_segments(req.path);
  if (!seg) co_return not_found("no such route: the path is not a plain path");
  HttpResponse r;
  try {
    r = co_await route(req, *seg);
  } catch (const store::LeaseLost& e) {
    r = error_response(409, "conflict", e.what());
  } catch (const std::exception& e) {
    const Json fields = {{"request_id", req.request_id}};
    log_with(spdlog::level::err, fields, "{} {}: {}", req.method, req.path, e.what());
    r = error_response(503, "unavailable", "the store could not be read or written; try again (request " +
                                               req.request_id + ")");
  }
  co_return r;
}

awaitable<HttpResponse> Api::route(const HttpRequest& req, const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  const std::size_t n = seg.size();
  if (n == 1 && seg[0] == "healthz") co_return json_response(200, {{"status", "alive"}});
  if (n == 1 && seg[0] == "readyz") {
    const bool ok = ready();
    Json body = {{"status", ok ? "ready" : "not ready"},
                 {"flows_loaded", catalog_.loaded()},
                 {"worker_running", !runtime_.worker().draining()}};
    co_return json_response(ok ? 200 : 503, body);
  }
  if (n == 3 && seg[0] == "hooks" && seg[1] == "okta") {
    if (!hooks_) co_return not_found("no event hooks are configured");
    co_return co_await hooks_->handle(req, seg[2]);
  }
  if (n == 1 && seg[0] == "metrics" && metrics_) {
    // Prometheus scrapes with `Authorization: Bearer`; any role may read the metrics.
    if (m != "GET") co_return method_not_allowed("GET");
    const Caller caller = co_await authenticate(req);
    if (caller.role == Role::none) co_return unauthorized(caller);
    req.token_name = caller.token_name;
    HttpResponse r;
    r.content_type = Metrics::kContentType;
    r.body = co_await metrics_->scrape(runtime_.store());
    co_return r;
  }
  if (n >= 1 && seg[0] == "ui" && web_ui_) co_return co_await web_ui_->handle(req, seg);
  if (n < 2 || seg[0] != "api" || seg[1] != "v1") co_return not_found("no such route: " + req.path);
  if (n == 3 && seg[2] == "openapi.json") {
    if (m != "GET") co_return method_not_allowed("GET");
    HttpResponse r;
    r.body = options_.openapi_document;
    co_return r;
  }

  const Caller caller = co_await authenticate(req);
  if (caller.role == Role::none) co_return unauthorized(caller);
  req.token_name = caller.token_name;
  // A browser sends its cookie with any request, even one another site's page makes it send.
  if (!WebUi::csrf_ok(req, caller))
    co_return error_response(403, "csrf", "a signed-in browser's change must carry its session's X-CSRF-Token");
  auto needs = [&](Role role) { return forbidden(caller, role); };

  if (admin_) {
    admin_->saw(caller);
    if (auto r = co_await admin_->route(req, seg, caller)) co_return std::move(*r);
  }
  const std::string& what = n > 2 ? seg[2] : std::string();
  if (what == "flows") {
    if (n == 3) {
      if (m != "GET") co_return method_not_allowed("GET");
      co_return flows_list();
    }
    if (n == 4) {
      if (m != "GET") co_return method_not_allowed("GET");
      co_return flow_detail(seg[3]);
    }
    if (n == 5 && seg[4] == "executions") {
      if (m != "POST") co_return method_not_allowed("POST");
      if (auto refused = needs(Role::operator_)) co_return *refused;
      co_return co_await start_execution(req, caller, seg[3]);
    }
  } else if (what == "actions") {
    if (m != "GET" && n <= 4) co_return method_not_allowed("GET");
    if (n == 3) co_return actions_list();
    if (n == 4) co_return action_detail(seg[3]);
  } else if (what == "executions") {
    if (n == 3) {
      if (m != "GET") co_return method_not_allowed("GET");
      co_return co_await list_executions(req);
    }
    if (n == 4) {
      if (m != "GET") co_return method_not_allowed("GET");
      co_return co_await show_execution(req, seg[3]);
    }
    if (n == 5 && seg[4] == "events") {
      if (m != "GET") co_return method_not_allowed("GET");
      co_return co_await execution_events(req, seg[3]);
    }
    if (n == 5 && (seg[4] == "cancel" || seg[4] == "retry" || seg[4] == "rerun")) {
      if (m != "POST") co_return method_not_allowed("POST");
      if (auto refused = needs(Role::operator_)) co_return *refused;
      if (seg[4] == "cancel") co_return co_await cancel_execution(seg[3]);
      if (seg[4] == "retry") co_return co_await retry_execution(seg[3]);
      co_return co_await rerun_execution(req, caller, seg[3]);
    }
  }
  co_return not_found("no such route: " + req.method + " " + req.path);
}

HttpResponse Api::flows_list() const {
  Json flows = Json::array();
  for (const auto& [name, f] : catalog_.flows()) {
    Json inputs = Json::array();
    for (const auto& d : f->inputs) inputs.push_back(d.name);
    flows.push_back({{"name", name}, {"description", f->description}, {"inputs", inputs}, {"triggers", triggers_json(*f)}});
  }
  Json problems = Json::array();
  for (const auto& p : catalog_.problems()) {
    Json errors = Json::array();
    for (const auto& d : p.diagnostics.items())
      errors.push_back({{"line", d.pos.line}, {"col", d.pos.col}, {"message", d.message}});
    problems.push_back({{"file", p.file}, {"errors", errors}});
  }
  return json_response(200, {{"flows", flows}, {"not_loaded", problems}});
}

HttpResponse Api::flow_detail(const std::string& name) const {
  auto f = catalog_.find(name);
  if (!f) return not_found("no flow named '" + name + "' in " + catalog_.dir());
  Json inputs = Json::array();
  for (const auto& d : f->inputs) inputs.push_back(input_json(d));
  return json_response(200, {{"name", f->name},
                             {"description", f->description},
                             {"file", f->source_file},
                             {"sha256", f->source_hash},
                             {"inputs", inputs},
                             {"triggers", triggers_json(*f)},
                             {"source", f->source_text}});
}

HttpResponse Api::actions_list() const {
  Json out = Json::array();
  for (const Action* a : actions_.list())
    out.push_back({{"name", a->info().name}, {"description", a->info().description}});
  return json_response(200, {{"actions", out}});
}

HttpResponse Api::action_detail(const std::string& name) const {
  const Action* a = actions_.find(name);
  if (!a) return not_found("no action named '" + name + "'");
  const auto& i = a->info();
  return json_response(200, {{"name", i.name}, {"description", i.description}, {"inputs", i.input_schema},
                             {"outputs", i.output_schema}});
}

awaitable<HttpResponse> Api::start_execution(const HttpRequest& req, const Caller& caller, const std::string& name) {
  auto f = catalog_.find(name);
  if (!f) co_return not_found("no flow named '" + name + "' in " + catalog_.dir());
  Json body = Json::object();
  if (!req.body.empty()) {
    auto parsed = parse_json(req.body);
    if (!parsed.ok()) co_return error_response(400, "validation", "the body is not usable JSON: " + parsed.error().message);
    body = std::move(*parsed);
  }
  if (!body.is_object())
    co_return error_response(400, "validation", "the body must be a JSON object ({\"inputs\": {...}})");
  for (const auto& [k, _] : body.items())
    if (k != "inputs") co_return error_response(422, "validation", "unknown field '" + k + "' in the body (only 'inputs')");
  Json inputs = body.value("inputs", Json::object());
  if (!inputs.is_object()) co_return error_response(422, "validation", "'inputs' must be an object");
  Millis wait{0};
  if (auto w = query_param(req.query, "wait")) {
    auto d = parse_duration(*w);
    if (!d || *d > options_.max_wait)
      co_return error_response(400, "validation", "'wait' must be a duration up to " + format_duration(options_.max_wait) +
                                                      " (e.g. 30s)");
    wait = *d;
  }
  std::string dedupe;
  if (const std::string* key = req.header("idempotency-key")) {
    if (key->empty() || key->size() > 255)
      co_return error_response(400, "validation", "the Idempotency-Key header must hold 1 to 255 characters");
    // Per flow: the same key on another flow is another request.
    dedupe = "api:" + name + ":" + token_hash(*key);
  }
  Json trigger = {{"type", "api"}, {"token", caller.token_name}, {"request_id", req.request_id}};
  auto started = co_await runtime_.enqueue(f, inputs, false, std::move(trigger), dedupe, 0, kIdempotencyWindowMs);
  if (!started.ok()) {
    const Error& e = started.error();
    co_return error_response(e.kind == ErrorKind::validation ? 422 : 500, std::string(to_string(e.kind)), e.message,
                             e.details.is_null() ? Json::object() : e.details);
  }
  runtime_.worker().notify();
  const std::string id = started->id;
  std::optional<store::ExecutionRecord> rec;
  if (wait.count() > 0) rec = co_await wait_for_end(id, wait);
  if (!*alive_) co_return error_response(503, "unavailable", "the service is stopping");
  if (rec && finished(rec->status)) {
    Json out = {{"execution_id", id}, {"status", rec->status}, {"outputs", run::without_sealed(rec->outputs)},
                {"error", rec->error}, {"created", started->created}};
    auto r = json_response(200, out);
    r.headers.emplace_back("Location", "/api/v1/executions/" + id);
    co_return r;
  }
  Json out = {{"execution_id", id}, {"status", rec ? rec->status : std::string("queued")}, {"created", started->created}};
  auto r = json_response(202, out);
  r.headers.emplace_back("Location", "/api/v1/executions/" + id);
  co_return r;
}

awaitable<std::optional<store::ExecutionRecord>> Api::read_execution(const std::string& id) {
  if (!is_sortable_id(id)) co_return std::nullopt;
  auto get = [id](store::ExecutionStore& s) { return s.get_execution(id); };
  auto rec = co_await store::on_store(runtime_.store(), std::move(get));
  co_return rec;
}

awaitable<std::optional<store::ExecutionRecord>> Api::wait_for_end(const std::string& id, Millis wait) {
  auto alive = std::weak_ptr<bool>(alive_);
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto timer = std::make_shared<asio::steady_timer>(ex);
  std::optional<store::ExecutionRecord> rec;
  for (;;) {
    rec = co_await read_execution(id);
    if (alive.expired() || !rec || finished(rec->status)) break;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    // Woken when this process's worker stops the execution; a poll finds it ended elsewhere.
    timer->expires_at(std::min(deadline, now + std::chrono::milliseconds(1000)));
    waiters_.emplace(id, timer);
    co_await timer->async_wait(use_tuple);
    if (alive.expired()) co_return rec;
    forget_waiter(id, timer.get());
  }
  co_return rec;
}

awaitable<HttpResponse> Api::list_executions(const HttpRequest& req) {
  store::ExecutionFilter f;
  f.light = true;
  f.top_level_only = query_param(req.query, "include_subflows").value_or("") != "true";
  f.flow = query_param(req.query, "flow").value_or("");
  f.status = query_param(req.query, "status").value_or("");
  f.trigger_type = query_param(req.query, "trigger").value_or("");
  f.before_id = query_param(req.query, "cursor").value_or("");
  f.search = query_param(req.query, "q").value_or("");
  if (f.search.size() > 200) co_return error_response(400, "validation", "'q' may be at most 200 characters");
  if (!f.before_id.empty() && !is_sortable_id(f.before_id))
    co_return error_response(400, "validation", "'cursor' is not a cursor this API gave");
  static const std::set<std::string> kStatuses = {"queued", "running", "waiting", "succeeded", "failed", "cancelled"};
  if (!f.status.empty() && !kStatuses.count(f.status))
    co_return error_response(400, "validation", "'status' must be one of queued, running, waiting, succeeded, failed, cancelled");
  for (const char* bound : {"since", "until"}) {
    if (auto v = query_param(req.query, bound)) {
      auto t = parse_timestamp(*v);
      if (!t) co_return error_response(400, "validation", std::string("'") + bound + "' must be an RFC 3339 time");
      (std::string(bound) == "since" ? f.created_since : f.created_until) = *t;
    }
  }
  std::string problem;
  f.limit = static_cast<int>(query_int(req.query, "limit", 1, kMaxPageRows, problem).value_or(50));
  if (!problem.empty()) co_return error_response(400, "validation", problem);
  auto list = [f](store::ExecutionStore& s) { return s.list_executions(f); };
  auto rows = co_await store::on_store(runtime_.store(), std::move(list));
  Json out = Json::array();
  for (const auto& r : rows) out.push_back(execution_row(r));
  Json body = {{"executions", out}};
  body["next_cursor"] = static_cast<int>(rows.size()) == f.limit && !rows.empty() ? Json(rows.back().id) : Json();
  co_return json_response(200, body);
}

awaitable<HttpResponse> Api::show_execution(const HttpRequest& req, const std::string& id) {
  std::string problem;
  const auto offset = query_int(req.query, "steps_offset", 0, std::numeric_limits<int>::max(), problem).value_or(0);
  const auto limit = query_int(req.query, "steps_limit", 1, kMaxStepsPage, problem).value_or(500);
  if (!problem.empty()) co_return error_response(400, "validation", problem);
  auto rec = co_await read_execution(id);
  if (!rec) co_return not_found("no execution with id '" + id + "'");
  const auto from = static_cast<std::size_t>(offset), most = static_cast<std::size_t>(limit);
  auto read = [id, from, most](store::ExecutionStore& s) { return s.step_run_page(id, from, most); };
  auto page = co_await store::on_store(runtime_.store(), std::move(read));
  co_return json_response(200, execution_detail(*rec, page, from));
}

awaitable<HttpResponse> Api::cancel_execution(const std::string& id) {
  if (!is_sortable_id(id)) co_return not_found("no execution with id '" + id + "'");
  auto cancel = [id](store::ExecutionStore& s) { return s.request_cancel(id, now_unix_ms()); };
  auto res = co_await store::on_store(runtime_.store(), std::move(cancel));
  if (!res.found) co_return not_found("no execution with id '" + id + "'");
  // Run here: its cancellation (finally steps) starts now; held elsewhere: its worker sees the
  // request when it renews; queued or parked: whoever claims it next runs the cancellation.
  const bool here = runtime_.worker().cancel(id);
  if (!here) runtime_.worker().notify();
  Json out = {{"execution_id", id}, {"status", res.status}, {"cancel_requested", !finished(res.status) || res.finished_now}};
  co_return json_response(finished(res.status) && !res.finished_now ? 409 : 202, out);
}

awaitable<HttpResponse> Api::retry_execution(const std::string& id) {
  auto rec = co_await read_execution(id);
  if (!rec) co_return not_found("no execution with id '" + id + "'");
  if (!rec->parent_id.empty())
    co_return error_response(409, "conflict", id + " is a subflow's execution; retry its top-level execution " + rec->parent_id);
  auto reopen = [id](store::ExecutionStore& s) { return s.reopen(id, now_unix_ms()); };
  const bool reopened = co_await store::on_store(runtime_.store(), std::move(reopen));
  if (!reopened)
    co_return error_response(409, "conflict", "execution " + id + " is " + rec->status +
                                                  ": only a failed or cancelled execution can be retried" +
                                                  (rec->status == "succeeded" ? " (rerun starts a new one)" : ""));
  runtime_.worker().notify();
  co_return json_response(202, {{"execution_id", id}, {"status", "queued"}});
}

awaitable<HttpResponse> Api::rerun_execution(const HttpRequest& req, const Caller& caller, const std::string& id) {
  auto rec = co_await read_execution(id);
  if (!rec) co_return not_found("no execution with id '" + id + "'");
  if (!rec->parent_id.empty())
    co_return error_response(409, "conflict", id + " is a subflow's execution; rerun its top-level execution " + rec->parent_id);
  Json inputs = rec->inputs;
  if (inputs.is_object() && inputs.contains(run::kSealedKey)) {
    if (!options_.unseal || !run::open_sealed(inputs, id + "/inputs", options_.unseal))
      co_return error_response(409, "conflict", "its sensitive inputs are sealed and this service cannot open them "
                                                "(no master key, or another one)");
  }
  const bool same_version = query_param(req.query, "same_version").value_or("") == "true";
  flow::FlowPtr f;
  if (same_version) {
    auto loaded = flow::load_flow_text(rec->flow_source, rec->flow_file, actions_);
    if (!loaded.ok()) co_return error_response(409, "conflict", "the flow as it ran no longer loads: " + loaded.diagnostics.format());
    f = loaded.flow;
  } else {
    f = catalog_.find(rec->flow_name);
    if (!f) co_return not_found("no flow named '" + rec->flow_name + "' in " + catalog_.dir() + " any more");
  }
  Json trigger = {{"type", "rerun"}, {"of", id}, {"token", caller.token_name}, {"request_id", req.request_id}};
  auto started = co_await runtime_.enqueue(f, inputs, false, std::move(trigger));
  if (!started.ok()) co_return error_response(422, std::string(to_string(started.error().kind)), started.error().message);
  runtime_.worker().notify();
  auto r = json_response(202, {{"execution_id", started->id}, {"status", "queued"}, {"rerun_of", id}});
  r.headers.emplace_back("Location", "/api/v1/executions/" + started->id);
  co_return r;
}

awaitable<HttpResponse> Api::execution_events(const HttpRequest& req, const std::string& id) {
  (void)req;
  auto rec = co_await read_execution(id);
  if (!rec) co_return not_found("no execution with id '" + id + "'");
  HttpResponse r;
  r.content_type = "text/event-stream";
  auto alive = std::weak_ptr<bool>(alive_);
  // Each step run as it is journaled, then the execution's end. Read from the store, so that
  // it follows executions run by any worker sharing it.
  r.stream = [this, alive, id](std::function<awaitable<bool>(std::string)> send) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    std::map<std::pair<std::string, int>, std::string> seen;  // (path, attempt) -> status sent
    for (;;) {
      if (alive.expired()) co_return;
      auto read = [id](store::ExecutionStore& s) { return s.step_runs(id); };
      auto steps = co_await store::on_store(runtime_.store(), std::move(read));
      auto again = co_await read_execution(id);
      if (alive.expired() || !again) co_return;
      for (const auto& s : steps) {
        auto& sent = seen[{s.path, s.attempt}];
        if (sent == s.status) continue;
        sent = s.status;
        Json ev = {{"path", s.path}, {"attempt", s.attempt}, {"kind", s.kind}, {"status", s.status}};
        if (s.started_at && s.finished_at) ev["duration_ms"] = s.finished_at - s.started_at;
        if (s.error.is_object()) ev["error"] = s.error;
        std::string chunk = "event: step\ndata: " + ev.dump() + "\n\n";
        if (!co_await send(std::move(chunk))) co_return;
      }
      Json status = execution_row(*again);
      if (finished(again->status)) {
        std::string chunk = "event: end\ndata: " + status.dump() + "\n\n";
        co_await send(std::move(chunk));
        co_return;
      }
      timer.expires_after(std::chrono::milliseconds(250));
      auto [cancelled] = co_await timer.async_wait(use_tuple);
      if (cancelled) co_return;
    }
  };
  co_return r;
}

}  // namespace spokeflow::serve
