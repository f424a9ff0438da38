// core.http: one REST call through a connection's client, so a step talking to an endpoint
// the Okta spoke does not cover still gets the credential, pacing, retries and error mapping.
#include <algorithm>
#include <cctype>

#include "common/duration.hpp"
#include "common/url_encode.hpp"
#include "common/text.hpp"
#include "common/utf8.hpp"
#include "connect/client.hpp"
#include "core.hpp"

namespace spokeflow::actions {
namespace asio = boost::asio;

namespace {

std::string query_value(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();  // numbers
}

Error invalid(std::string message) { return Error::make(ErrorKind::validation, "core.http: " + std::move(message)); }

// Turns the step's inputs into a request; input schema already checked.
Result<connect::ApiRequest> build_request(const Json& in) {
  connect::ApiRequest req;
  req.method = in.value("method", std::string("GET"));
  req.path = in.at("path").get<std::string>();
  if (has_dot_segment(url_path(req.path)))
    return invalid("path: '" + std::string(url_path(req.path).substr(0, 200)) +
                   "' holds a dot segment ('.' or '..', maybe percent-encoded), which could reach another resource "
                   "than the path spells; give the path without one");
  req.safe_to_repeat = in.value("safe_to_repeat", false);
  if (auto q = in.find("query"); q != in.end()) {
    for (const auto& [k, v] : q->items()) {
      if (v.is_array()) {
        for (const auto& x : v) req.query.emplace_back(k, query_value(x));
      } else {
        req.query.emplace_back(k, query_value(v));
      }
    }
  }
  std::string content_type;
  if (auto h = in.find("headers"); h != in.end()) {
    for (const auto& [k, v] : h->items()) {
      const std::string name = ascii_lower(k);
      if (name == "authorization" || name == "proxy-authorization" || name == "cookie" || name == "dpop" ||
          name == "host")
        return invalid("header '" + k + "' cannot be set by a step: the connection's credential authenticates, " +
                       "and requests go to the connection's own host");
      if (name == "content-type") content_type = ascii_lower(v.get<std::string>());
      req.headers.emplace_back(k, v.get<std::string>());
    }
  }
  if (auto b = in.find("body"); b != in.end()) {
    if (b->is_string() && !content_type.empty() && content_type.find("json") == std::string::npos) {
      req.raw_body = b->get<std::string>();
    } else {
      req.json_body = *b;
    }
  }
  if (auto e = in.find("expect"); e != in.end())
    for (const auto& s : *e) req.expect.push_back(s.get<int>());
  if (auto t = in.find("timeout"); t != in.end()) {
    auto d = parse_duration(t->get<std::string>());
    if (!d || d->count() <= 0) return invalid("bad timeout '" + t->get<std::string>() + "' (use 250ms, 10s, 1m)");
    req.timeout = *d;
  }
  return req;
}

Json body_output(const connect::ApiResponse& r) {
  if (!r.json.is_null()) return r.json;
  if (r.body.empty()) return nullptr;
  if (!find_invalid_utf8(r.body)) return r.body;
  return "(" + std::to_string(r.body.size()) + " bytes of binary data)";
}

class HttpAction final : public Action {
 public:
  explicit HttpAction(std::shared_ptr<connect::Connections> connections)
      : info_(ActionInfo::from_embedded("actions/core/http.json")), connections_(std::move(connections)) {}
  const ActionInfo& info() const override { return info_; }

  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    if (ctx.connection.empty())
      co_return Error::make(ErrorKind::validation,
                            "core.http needs `connection:` on the step (the alias of a connection in the connections "
                            "file); it has no default");
    if (!connections_)
      co_return invalid("no connections file was found (give --connections FILE, set SPOKEFLOW_CONNECTIONS, or create "
                        "./connections.yaml; see examples/connections/)");
    auto client = connections_->client(ctx.connection);
    if (!client.ok()) co_return client.error();
    auto req = build_request(ctx.inputs);
    if (!req.ok()) co_return req.error();
    req->activity = ctx.calls;
    auto res = co_await (*client)->call(std::move(*req));
    if (!res.ok()) co_return res.error();

    Json headers = Json::object();
    for (const auto& [name, value] : res->headers) {
      std::string key = ascii_lower(name);
      if (key == "set-cookie") continue;  // session material has no place in a record
      if (find_invalid_utf8(value)) continue;
      auto it = headers.find(key);
      if (it == headers.end()) {
        headers[key] = value;
      } else {
        it->get_ref<std::string&>() += ", " + value;
      }
    }
    Json out = {{"status", res->status}, {"headers", std::move(headers)}, {"body", body_output(*res)}};
    out["request_id"] = res->request_id.empty() ? Json() : Json(res->request_id);
    out["next"] = res->next_url.empty() ? Json() : Json(res->next_url);
    co_return out;
  }

 private:
  ActionInfo info_;
  std::shared_ptr<connect::Connections> connections_;
};

}  // namespace

void register_http_action(ActionRegistry& registry, std::shared_ptr<connect::Connections> connections) {
  registry.add(std::make_unique<HttpAction>(std::move(connections)));
}

}  // namespace spokeflow::actions
