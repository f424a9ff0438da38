#pragma once
// `spokeflow secrets ...`, `spokeflow connections ...` and `spokeflow auth login`.
#include <string>

namespace spokeflow::cli {

int cmd_secrets_init();
// Reads the value from stdin (no echo when stdin is a terminal); a trailing newline is dropped.
int cmd_secrets_set(const std::string& name);
int cmd_secrets_list(bool json);
int cmd_secrets_rm(const std::string& name);

int cmd_connections_list(const std::string& connections_path, bool json);
// Reachability and authentication with a harmless call; prints the granted scopes or the failure.
int cmd_connections_test(const std::string& connections_path, const std::string& alias, bool json);
// The authorization-code flow with PKCE for an okta_oauth_refresh credential; stores the refresh token.
int cmd_auth_login(const std::string& connections_path, const std::string& alias);

}  // namespace spokeflow::cli
