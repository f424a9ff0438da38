#include "okta/okta_action.hpp"

#include <algorithm>

namespace spokeflow::okta {
namespace asio = boost::asio;

namespace {

constexpr int kDefaultMaxItems = 1000;

bool text_contains(const Json& v, std::string_view needle) {
  if (v.is_string()) return v.get_ref<const std::string&>().find(needle) != std::string::npos;
  if (v.is_array() || v.is_object())
    for (const auto& x : v)
      if (text_contains(x, needle)) return true;
  return false;
}

}  // namespace

connect::ApiRequest request(std::string method, std::string path, std::optional<Json> body) {
  connect::ApiRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.json_body = std::move(body);
  return r;
}

std::string filter_literal(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

asio::awaitable<Result<connect::ApiResponse>> Call::send(connect::ApiRequest request) {
  auto r = co_await client_.call(std::move(request));
  if (r.ok()) {
    request_id_ = r->request_id;
  } else if (r.error().details.is_object()) {
    request_id_ = r.error().details.value("request_id", std::string());
  }
  co_return r;
}

asio::awaitable<Result<Json>> Call::list(connect::ApiRequest first, std::function<bool(const Json&)> keep, int limit) {
  const Json& inputs = in();
  const bool stream = inputs.value("stream", false);
  const int page_size = inputs.value("page_size", limit);
  const std::size_t max_items = static_cast<std::size_t>(std::max(0, inputs.value("max_items", kDefaultMaxItems)));
  Json items = Json::array();
  std::string next;
  bool truncated = false;

  std::string after = inputs.contains("after") && inputs["after"].is_string() ? inputs["after"].get<std::string>() : "";
  Result<connect::ApiResponse> page = Error::make(ErrorKind::internal, "no page");
  if (!after.empty()) {
    // A cursor is the next link Okta gave: an absolute URL of the same origin (checked by the client).
    connect::ApiRequest req;
    req.method = "GET";
    req.path = after;
    page = co_await send(std::move(req));
  } else {
    if (page_size > 0) first.query.emplace_back("limit", std::to_string(page_size));
    page = co_await send(std::move(first));
  }
  for (;;) {
    if (!page.ok()) co_return page.error();
    Json& body = page->json;
    if (!body.is_array())
      co_return Error::make(ErrorKind::http, "expected a JSON list from " + client_.alias() + ", got " +
                                                 std::string(body.type_name()));
    next = page->next_url;
    for (auto& item : body) {
      if (keep && !keep(item)) continue;
      if (!stream && items.size() >= max_items) {
        // Cut inside this page: Okta's cursor leads past the whole page, so offering it
        // would skip the items left out here.
        truncated = true;
        next.clear();
        break;
      }
      items.push_back(std::move(item));
    }
    if (stream || truncated || next.empty()) break;
    if (items.size() >= max_items) {
      truncated = true;  // full at a page's end: `next` continues right after the last item
      break;
    }
    connect::ApiRequest req;
    req.method = "GET";
    req.path = next;
    page = co_await send(std::move(req));
  }
  // A plain step that filled max_items exactly at a page's end with more pages left is
  // truncated too; its `next` then continues exactly after the last item returned.
  if (!stream && !next.empty()) truncated = true;
  Json out = {{"count", items.size()}, {"truncated", truncated}};
  out["next"] = next.empty() ? Json() : Json(next);
  out["items"] = std::move(items);
  co_return finish(std::move(out));
}

bool Call::already(const Error& error, std::initializer_list<std::string_view> codes, std::string_view summary_contains) const {
  if (error.kind != ErrorKind::okta) return false;
  if (std::find(codes.begin(), codes.end(), std::string_view(error.code)) == codes.end()) return false;
  if (!summary_contains.empty() && error.message.find(summary_contains) == std::string::npos &&
      !text_contains(error.details, summary_contains))
    return false;
  return in().value("if_already", std::string("succeed")) == "succeed";
}

Json Call::finish(Json outputs) const {
  outputs["okta_request_id"] = request_id_.empty() ? Json() : Json(request_id_);
  return outputs;
}

OktaAction::OktaAction(const char* schema_path, ConnectionsPtr connections)
    : info_(ActionInfo::from_embedded(schema_path)), connections_(std::move(connections)) {}

asio::awaitable<Result<Json>> OktaAction::invoke(ActionContext& ctx) const {
  if (!connections_)
    co_return Error::make(ErrorKind::validation,
                          info_.name + " needs a connections file: none was found (give --connections FILE, set "
                                       "SPOKEFLOW_CONNECTIONS, or create ./connections.yaml; see examples/connections/)");
  std::string alias = ctx.connection.empty() ? std::string("okta") : std::string(ctx.connection);
  auto client = connections_->client(alias);
  if (!client.ok()) co_return client.error();
  Call call(ctx, **client);
  auto r = co_await run(call);
  co_return r;
}

namespace {

class FnAction final : public OktaAction {
 public:
  FnAction(const char* schema_path, ConnectionsPtr connections, RunFn fn)
      : OktaAction(schema_path, std::move(connections)), fn_(std::move(fn)) {}

 protected:
  asio::awaitable<Result<Json>> run(Call& call) const override {
    auto r = co_await fn_(call);
    co_return r;
  }

 private:
  RunFn fn_;
};

}  // namespace

std::unique_ptr<Action> make_action(const char* schema_path, ConnectionsPtr connections, RunFn run) {
  return std::make_unique<FnAction>(schema_path, std::move(connections), std::move(run));
}

}  // namespace spokeflow::okta
