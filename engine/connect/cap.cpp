#include "connect/cap.hpp"

#include "http/http_client.hpp"

namespace spokeflow::connect {

namespace {
std::string connection_name(const Alias& alias, const Connection* connection) {
  return connection ? connection->name : alias.connection;
}
}  // namespace

CallCap effective_call_cap(const Alias& alias, const Connection* connection) {
  // Mirrors Connections::client: the connection's max_concurrency is its governor's limit and
  // raises curl's connections per host to match; without it curl's per-host limit (the HTTP
  // client's default) queues whatever is beyond. The alias's governor sits under the connection's.
  CallCap cap;
  if (connection && connection->max_concurrency > 0) {
    cap = {connection->max_concurrency, CallCap::Source::connection};
  } else {
    cap = {static_cast<int>(http::kDefaultMaxHostConnections), CallCap::Source::http_default};
  }
  if (alias.max_concurrency > 0 && alias.max_concurrency < cap.calls) cap = {alias.max_concurrency, CallCap::Source::alias};
  return cap;
}

std::string_view to_string(CallCap::Source source) {
  switch (source) {
    case CallCap::Source::alias: return "alias";
    case CallCap::Source::connection: return "connection";
    case CallCap::Source::http_default: return "default";
  }
  return "default";
}

std::string describe(const CallCap& cap, const Alias& alias, const Connection* connection) {
  switch (cap.source) {
    case CallCap::Source::alias:
      return "alias '" + alias.name + "' sets max_concurrency: " + std::to_string(cap.calls);
    case CallCap::Source::connection:
      return "connection '" + connection_name(alias, connection) + "' sets max_concurrency: " + std::to_string(cap.calls);
    case CallCap::Source::http_default:
      break;
  }
  return "connection '" + connection_name(alias, connection) + "' sets no max_concurrency: the HTTP client's default";
}

std::string raise_hint(const CallCap& cap, const Alias& alias, const Connection* connection) {
  switch (cap.source) {
    case CallCap::Source::alias:
      return "raise max_concurrency on alias '" + alias.name + "' to allow more";
    case CallCap::Source::connection:
      return "raise max_concurrency on connection '" + connection_name(alias, connection) + "' to allow more";
    case CallCap::Source::http_default:
      break;
  }
  // An alias's own max_concurrency cannot lift it above its connection's cap.
  return "set max_concurrency on connection '" + connection_name(alias, connection) + "' to allow more";
}

}  // namespace spokeflow::connect
