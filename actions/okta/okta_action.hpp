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
#include <vector>

#include "action/action.hpp"
#include "connect/client.hpp"

namespace spokeflow::okta {

using ConnectionsPtr = std::shared_ptr<connect::Connections>;

// One invocation of an okta.* action.
class Call {
 public:
  Call(ActionContext& ctx, connect::ConnectionClient& client, std::string_view action = "okta")
      : ctx_(ctx), client_(client), action_(action) {}

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

  // A refusal (ErrorKind::validation, naming `after`) unless `cursor` is a `next` link of the
  // list at `list_path` ("/api/v1/users"): the same path, under the connection's base URL,
  // without dot segments. A cursor from an input must not read another resource.
  std::optional<Error> check_cursor(const std::string& cursor, std::string_view list_path) const;

  // The action's name ("okta.list_users"), for messages.
  std::string_view action() const { return action_; }

  // True when `error` is Okta refusing because the goal is already reached (one of `codes`,
  // optionally also requiring `summary_contains` in errorSummary/causes) and the step's
  // `if_already` is `succeed` (the default). Callers then return their converged outputs with
  // `already: true`.
  bool already(const Error& error, std::initializer_list<std::string_view> codes,
               std::string_view summary_contains = {}) const;

  // The step converges where Okta refuses because the goal is reached (`if_already: succeed`,
  // the default).
  bool converges() const;

  // Adds `okta_request_id` (the last request's) to an output object and returns it.
  Json finish(Json outputs) const;

  const std::string& last_request_id() const { return request_id_; }

 private:
  ActionContext& ctx_;
  connect::ConnectionClient& client_;
  std::string_view action_;
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
  // An input that names an Okta object in a request path (its schema's x-okta-ref).
  struct Reference {
    std::string input;
    std::string kind;  // "id" or "id_or_login"
    bool list = false;  // an array of references
  };
  std::optional<Error> check_references(const Json& inputs) const;

  ActionInfo info_;
  ConnectionsPtr connections_;
  std::vector<Reference> references_;
};

// An action written as a function, for the many that are one or two calls.
using RunFn = std::function<boost::asio::awaitable<Result<Json>>(Call&)>;
std::unique_ptr<Action> make_action(const char* schema_path, ConnectionsPtr connections, RunFn run);

// A request to `path` (relative to the connection's base URL, or a same-origin `next` link).
connect::ApiRequest request(std::string method, std::string path, std::optional<Json> body = std::nullopt);

// Marks a POST the client may send again after a network error, a timeout or a 5xx, that is
// after Okta may already have carried it out (see ApiRequest::safe_to_repeat). The rule: only
// when a second copy changes nothing more, or is refused in a way the action converges on
// (`if_already: succeed`), and loses nothing the step returns (a link or token Okta shows once,
// an email sent twice). GET, PUT and DELETE need no mark.
inline connect::ApiRequest repeatable(connect::ApiRequest r, bool safe = true) {
  r.safe_to_repeat = safe;
  return r;
}

// `text` as a double-quoted literal of an Okta `filter`/`search` expression (quotes and
// backslashes escaped).
std::string filter_literal(std::string_view text);

// Inputs that name an Okta object carry "x-okta-ref" in their schema (on the items of a list):
//  - "id": an Okta id, letters and digits only (00u..., 00g..., 0oa..., who...);
//  - "id_or_login": a user's id or login. A login may hold almost anything, but not what would
//    step within the URL path: "." or ".." (also between '\' or before ';'), '/', each also
//    percent-encoded (Okta itself reads a login with '/' only by id), nor control characters.
// OktaAction checks every such input before its action runs; the path building below encodes
// dot segments all the same, and the client refuses a path holding one.
// Why `value` cannot be a reference of `kind`, or "" when it can.
std::string reference_problem(std::string_view kind, std::string_view value);

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
