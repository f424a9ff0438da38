// Fuzz target: the connections file (YAML text -> aliases, connections and credentials, or every
// problem with its place).
// Properties: no crash; a text is either a configuration or problems (at least one), never an
// "internal error" (the loader's catch-all for a bug); in a configuration every alias names a
// connection and every connection a credential (what the client later relies on).
#include <string>

#include "connect/config.hpp"
#include "fuzz_support.hpp"

using namespace spokeflow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  Diagnostics diags("connections.yaml");
  Result<connect::ConnectionsConfig> r = connect::load_connections_text(text, "connections.yaml", diags);
  for (const auto& d : diags.items()) {
    fuzz::check(!d.message.empty(), "every problem has a message");
    fuzz::check(d.message.rfind("internal error while loading", 0) != 0, "the loader has no internal error", d.message);
  }
  if (!r.ok()) {
    fuzz::check(!diags.empty(), "a connections file that does not load says why", r.error().message);
    return 0;
  }
  fuzz::check(diags.empty(), "a connections file with problems is not loaded", diags.format());
  const connect::ConnectionsConfig& cfg = *r;
  for (const auto& [name, alias] : cfg.aliases) {
    const connect::Connection* c = cfg.connection_of(alias);
    fuzz::check(c != nullptr, "an alias names a connection", name);
    fuzz::check(cfg.alias(name) == &alias, "an alias is found by its name", name);
  }
  for (const auto& [name, conn] : cfg.connections)
    fuzz::check(cfg.credential_of(conn) != nullptr, "a connection names a credential", name);
  for (const auto& [name, cred] : cfg.credentials) (void)connect::to_string(cred.type);
  return 0;
}
