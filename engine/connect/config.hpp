#pragma once
// The connections file (connections.yaml): aliases -> connections -> credentials.
// An admin writes it once; flows only name aliases. Secret values appear only as references
// ({secret: NAME} in the vault, {env: VAR}, {file: PATH}); a literal secret is refused.
// Checked against schemas/connections.schema.json plus semantic rules; every problem is
// reported as "file:line:col: error: ...", all of them at once.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"
#include "common/error.hpp"
#include "common/json.hpp"

namespace spokeflow::connect {

struct SecretRef {
  enum class Source { vault, env, file };
  Source source = Source::vault;
  std::string name;  // vault entry name, environment variable or file path (relative to the connections file's folder)
  SourcePos pos;     // where the reference is written
  std::string describe() const;  // "secret 'okta_token'", "environment variable OKTA_TOKEN", "file keys/x.pem"
};

enum class CredentialType {
  okta_api_token,      // SSWS <token>
  okta_oauth_service,  // client_credentials + private_key_jwt (RS256/ES256), optional DPoP
  okta_oauth_refresh,  // refresh_token grant (client id + secret), obtained by `spokeflow auth login`
  oauth_client_secret, // generic client_credentials with client_secret_post / basic (core.http)
  basic,               // Authorization: Basic (core.http)
  bearer,              // Authorization: Bearer <token> (core.http)
};
std::string_view to_string(CredentialType t);

enum class DpopMode { auto_, on, off };

struct Credential {
  std::string name;
  CredentialType type = CredentialType::okta_api_token;
  SourcePos pos;
  // okta_api_token: token. bearer: token.
  std::optional<SecretRef> token;
  // okta_oauth_service / okta_oauth_refresh / oauth_client_secret
  std::string client_id;
  std::optional<SecretRef> client_secret;   // refresh (optional for public clients) / client_secret
  std::optional<SecretRef> private_key;     // okta_oauth_service: PEM or JWK (JSON) text
  std::string key_id;                       // `kid` header of the client assertion
  std::string algorithm = "auto";           // RS256 | ES256 | auto (from the key)
  std::vector<std::string> scopes;
  DpopMode dpop = DpopMode::auto_;
  std::string token_url;                    // default: <base_url>/oauth2/v1/token
  std::string authorize_url;                // okta_oauth_refresh: default <base_url>/oauth2/v1/authorize
  std::optional<SecretRef> refresh_token;   // okta_oauth_refresh: where `auth login` stores it (vault)
  std::uint16_t redirect_port = 0;          // okta_oauth_refresh: loopback redirect port (0 = any free port)
  // basic
  std::string username;
  std::optional<SecretRef> password;
};

struct Connection {
  std::string name;
  SourcePos pos;
  std::string base_url;                     // https://example.okta.com (no trailing slash)
  std::string credential;                   // name in `credentials`
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};
  int max_concurrency = 0;                  // 0 = no cap beyond the HTTP client's
  std::optional<std::string> proxy;         // "" = no proxy
  std::optional<std::string> ca_bundle;     // path (relative to the connections file's folder)
  bool allow_insecure_http = false;         // only with a loopback http:// base_url
};

// The alias's retry policy, applied by the connection client to each HTTP call:
// network errors, timeouts, 429 and 5xx are retried with backoff; other 4xx never.
struct AliasRetry {
  int max_attempts = 4;
  std::chrono::milliseconds initial_interval{500};
  std::chrono::milliseconds max_interval{30000};
  double multiplier = 2.0;
  bool jitter = true;
};

struct Alias {
  std::string name;
  SourcePos pos;
  std::string connection;  // name in `connections`
  AliasRetry retry;
  int max_concurrency = 0;  // 0 = the connection's cap
};

struct ConnectionsConfig {
  std::string file;        // where it was read from ("" when built in code)
  std::string base_dir;    // folder relative file references resolve against
  std::map<std::string, Alias> aliases;
  std::map<std::string, Connection> connections;
  std::map<std::string, Credential> credentials;

  const Alias* alias(std::string_view name) const;
  const Connection* connection_of(const Alias& a) const;
  const Credential* credential_of(const Connection& c) const;
};

// Parses and checks a connections file. Errors: every problem found, formatted with file:line:col.
Result<ConnectionsConfig> load_connections_text(std::string_view text, const std::string& file, Diagnostics& diags);
Result<ConnectionsConfig> load_connections_file(const std::string& path, Diagnostics& diags);

// Where the connections file is looked for when not given: $SPOKEFLOW_CONNECTIONS, else
// ./connections.yaml, else $XDG_CONFIG_HOME/spokeflow/connections.yaml (~/.config/...).
std::string default_connections_path();

}  // namespace spokeflow::connect
