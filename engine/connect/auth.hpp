#pragma once
// Auth providers: what to put on each request for a credential, and how to react to the
// server's challenges. One provider per connection, shared by all its steps.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "connect/config.hpp"
#include "connect/secrets.hpp"
#include "http/http_client.hpp"

namespace spokeflow::connect {

using Headers = std::vector<std::pair<std::string, std::string>>;

class AuthProvider {
 public:
  virtual ~AuthProvider() = default;
  // Headers that authenticate one request (Authorization, and DPoP with a fresh proof bound to
  // method and URL). OAuth providers fetch or renew the access token first: the token cache
  // renews ahead of expiry (60 s or 10% of the lifetime) and keeps one token request in flight
  // however many callers wait. Errors: ErrorKind::auth with the server's error and description.
  virtual boost::asio::awaitable<Result<Headers>> headers(const std::string& method, const std::string& url) = 0;

  // Called with every answer. Returns true when the request should be sent again once with
  // fresh headers: a DPoP `use_dpop_nonce` challenge (the nonce is remembered), or a 401 for
  // an expired/invalid access token (the cached token is dropped). Never true twice in a row
  // for the same request: the caller retries at most once for auth reasons.
  virtual bool on_response(const http::HttpResponse& response) = 0;

  // Scopes the current token holds ("" when unknown or not OAuth), for `connections test`.
  virtual std::string granted_scopes() const { return {}; }
  // Number of token endpoint calls made (tests check single-flight renewal).
  virtual int token_requests() const { return 0; }
};

// Builds the provider for a connection's credential. `http` is the connection's HTTP client
// (the token endpoint is called through it, same TLS/proxy rules). Secrets are resolved here,
// once; a reference that does not resolve is an ErrorKind::auth error naming it.
Result<std::shared_ptr<AuthProvider>> make_auth_provider(const Connection& connection, const Credential& credential,
                                                         const SecretResolver& secrets,
                                                         std::shared_ptr<http::HttpClient> http);

// The authorization-code flow with PKCE for an okta_oauth_refresh credential: listens on a
// loopback redirect port, prints (through `show_url`) the URL to open, exchanges the code and
// returns the refresh token (to be stored in the vault by the caller).
boost::asio::awaitable<Result<std::string>> authorization_code_login(
    const Connection& connection, const Credential& credential, const SecretResolver& secrets,
    std::shared_ptr<http::HttpClient> http, std::function<void(const std::string& url)> show_url);

}  // namespace spokeflow::connect
