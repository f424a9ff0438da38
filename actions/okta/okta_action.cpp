#include "okta/okta_action.hpp"

#include <algorithm>
#include <cctype>

#include "common/url_encode.hpp"

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

namespace {

bool is_alnum(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; }

// A value as an error message may show it: one line, not too long.
std::string shown(std::string_view v) {
  constexpr std::size_t kMax = 80;
  std::string out;
  for (char ch : v.substr(0, kMax)) out.push_back(static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? '?' : ch);
  if (v.size() > kMax) out += "...";
  return out;
}

// Percent-decoded until nothing changes (a few rounds): what a server that decodes twice reads.
std::string fully_decoded(std::string_view v) {
  std::string cur(v);
  for (int round = 0; round < 4; ++round) {
    // percent_decode reads '+' as a space, which changes nothing that matters here.
    std::string next = percent_decode(cur);
    if (next == cur) break;
    cur = std::move(next);
  }
  return cur;
}

}  // namespace

std::string reference_problem(std::string_view kind, std::string_view value) {
  if (value.empty()) return "is empty";
  if (kind == "id") {
    if (std::all_of(value.begin(), value.end(), is_alnum)) return {};
    return "is not an Okta id (Okta ids are letters and digits, like 00u1ab2CD3ef4GH5ij6k)";
  }
  for (char ch : value)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return "holds a control character: it is no Okta id or login";
  // has_dot_segment also splits at '\' and ';', which some servers read as separators.
  if (has_dot_segment(value) || fully_decoded(value).find('/') != std::string::npos)
    return "is neither an Okta id nor a login Okta can look up: it is, or decodes to, '.' or '..' (also between '\\' "
           "or before ';'), or it holds '/' (Okta reads a login with '/' only by the user's id)";
  return {};
}

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
  request.activity = ctx_.calls;
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
    if (auto refused = check_cursor(after, url_path(first.path))) co_return *refused;
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

std::optional<Error> Call::check_cursor(const std::string& cursor, std::string_view list_path) const {
  const std::string_view path = url_path(cursor);
  const auto scheme = cursor.find("://");
  const bool absolute = scheme != std::string::npos && scheme < cursor.find_first_of("/?#");
  std::string expected;
  if (absolute) {
    // An absolute link carries the base URL's path; a relative one is resolved under it.
    std::string_view base = url_path(client_.connection().base_url);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    expected = base;
  }
  expected += list_path;
  if (!has_dot_segment(path) && path == expected) return std::nullopt;
  Error e = Error::make(ErrorKind::validation, std::string(action_) + ": after: '" + shown(cursor) +
                                                   "' is not a `next` link of this list (a cursor continues the list it "
                                                   "came from, " + std::string(list_path) + ")");
  e.details = {{"input", "after"}};
  return e;
}

bool Call::already(const Error& error, std::initializer_list<std::string_view> codes, std::string_view summary_contains) const {
  if (error.kind != ErrorKind::okta) return false;
  if (std::find(codes.begin(), codes.end(), std::string_view(error.code)) == codes.end()) return false;
  if (!summary_contains.empty() && error.message.find(summary_contains) == std::string::npos &&
      !text_contains(error.details, summary_contains))
    return false;
  return in().value("if_already", std::string("succeed")) == "succeed";
}

bool Call::converges() const { return in().value("if_already", std::string("succeed")) == "succeed"; }

Json Call::finish(Json outputs) const {
  outputs["okta_request_id"] = request_id_.empty() ? Json() : Json(request_id_);
  return outputs;
}

OktaAction::OktaAction(const char* schema_path, ConnectionsPtr connections)
    : info_(ActionInfo::from_embedded(schema_path)), connections_(std::move(connections)) {
  const Json& props = info_.input_schema.value("properties", Json::object());
  for (const auto& [name, prop] : props.items()) {
    if (!prop.is_object()) continue;
    if (auto k = prop.find("x-okta-ref"); k != prop.end() && k->is_string()) {
      references_.push_back({name, k->get<std::string>(), false});
    } else if (auto items = prop.find("items"); items != prop.end() && items->is_object()) {
      if (auto ik = items->find("x-okta-ref"); ik != items->end() && ik->is_string())
        references_.push_back({name, ik->get<std::string>(), true});
    }
  }
}

std::optional<Error> OktaAction::check_references(const Json& inputs) const {
  for (const Reference& ref : references_) {
    auto it = inputs.find(ref.input);
    if (it == inputs.end() || it->is_null()) continue;
    const Json one = Json::array({*it});
    for (const Json& v : ref.list && it->is_array() ? *it : one) {
      // The schema says string; whatever else arrives is no reference either.
      const std::string problem =
          v.is_string() ? reference_problem(ref.kind, v.get_ref<const std::string&>()) : std::string("is not a string");
      if (problem.empty()) continue;
      Error e = Error::make(ErrorKind::validation, info_.name + ": " + ref.input + ": '" +
                                                       (v.is_string() ? shown(v.get_ref<const std::string&>()) : v.dump()) +
                                                       "' " + problem);
      e.details = {{"input", ref.input}};
      return e;
    }
  }
  return std::nullopt;
}

asio::awaitable<Result<Json>> OktaAction::invoke(ActionContext& ctx) const {
  // Before anything is sent: a value that is no Okta id could name another resource.
  if (auto refused = check_references(ctx.inputs)) co_return *refused;
  if (!connections_)
    co_return Error::make(ErrorKind::validation,
                          info_.name + " needs a connections file: none was found (give --connections FILE, set "
                                       "SPOKEFLOW_CONNECTIONS, or create ./connections.yaml; see examples/connections/)");
  std::string alias = ctx.connection.empty() ? std::string("okta") : std::string(ctx.connection);
  auto client = connections_->client(alias);
  if (!client.ok()) co_return client.error();
  Call call(ctx, **client, info_.name);
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
