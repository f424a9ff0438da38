#include "connect/probe.hpp"

#include <chrono>

#include "common/scrub.hpp"

namespace spokeflow::connect {
namespace {

boost::asio::awaitable<ConnectionTest> probe(std::shared_ptr<ConnectionClient> client, CredentialType type) {
  ConnectionTest rep;
  auto t0 = std::chrono::steady_clock::now();
  ApiRequest req;
  const bool okta = type == CredentialType::okta_api_token || type == CredentialType::okta_oauth_service ||
                    type == CredentialType::okta_oauth_refresh;
  if (type == CredentialType::okta_api_token) {
    req.path = "/api/v1/users/me";  // the token's own admin user: harmless and always allowed
  } else if (okta) {
    // A service app has no user of its own: one user from the list, if the scopes allow it.
    req.path = "/api/v1/users";
    req.query = {{"limit", "1"}};
  } else {
    req.path = "/";
    for (int s = 200; s < 500; ++s) req.expect.push_back(s);
  }
  auto r = co_await client->call(req);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  rep.details["alias"] = client->alias();
  rep.details["base_url"] = client->connection().base_url;
  rep.details["request"] = "GET " + req.path;
  rep.details["ms"] = ms;
  std::string scopes = client->auth().granted_scopes();
  if (!scopes.empty()) rep.details["granted_scopes"] = scopes;
  if (!r.ok()) {
    rep.details["error"] = r.error().to_json();
    rep.summary = std::string(to_string(r.error().kind)) + (r.error().code.empty() ? "" : " " + r.error().code) + ": " +
                  r.error().message;
    co_return rep;
  }
  rep.ok = true;
  rep.details["status"] = r->status;
  rep.details["okta_request_id"] = r->request_id;
  if (type == CredentialType::okta_api_token && r->json.is_object())
    rep.details["authenticated_as"] = r->json.value("profile", Json::object()).value("login", "");
  co_return rep;
}

}  // namespace

boost::asio::awaitable<ConnectionTest> test_connection(Connections& connections, const std::string& alias_name) {
  const ConnectionsConfig& config = connections.config();
  const Alias* alias = config.alias(alias_name);
  const Connection* conn = alias ? config.connection_of(*alias) : nullptr;
  const Credential* cred = conn ? config.credential_of(*conn) : nullptr;
  ConnectionTest rep;
  auto client = connections.client(alias_name);
  if (!client.ok()) {
    rep.details = {{"alias", alias_name}, {"error", client.error().to_json()}};
    rep.summary = client.error().message;
  } else {
    rep = co_await probe(*client, cred ? cred->type : CredentialType::bearer);
  }
  rep.details = SecretScrubber::instance().scrub(std::move(rep.details));
  rep.summary = SecretScrubber::instance().scrub(rep.summary);
  co_return rep;
}

}  // namespace spokeflow::connect
