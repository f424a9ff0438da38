#pragma once
// What every okta.* action shares: its schema, the alias's client, Okta request ids in the
// outputs, list paging (streamed for for_each, capped by max_items otherwise) and the
// `if_already` convergence rule. Each action is a small `run` on top of this.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "action/action.hpp"
#include "connect/client.hpp"

namespace spokeflow::okta {

using ConnectionsPtr = std::shared_ptr<connect::Connections>;

// One invocation of an okta.* action.
class Call {
 public:
  Call(ActionContext& ctx, connect::ConnectionClient& client) : ctx_(ctx), client_(client) {}

  const Json& in() const { return ctx_.inputs; }
  ActionContext& ctx() { return ctx_; }
  connect::ConnectionClient& client() { return client_; }

  // One request; remembers its X-Okta-Request-Id for the outputs.
  boost::asio::awaitable<Result<connect::ApiResponse>> send(connect::ApiRequest request);

  // A list endpoint, honouring the list inputs every list action takes:
  //  - `stream: true` (set by for_each when the action is its source): one page only, the
  //    page's items and `next` (the opaque cursor, null at the end); `after` continues from a cursor;
  //  - otherwise every page up to `max_items` (default 1000): `truncated` says more were left
  //    (`next` then continues after the last item when the cut fell at a page end, else null).
  // `keep` filters items (an exact-name match over a prefix search, say); `limit` is the page
  // size sent to Okta (inputs may override with `page_size`).
  // Outputs: {items, count, truncated, next}.
  boost::asio::awaitable<Result<Json>> list(connect::ApiRequest first, std::function<bool(const Json&)> keep = {},
                                            int limit = 200);

  // True when `error` is Okta refusing because the goal is already reached (one of `codes`,
  // optionally also requiring `summary_contains` in errorSummary/causes) and the step's
  // `if_already` is `succeed` (the default). Callers then return their converged outputs with
  // `already: true`.
  bool already(const Error& error, std::initializer_list<std::string_view> codes,
               std::string_view summary_contains = {}) const;

  // Adds `okta_request_id` (the last request's) to an output object and returns it.
  Json finish(Json outputs) const;

  const std::string& last_request_id() const { return request_id_; }

 private:
  ActionContext& ctx_;
  connect::ConnectionClient& client_;
  std::string request_id_;
};

class OktaAction : public Action {
 public:
  OktaAction(const char* schema_path, ConnectionsPtr connections);
  const ActionInfo& info() const override { return info_; }
  // Resolves the step's alias (ctx.connection, default "okta"), then calls run().
  boost::asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override;

 protected:
  virtual boost::asio::awaitable<Result<Json>> run(Call& call) const = 0;

 private:
  ActionInfo info_;
  ConnectionsPtr connections_;
};

// An action written as a function, for the many that are one or two calls.
using RunFn = std::function<boost::asio::awaitable<Result<Json>>(Call&)>;
std::unique_ptr<Action> make_action(const char* schema_path, ConnectionsPtr connections, RunFn run);

// A request to `path` (relative to the connection's base URL, or a same-origin `next` link).
connect::ApiRequest request(std::string method, std::string path, std::optional<Json> body = std::nullopt);

// `text` as a double-quoted literal of an Okta `filter`/`search` expression (quotes and
// backslashes escaped).
std::string filter_literal(std::string_view text);

// Path helpers: "/api/v1/users/" + seg(id).
inline std::string seg(const Json& v) { return connect::escape_path_segment(v.get<std::string>()); }

// Registration per area (one file each).
void register_users(ActionRegistry& registry, const ConnectionsPtr& connections);
void register_passwords(ActionRegistry& registry, const ConnectionsPtr& connections);
void register_groups(ActionRegistry& registry, const ConnectionsPtr& connections);
void register_apps(ActionRegistry& registry, const ConnectionsPtr& connections);
void register_logs_meta(ActionRegistry& registry, const ConnectionsPtr& connections);
void register_event_hooks(ActionRegistry& registry, const ConnectionsPtr& connections);

}  // namespace spokeflow::okta
