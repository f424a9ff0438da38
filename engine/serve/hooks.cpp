#include "serve/hooks.hpp"

#include <spdlog/spdlog.h>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "common/log_fields.hpp"
#include "expr/expr.hpp"
#include "flow/loader.hpp"
#include "serve/tokens.hpp"
#include "store/async.hpp"

namespace spokeflow::serve {
namespace asio = boost::asio;
using asio::awaitable;
namespace {

class EventScope final : public expr::Scope {
 public:
  explicit EventScope(const Json& event) : event_(event) {}
  const Json* lookup(std::string_view root) const override { return root == "event" ? &event_ : nullptr; }

 private:
  const Json& event_;
};

Result<Json> evaluate_value(const Json& value, const expr::Scope& scope, const std::string& where) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.find("${{") == std::string::npos) return value;
    auto parsed = expr::Template::parse(text);
    if (auto* e = std::get_if<expr::ParseError>(&parsed))
      return Error::make(ErrorKind::validation, where + ": " + e->message);
    return std::get<expr::Template>(parsed).evaluate(scope);
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) {
      auto r = evaluate_value(v, scope, where + "." + k);
      if (!r.ok()) return r.error();
      out[k] = std::move(*r);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value) {
      auto r = evaluate_value(v, scope, where);
      if (!r.ok()) return r.error();
      out.push_back(std::move(*r));
    }
    return out;
  }
  return value;
}

bool plain_id(const Json& v, std::size_t max) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace

bool trigger_names_event(const Json& spec, const std::string& event_type) {
  auto it = spec.find("okta_event");
  if (it == spec.end()) return false;
  if (it->is_string()) return *it == event_type;
  if (it->is_array())
    for (const auto& t : *it)
      if (t.is_string() && t == event_type) return true;
  return false;
}

Result<Json> trigger_inputs(const Json& spec, const Json& event) {
  auto it = spec.find("inputs");
  if (it == spec.end()) return Json::object();
  EventScope scope(event);
  return evaluate_value(*it, scope, "inputs");
}

Result<bool> trigger_condition(const Json& spec, const Json& event) {
  auto it = spec.find("if");
  if (it == spec.end()) return true;
  if (it->is_boolean()) return it->get<bool>();
  if (!it->is_string()) return Error::make(ErrorKind::validation, "'if' must be an expression");
  auto parsed = expr::Template::parse_condition(it->get<std::string>());
  if (auto* e = std::get_if<expr::ParseError>(&parsed)) return Error::make(ErrorKind::validation, "if: " + e->message);
  EventScope scope(event);
  auto r = std::get<expr::Template>(parsed).evaluate(scope);
  if (!r.ok()) return r.error();
  return expr::truthy(*r);
}

HookReceiver::HookReceiver(runtime::Runtime& runtime, FlowCatalog& catalog, std::map<std::string, HookConfig> hooks)
    : runtime_(runtime), catalog_(catalog), hooks_(std::move(hooks)) {}

awaitable<HttpResponse> HookReceiver::handle(const HttpRequest& req, const std::string& name) {
  auto it = hooks_.find(name);
  if (it == hooks_.end()) co_return error_response(404, "not_found", "no event hook named '" + name + "'");
  const HookConfig& hook = it->second;
  const std::string* auth = req.header("authorization");
  if (!auth || !same_secret(*auth, hook.secret)) {
    const Json log_fields = {{"hook", name}, {"request_id", req.request_id}, {"peer", req.peer}};
    log_with(spdlog::level::warn, log_fields,
             "event hook '{}': refused a {} without the hook's secret", name, req.method == "POST" ? "delivery" : "request");
    if (req.method == "POST" && on_delivery) on_delivery(name, "rejected", 0, 0);
    co_return error_response(401, "auth", "the Authorization header does not hold this hook's secret");
  }
  if (req.method == "GET") {
    const std::string* challenge = req.header("x-okta-verification-challenge");
    if (!challenge || challenge->empty() || challenge->size() > 1024)
      co_return error_response(400, "validation", "a verification request needs the x-okta-verification-challenge header");
    Json body = {{"verification", *challenge}};
    co_return json_response(200, body);
  }
  if (req.method != "POST") {
    auto r = error_response(405, "validation", "method not allowed here (allowed: GET, POST)");
    r.headers.emplace_back("Allow", "GET, POST");
    co_return r;
  }
  auto r = co_await deliver(req, hook);
  if (r.status >= 400 && on_delivery) on_delivery(name, "rejected", 0, 0);
  co_return r;
}

