// okta.* System Log and schema metadata actions.
#include <algorithm>
#include <optional>
#include <string>

#include "okta/okta_action.hpp"

namespace spokeflow::okta {
namespace asio = boost::asio;

namespace {

using connect::ApiRequest;

constexpr int kLogPageLimit = 1000;  // Okta's largest System Log page

// Without a page_size, a plain step asks for no more than it may keep, so that a small
// max_items does not cut a page in two (a cut page's `next` resumes after the whole page).
int first_page_limit(const Json& in) {
  if (in.value("stream", false)) return kLogPageLimit;
  return std::clamp(in.value("max_items", 1000), 1, kLogPageLimit);
}

// A System Log query without `until` in ascending order is what Okta calls polling: every
// answer carries a next link, even at the end, so "no next link" never comes. Reading stops at
// the first empty page instead, and that last link is handed back as `poll_next` for a later run
// (`after: poll_next`) to carry on from where this one stopped.
asio::awaitable<Result<Json>> poll_logs(Call& c, ApiRequest first) {
  const Json& in = c.in();
  const bool stream = in.value("stream", false);
  const std::size_t max_items = static_cast<std::size_t>(std::max(0, in.value("max_items", 1000)));
  const int page_size = in.value("page_size", first_page_limit(in));
  const std::string after = in.contains("after") && in["after"].is_string() ? in["after"].get<std::string>() : "";

  ApiRequest req;
  if (!after.empty())
    if (auto refused = c.check_cursor(after, first.path)) co_return *refused;
  if (after.empty()) {
    req = std::move(first);
    req.query.emplace_back("limit", std::to_string(page_size));
  } else {
    req = request("GET", after);
  }
  Json items = Json::array();
  // `fetched_from` is the link of the page being read ("" for the first request of a run).
  std::string next, fetched_from = after, poll_next;
  bool truncated = false;
  for (;;) {
    auto page = co_await c.send(std::move(req));
    if (!page.ok()) co_return page.error();
    if (!page->json.is_array())
      co_return Error::make(ErrorKind::http, "okta.list_logs: expected a JSON list from " + c.client().alias() +
                                                 ", got " + std::string(page->json.type_name()));
    const bool empty = page->json.empty();
    poll_next = page->next_url.empty() ? fetched_from : page->next_url;
    const std::size_t room = stream ? page->json.size() : max_items - std::min(max_items, items.size());
    if (page->json.size() > room) {
      // Cut inside this page: its next link leads past the whole page and would skip the
      // events left out, so there is no `next`, and polling resumes by reading the page again.
      truncated = true;
      poll_next = fetched_from;
    }
    for (std::size_t i = 0; i < page->json.size() && i < room; ++i) items.push_back(std::move(page->json[i]));
    if (truncated || empty || page->next_url.empty()) break;  // cut, or caught up with the log
    if (stream || items.size() >= max_items) {
      // Full at a page's end: its link continues right after the last event returned.
      truncated = !stream;
      next = page->next_url;
      break;
    }
    fetched_from = page->next_url;
    req = request("GET", page->next_url);
  }
  Json out = {{"count", items.size()}, {"truncated", truncated}};
  out["next"] = next.empty() ? Json() : Json(next);
  out["poll_next"] = poll_next.empty() ? Json() : Json(poll_next);
  out["items"] = std::move(items);
  co_return c.finish(std::move(out));
}

asio::awaitable<Result<Json>> list_logs(Call& c) {
  const Json& in = c.in();
  ApiRequest req = request("GET", "/api/v1/logs");
  for (const char* key : {"since", "until", "filter", "q"})
    if (in.contains(key)) req.query.emplace_back(key, in[key].get<std::string>());
  const std::string order = in.value("sort_order", std::string("ASCENDING"));
  req.query.emplace_back("sortOrder", order);
  if (order == "ASCENDING" && !in.contains("until")) {
    auto r = co_await poll_logs(c, std::move(req));
    co_return r;
  }
  auto r = co_await c.list(std::move(req), {}, first_page_limit(in));
  if (r.ok()) (*r)["poll_next"] = nullptr;
  co_return r;
}

asio::awaitable<Result<Json>> get_user_schema(Call& c) {
  auto r = co_await c.send(request("GET", "/api/v1/meta/schemas/user/default"));
  if (!r.ok()) co_return r.error();
  Json custom = Json::array();
  const Json& schema = r->json;
  if (schema.is_object() && schema.contains("definitions") && schema["definitions"].is_object()) {
    const Json defs = schema["definitions"].value("custom", Json::object());
    const Json props = defs.is_object() ? defs.value("properties", Json::object()) : Json::object();
    if (props.is_object())
      for (const auto& [name, def] : props.items()) {
        Json p = {{"name", name}, {"type", nullptr}, {"title", nullptr}};
        if (def.is_object()) {
          p["type"] = def.value("type", Json());
          p["title"] = def.value("title", Json());
        }
        custom.push_back(std::move(p));
      }
  }
  co_return c.finish({{"schema", r->json}, {"custom_properties", std::move(custom)}});
}

}  // namespace

void register_logs_meta(ActionRegistry& registry, const ConnectionsPtr& connections) {
  registry.add(make_action("actions/okta/list_logs.json", connections, &list_logs));
  registry.add(make_action("actions/okta/get_user_schema.json", connections, &get_user_schema));
}

}  // namespace spokeflow::okta
