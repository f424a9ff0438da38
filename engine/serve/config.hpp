#pragma once
// serve.yaml: the service's settings, checked like every other file (unknown keys and bad
// values refused with file:line:col). Every setting has a default; flags override the file.
#include <map>
#include <optional>
#include <string>

#include "common/diagnostics.hpp"
#include "common/duration.hpp"
#include "connect/config.hpp"
#include "serve/http_server.hpp"
#include "serve/retention.hpp"

namespace spokeflow::serve {

struct HookSetting {
  std::string name;
  connect::SecretRef authorization;  // the Authorization header value Okta sends
};

struct ServeConfig {
  std::string file;                  // where it was read from ("" = defaults only)
  std::string listen = "127.0.0.1:8080";
  std::string flows_dir;             // "" = $SPOKEFLOW_FLOWS_DIR or ./flows
  int concurrency = 16;
  std::string lease = "30s";
  std::string park_after = "5s";
  Millis drain_grace{30'000};
  Millis max_wait{60'000};
  HttpLimits limits;
  std::map<std::string, HookSetting> hooks;
  // HTTPS: PEM certificate chain (leaf first) and its PEM private key; "" = plain HTTP. Paths
  // in the file are relative to the file's folder.
  std::string tls_cert;
  std::string tls_key;
  RetentionConfig retention;
};

// Reads and checks `path`. Every problem goes to the diagnostics.
std::optional<ServeConfig> load_serve_config(const std::string& path, Diagnostics& diagnostics);
// "ADDR:PORT" (IPv6 as [ADDR]:PORT) split; nullopt when malformed.
std::optional<std::pair<std::string, unsigned short>> split_listen(const std::string& text);

}  // namespace spokeflow::serve