awaitable<HttpResponse> HookReceiver::deliver(const HttpRequest& req, const HookConfig& hook) {
  auto parsed = parse_json(req.body);
  if (!parsed.ok()) co_return error_response(400, "validation", "the delivery is not usable JSON: " + parsed.error().message);
  Json body = std::move(*parsed);
  if (!body.is_object()) co_return error_response(400, "validation", "the delivery is not a JSON object");
  if (!plain_id(body.value("eventId", Json()), 128))
    co_return error_response(400, "validation", "the delivery has no eventId (a string of up to 128 printable characters)");
  const std::string event_id = body["eventId"];
  const Json* events = nullptr;
  if (auto d = body.find("data"); d != body.end() && d->is_object())
    if (auto e = d->find("events"); e != d->end() && e->is_array()) events = &*e;
  if (!events) co_return error_response(400, "validation", "the delivery has no data.events array");
  if (events->size() > kMaxEventsPerDelivery)
    co_return error_response(413, "validation", "the delivery holds " + std::to_string(events->size()) +
                                                    " events; at most " + std::to_string(kMaxEventsPerDelivery) + " are taken");
  for (std::size_t i = 0; i < events->size(); ++i) {
    const Json& ev = (*events)[i];
    if (!ev.is_object() || !plain_id(ev.value("uuid", Json()), 128) || !plain_id(ev.value("eventType", Json()), 256))
      co_return error_response(400, "validation", "data.events[" + std::to_string(i) +
                                                      "] needs a uuid and an eventType (strings)");
  }
  // Okta delivers at least once: a delivery seen before starts nothing and is counted on its record.
  auto seen = [event_id](store::ExecutionStore& s) { return s.delivery(event_id).has_value(); };
  if (!co_await store::on_store(runtime_.store(), std::move(seen))) {
    store::HookDelivery record;
    record.event_id = event_id;
    record.hook = hook.name;
    record.received_at = now_unix_ms();
    record.events = static_cast<int>(events->size());
    const int started = co_await start_flows(hook, *events, record);
    if (started > 0 && on_enqueued) on_enqueued();
    auto write = [record](store::ExecutionStore& s) { return s.record_delivery(record); };
    // False when a twin received meanwhile (here or by another process) was recorded first: its
    // executions are the ones started (each event's are keyed by its uuid), this one is the redelivery.
    if (co_await store::on_store(runtime_.store(), std::move(write))) {
      const Json log_fields = {{"hook", hook.name}, {"event_id", event_id}, {"request_id", req.request_id}};
      log_with(spdlog::level::info, log_fields,
               "event hook '{}': delivery {} with {} events started {} executions", hook.name, event_id, events->size(),
               started);
      if (on_delivery) on_delivery(hook.name, "accepted", events->size(), started);
      co_return json_response(200, {{"duplicate", false}, {"started", started}});
    }
  }
  auto count = [event_id, at = now_unix_ms()](store::ExecutionStore& s) { return s.record_redelivery(event_id, at); };
  co_await store::on_store(runtime_.store(), std::move(count));
  const Json log_fields = {{"hook", hook.name}, {"event_id", event_id}, {"request_id", req.request_id}};
  log_with(spdlog::level::info, log_fields,
           "event hook '{}': delivery {} was received before; nothing new started", hook.name, event_id);
  if (on_delivery) on_delivery(hook.name, "duplicate", events->size(), 0);
  co_return json_response(200, {{"duplicate", true}, {"started", 0}});
}

awaitable<int> HookReceiver::start_flows(const HookConfig& hook, const Json& events, store::HookDelivery& record) {
  const std::string& event_id = record.event_id;
  int started = 0;
  for (const Json& ev : events) {
    const std::string type = ev["eventType"];
    const std::string uuid = ev["uuid"];
    for (const auto& [name, f] : catalog_.flows()) {
      for (std::size_t t = 0; t < f->triggers.size(); ++t) {
        const Json& spec = f->triggers[t].spec;
        if (!spec.is_object() || !trigger_names_event(spec, type)) continue;
        Json row = {{"event", uuid}, {"flow", name}};
        auto cond = trigger_condition(spec, ev);
        if (!cond.ok() || !*cond) {
          if (!cond.ok()) {
            const Json log_fields = {{"hook", hook.name}, {"event_id", event_id}, {"flow", name}};
            log_with(spdlog::level::warn, log_fields,
                     "event {} ({}): flow {}'s trigger condition failed: {}", uuid, type, name, cond.error().message);
            row["error"] = cond.error().message;
          } else {
            row["skipped"] = "if: false";
          }
          record.started.push_back(std::move(row));
          continue;
        }
        auto inputs = trigger_inputs(spec, ev);
        if (!inputs.ok()) {
          row["error"] = inputs.error().message;
          record.started.push_back(std::move(row));
          continue;
        }
        Json trigger = {{"type", "okta_event"}, {"hook", hook.name}, {"event_id", event_id},
                        {"event_type", type}, {"event", ev}};
        std::string key = "okta_event:" + name + ":" + std::to_string(t) + ":" + uuid;
        auto enq = co_await runtime_.enqueue(f, *inputs, false, std::move(trigger), std::move(key));
        if (!enq.ok()) {
          const Json log_fields = {{"hook", hook.name}, {"event_id", event_id}, {"flow", name}};
          log_with(spdlog::level::warn, log_fields,
                   "event {} ({}): flow {} not started: {}", uuid, type, name, enq.error().message);
          row["error"] = enq.error().message;
        } else {
          row["execution"] = enq->id;
          row["created"] = enq->created;
          if (enq->created) ++started;
        }
        record.started.push_back(std::move(row));
      }
    }
  }
  co_return started;
}

}  // namespace spokeflow::serve
