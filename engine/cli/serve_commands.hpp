#pragma once
// `spokeflow serve` and `spokeflow tokens ...`.
#include <string>

#include "cli/shell.hpp"

namespace spokeflow::cli {

struct ServeFlags {
  std::string config;      // serve.yaml ("" = defaults)
  std::string listen;      // overrides the config's
  std::string flows_dir;   // overrides the config's
  std::string tls_cert;    // with tls_key: HTTPS (overrides the config's)
  std::string tls_key;
};

int cmd_serve(const GlobalOptions& g, const ServeFlags& flags, const ExtraActions& extra);
int cmd_tokens_create(const GlobalOptions& g, const std::string& name, const std::string& role, const std::string& expires);
int cmd_tokens_list(const GlobalOptions& g, bool json);
int cmd_tokens_revoke(const GlobalOptions& g, const std::string& name);

}  // namespace spokeflow::cli
