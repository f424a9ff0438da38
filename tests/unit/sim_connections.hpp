#pragma once
// The connections of a test or benchmark against okta-sim: alias `okta` -> connection `sim`
// (plain http on loopback) with an API token read from $SPOKEFLOW_TEST_OKTA_TOKEN.
#include <chrono>
#include <string>

#include "connect/config.hpp"

namespace spokeflow::test {

inline connect::ConnectionsConfig sim_connections(const std::string& base_url) {
  connect::ConnectionsConfig cfg;
  connect::Credential cred;
  cred.name = "sim_token";
  cred.type = connect::CredentialType::okta_api_token;
  cred.token = connect::SecretRef{connect::SecretRef::Source::env, "SPOKEFLOW_TEST_OKTA_TOKEN", {}};
  cfg.credentials[cred.name] = cred;
  connect::Connection conn;
  conn.name = "sim";
  conn.base_url = base_url;
  conn.credential = cred.name;
  conn.allow_insecure_http = true;
  cfg.connections[conn.name] = conn;
  connect::Alias alias;
  alias.name = "okta";
  alias.connection = conn.name;
  alias.retry.initial_interval = std::chrono::milliseconds(50);
  cfg.aliases[alias.name] = alias;
  return cfg;
}

}  // namespace spokeflow::test
