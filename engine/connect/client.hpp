#pragma once
// One client per connection: every call made on an alias goes through it — core.http and the
// Okta spoke alike. It adds the credential's auth headers (renewing tokens, answering DPoP
// nonce challenges), paces requests through the connection's rate governor, applies the
// alias's retry policy, maps error answers to Error values, and follows Link rel="next"
// pagination.
// Retries (with backoff, up to the alias's attempts): a 429, and a failure before the request
// left (connection refused, name not resolved), always; a network error, a timeout or a 5xx,
// after which the request may have been carried out, only for GET, HEAD, PUT, DELETE, OPTIONS
// and requests marked safe_to_repeat; other 4xx never.
// A credential is only ever sent to the connection's own scheme://host:port and under its base
// URL's path: a URL naming another origin or path (an absolute path, a `next` link elsewhere),
// and a path holding a dot segment ("." or "..", raw or percent-encoded), are refused.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "connect/auth.hpp"
#include "connect/config.hpp"
#include "connect/secrets.hpp"
#include "common/call_activity.hpp"
#include "http/call_observer.hpp"
#include "http/http_client.hpp"
#include "http/rate_governor.hpp"

namespace spokeflow::connect {

struct ApiRequest {
  std::string method = "GET";
  // Path relative to the connection's base URL ("/api/v1/users/00u1"), or an absolute URL of the
  // same origin (a `next` link). Path segments taken from inputs must be escaped by the caller
  // (use escape_path_segment).
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;  // appended, URL-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<Json> json_body;  // sent as application/json
  std::string raw_body;           // sent as is when json_body is empty (set Content-Type in headers)
  // Statuses that are success for this call; empty = any 2xx.
  std::vector<int> expect;
  std::optional<std::chrono::milliseconds> timeout;  // default: the connection's request_timeout
  // A second copy of this request, sent after the first may have been carried out, changes
  // nothing more (the caller converges on the answer): the client may resend it after a
  // network error, a timeout or a 5xx although its method (POST, PATCH) is not idempotent.
  bool safe_to_repeat = false;
  // Told of the retries and waits of this call (the step run's record); null: no one.
  CallActivity* activity = nullptr;
};

struct ApiResponse {
  int status = 0;
  http::HeaderMap headers;
  std::string body;
  Json json;                // parsed body (null when empty or not JSON)
  std::string request_id;   // X-Okta-Request-Id
  std::string next_url;     // Link rel="next", "" when none
  int attempts = 1;         // how many tries it took
};

struct CallStats {
  std::uint64_t calls = 0;
  std::uint64_t http_requests = 0;
  std::uint64_t retries = 0;
};

class ConnectionClient {
 public:
  ConnectionClient(boost::asio::any_io_executor executor, std::string alias, Connection connection,
                   AliasRetry retry, std::shared_ptr<AuthProvider> auth, std::shared_ptr<http::HttpClient> http,
                   std::shared_ptr<http::RateGovernor> governor);

  // One logical call, with retries. A non-expected status becomes an Error:
  //  - an Okta error body {errorCode, errorSummary, errorCauses, errorId} -> ErrorKind::okta
  //    (401 -> auth, 429 -> rate_limited, 5xx -> server, each keeping code = errorCode),
  //    message "<errorSummary> (<errorCode>, HTTP <status>)" plus causes; details =
  //    {status, errorCode, errorSummary, errorCauses, errorId, request_id, method, path};
  //  - 403 with WWW-Authenticate insufficient_scope -> ErrorKind::auth naming the scope needed;
  //  - other bodies -> ErrorKind::http with the status and a short, scrubbed excerpt.
  // Never includes request headers (credentials) in errors or logs.
  boost::asio::awaitable<Result<ApiResponse>> call(ApiRequest request);

  // The next page of a list: call(first) then call({GET, next_url}) until next_url is empty.
  // Callers iterate lazily: only one page is held at a time.
  boost::asio::awaitable<Result<ApiResponse>> next_page(const std::string& next_url);

  const std::string& alias() const { return alias_; }
  const Connection& connection() const { return connection_; }
  AuthProvider& auth() { return *auth_; }
  http::RateGovernor& governor() { return *governor_; }
  const CallStats& stats() const { return stats_; }
  // Told of each HTTP exchange (null: no one).
  void set_observer(http::CallObserver* observer) { observer_ = observer; }

 private:
  boost::asio::any_io_executor executor_;
  std::string alias_;
  Connection connection_;
  AliasRetry retry_;
  std::shared_ptr<AuthProvider> auth_;
  std::shared_ptr<http::HttpClient> http_;
  std::shared_ptr<http::RateGovernor> governor_;
  CallStats stats_;
  http::CallObserver* observer_ = nullptr;
};

// Percent-encodes one path segment (ids, logins: "a@b.com" -> "a%40b.com", "/" -> "%2F"; a
// whole "." or ".." -> "%2E" / "%2E%2E", so that no value steps within the path).
std::string escape_path_segment(std::string_view segment);

// The live side of a connections file: resolves an alias to its client, creating clients,
// auth providers and governors on first use (one per connection, shared by its aliases).
// Single-threaded, like the io_context it runs on.
class Connections {
 public:
  Connections(boost::asio::any_io_executor executor, ConnectionsConfig config, std::shared_ptr<SecretResolver> secrets);
  // ErrorKind::validation for an unknown alias (listing the known ones); ErrorKind::auth when
  // the credential's secrets do not resolve.
  Result<std::shared_ptr<ConnectionClient>> client(std::string_view alias);
  const ConnectionsConfig& config() const { return config_; }
  const SecretResolver& secrets() const { return *secrets_; }
  // Told of every HTTP exchange of every client, those made already and those to come (null: no one).
  void set_observer(http::CallObserver* observer);
  // The rate budget an org's requests share with other processes, given its key (org_key);
  // each connection's governor consults the one for its org, from now on.
  using BudgetFor = std::function<std::shared_ptr<http::SharedBudget>(const std::string& org)>;
  void share_rate_budget(BudgetFor budget_for);

 private:
  boost::asio::any_io_executor executor_;
  ConnectionsConfig config_;
  std::shared_ptr<SecretResolver> secrets_;
  std::map<std::string, std::shared_ptr<http::HttpClient>, std::less<>> http_;
  std::map<std::string, std::shared_ptr<http::RateGovernor>, std::less<>> governors_;
  std::map<std::string, std::shared_ptr<AuthProvider>, std::less<>> auth_;
  std::map<std::string, std::shared_ptr<ConnectionClient>, std::less<>> clients_;
  http::CallObserver* observer_ = nullptr;
  BudgetFor budget_for_;
};

// What identifies an org's rate limits: the host (and port) of a connection's base URL, in
// lower case ("example.okta.com", "127.0.0.1:8080").
std::string org_key(const std::string& base_url);

}  // namespace spokeflow::connect
