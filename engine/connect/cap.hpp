#pragma once
// How many calls an alias can have in flight at once, and which setting decides it: the
// alias's max_concurrency (it only lowers its connection's), the connection's max_concurrency
// (a governor, with as many HTTP connections), or, with neither, the HTTP client's default
// connections per host. One answer for `connections list` and the for_each concurrency warning.
#include <string>
#include <string_view>

#include "connect/config.hpp"

namespace spokeflow::connect {

struct CallCap {
  enum class Source { alias, connection, http_default };
  int calls = 0;
  Source source = Source::http_default;
};

// `connection` may be null (an alias naming no defined connection): the default then applies.
CallCap effective_call_cap(const Alias& alias, const Connection* connection);

std::string_view to_string(CallCap::Source source);  // "alias" | "connection" | "default"
// What sets it: "alias 'okta' sets max_concurrency: 50", "connection 'sim' sets
// max_concurrency: 500", "connection 'sim' sets no max_concurrency: the HTTP client's default".
std::string describe(const CallCap& cap, const Alias& alias, const Connection* connection);
// Which setting to change for more: "set max_concurrency on connection 'sim' to allow more"...
std::string raise_hint(const CallCap& cap, const Alias& alias, const Connection* connection);

}  // namespace spokeflow::connect
