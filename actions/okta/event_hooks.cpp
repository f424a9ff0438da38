// okta.* event hook actions: registering, changing, verifying and removing Okta event hooks.
#include <optional>
#include <string>

#include "common/scrub.hpp"
#include "okta/okta_action.hpp"

namespace spokeflow::okta {
namespace asio = boost::asio;

namespace {

using connect::ApiRequest;

std::string hook_path(const Call& c) { return "/api/v1/eventHooks/" + seg(c.in()["event_hook_id"]); }

Json hook_outputs(Json hook) {
  Json out = Json::object();
  const bool obj = hook.is_object();
  out["event_hook_id"] = obj ? hook.value("id", Json()) : Json();
  out["status"] = obj ? hook.value("status", Json()) : Json();
  out["verification_status"] = obj ? hook.value("verificationStatus", Json()) : Json();
  out["event_hook"] = std::move(hook);
  return out;
}

// Headers come as a map {name: value} (the YAML-friendly form) or as Okta's [{key, value}].
Json okta_headers(const Json& headers) {
  if (headers.is_array()) return headers;
  Json out = Json::array();
  for (const auto& [k, v] : headers.items()) out.push_back({{"key", k}, {"value", v}});
  return out;
}

// Applies the step's inputs to an event hook body (a new one, or the current one on update).
void apply_inputs(const Json& in, Json& body) {
  if (in.contains("name")) body["name"] = in["name"];
  if (in.contains("events")) body["events"] = {{"type", "EVENT_TYPE"}, {"items", in["events"]}};
  if (!body.contains("channel") || !body["channel"].is_object())
    body["channel"] = {{"type", "HTTP"}, {"version", "1.0.0"}, {"config", Json::object()}};
  Json& config = body["channel"]["config"];
  if (!config.is_object()) config = Json::object();
  if (in.contains("url")) config["uri"] = in["url"];
  if (in.contains("headers")) config["headers"] = okta_headers(in["headers"]);
  if (in.contains("auth_header")) {
    const Json& a = in["auth_header"];
    if (a.is_null()) {
      config.erase("authScheme");
    } else {
      config["authScheme"] = {
          {"type", "HEADER"}, {"key", a.value("key", std::string("Authorization"))}, {"value", a["value"]}};
      SecretScrubber::instance().add(a["value"].get<std::string>());
    }
  }
}

asio::awaitable<Result<Json>> create_event_hook(Call& c) {
  Json body = Json::object();
  apply_inputs(c.in(), body);
  // Not repeatable: a second create makes a second hook.
  auto r = co_await c.send(request("POST", "/api/v1/eventHooks", body));
  if (!r.ok()) co_return r.error();
  co_return c.finish(hook_outputs(std::move(r->json)));
}

asio::awaitable<Result<Json>> get_event_hook(Call& c) {
  auto r = co_await c.send(request("GET", hook_path(c)));
  if (!r.ok()) co_return r.error();
  co_return c.finish(hook_outputs(std::move(r->json)));
}

asio::awaitable<Result<Json>> list_event_hooks(Call& c) {
  // Okta answers every hook at once (the list is not paged): no limit is sent unless given.
  auto r = co_await c.list(request("GET", "/api/v1/eventHooks"), {}, 0);
  co_return r;
}

asio::awaitable<Result<Json>> update_event_hook(Call& c) {
  const Json& in = c.in();
  if (!in.contains("name") && !in.contains("url") && !in.contains("events") && !in.contains("headers") &&
      !in.contains("auth_header"))
    co_return Error::make(ErrorKind::validation,
                          "okta.update_event_hook: nothing to change: give `name`, `url`, "
                          "`events`, `headers` and/or `auth_header`");
  // PUT replaces the hook: start from the current one. Okta never shows the auth header's
  // value; an authScheme sent without one keeps the stored value.
  auto cur = co_await c.send(request("GET", hook_path(c)));
  if (!cur.ok()) co_return cur.error();
  Json body = Json::object();
  for (const char* k : {"name", "events", "channel"})
    if (cur->json.contains(k)) body[k] = cur->json[k];
  apply_inputs(in, body);
  auto r = co_await c.send(request("PUT", hook_path(c), body));
  if (!r.ok()) co_return r.error();
  co_return c.finish(hook_outputs(std::move(r->json)));
}

// Okta answers 200 with the hook when it is already in the asked-for state, so running
// either twice is harmless and there is nothing to converge (verify only asks the hook's
// endpoint for its challenge again): the client may repeat them.
asio::awaitable<Result<Json>> lifecycle(Call& c, const char* op) {
  auto r = co_await c.send(repeatable(request("POST", hook_path(c) + "/lifecycle/" + op)));
  if (!r.ok()) co_return r.error();
  co_return c.finish(hook_outputs(std::move(r->json)));
}

asio::awaitable<Result<Json>> activate_event_hook(Call& c) {
  auto r = co_await lifecycle(c, "activate");
  co_return r;
}

asio::awaitable<Result<Json>> deactivate_event_hook(Call& c) {
  auto r = co_await lifecycle(c, "deactivate");
  co_return r;
}

asio::awaitable<Result<Json>> verify_event_hook(Call& c) {
  auto r = co_await lifecycle(c, "verify");
  co_return r;
}

asio::awaitable<Result<Json>> delete_event_hook(Call& c) {
  const Json& in = c.in();
  Json gone = {{"event_hook_id", in["event_hook_id"]}, {"deleted", false}, {"already", true}};
  // Okta deletes only INACTIVE hooks (E0000001 otherwise).
  if (in.value("deactivate_first", true)) {
    auto d = co_await c.send(repeatable(request("POST", hook_path(c) + "/lifecycle/deactivate")));
    if (!d.ok()) {
      if (c.already(d.error(), {"E0000007"})) co_return c.finish(std::move(gone));
      co_return d.error();
    }
  }
  auto r = co_await c.send(request("DELETE", hook_path(c)));
  if (!r.ok()) {
    if (c.already(r.error(), {"E0000007"})) co_return c.finish(std::move(gone));
    co_return r.error();
  }
  co_return c.finish({{"event_hook_id", in["event_hook_id"]}, {"deleted", true}, {"already", false}});
}

}  // namespace

void register_event_hooks(ActionRegistry& registry, const ConnectionsPtr& connections) {
  registry.add(make_action("actions/okta/create_event_hook.json", connections, &create_event_hook));
  registry.add(make_action("actions/okta/get_event_hook.json", connections, &get_event_hook));
  registry.add(make_action("actions/okta/list_event_hooks.json", connections, &list_event_hooks));
  registry.add(make_action("actions/okta/update_event_hook.json", connections, &update_event_hook));
  registry.add(make_action("actions/okta/activate_event_hook.json", connections, &activate_event_hook));
  registry.add(make_action("actions/okta/deactivate_event_hook.json", connections, &deactivate_event_hook));
  registry.add(make_action("actions/okta/verify_event_hook.json", connections, &verify_event_hook));
  registry.add(make_action("actions/okta/delete_event_hook.json", connections, &delete_event_hook));
}

}  // namespace spokeflow::okta
