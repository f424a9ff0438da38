// An alias's effective cap on calls in flight and what sets it (issue 21).
#include <doctest/doctest.h>

#include "connect/cap.hpp"
#include "http/http_client.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;

namespace {

Alias alias_with(int max_concurrency) {
  Alias a;
  a.name = "okta";
  a.connection = "sim";
  a.max_concurrency = max_concurrency;
  return a;
}

Connection connection_with(int max_concurrency) {
  Connection c;
  c.name = "sim";
  c.max_concurrency = max_concurrency;
  return c;
}

}  // namespace

TEST_CASE("the HTTP client's default bounds an alias when nothing sets a cap") {
  CHECK(http::kDefaultMaxHostConnections == 16);
  CHECK(http::HttpClientOptions{}.max_host_connections == http::kDefaultMaxHostConnections);
  const Connection c = connection_with(0);
  const CallCap cap = effective_call_cap(alias_with(0), &c);
  CHECK(cap.calls == 16);
  CHECK(cap.source == CallCap::Source::http_default);
  CHECK(to_string(cap.source) == "default");
  CHECK(describe(cap, alias_with(0), &c) == "connection 'sim' sets no max_concurrency: the HTTP client's default");
  CHECK(raise_hint(cap, alias_with(0), &c) == "set max_concurrency on connection 'sim' to allow more");
}

TEST_CASE("the connection's max_concurrency sets the cap, above or below the default") {
  const Connection wide = connection_with(500);
  CallCap cap = effective_call_cap(alias_with(0), &wide);
  CHECK(cap.calls == 500);
  CHECK(cap.source == CallCap::Source::connection);
  CHECK(describe(cap, alias_with(0), &wide) == "connection 'sim' sets max_concurrency: 500");
  CHECK(raise_hint(cap, alias_with(0), &wide) == "raise max_concurrency on connection 'sim' to allow more");
  const Connection narrow = connection_with(4);
  cap = effective_call_cap(alias_with(0), &narrow);
  CHECK(cap.calls == 4);
  CHECK(cap.source == CallCap::Source::connection);
}

TEST_CASE("an alias's max_concurrency only lowers its connection's cap") {
  const Connection wide = connection_with(500);
  CallCap cap = effective_call_cap(alias_with(50), &wide);
  CHECK(cap.calls == 50);
  CHECK(cap.source == CallCap::Source::alias);
  CHECK(describe(cap, alias_with(50), &wide) == "alias 'okta' sets max_concurrency: 50");
  CHECK(raise_hint(cap, alias_with(50), &wide) == "raise max_concurrency on alias 'okta' to allow more");

  // Above the connection's cap, or the HTTP client's default, the alias's setting changes nothing.
  cap = effective_call_cap(alias_with(800), &wide);
  CHECK(cap.calls == 500);
  CHECK(cap.source == CallCap::Source::connection);
  const Connection none = connection_with(0);
  cap = effective_call_cap(alias_with(100), &none);
  CHECK(cap.calls == 16);
  CHECK(cap.source == CallCap::Source::http_default);
  cap = effective_call_cap(alias_with(8), &none);
  CHECK(cap.calls == 8);
  CHECK(cap.source == CallCap::Source::alias);
  // Equal to the connection's: the connection decides.
  cap = effective_call_cap(alias_with(500), &wide);
  CHECK(cap.source == CallCap::Source::connection);
}

TEST_CASE("an alias whose connection is not defined gets the default or its own cap") {
  CHECK(effective_call_cap(alias_with(0), nullptr).calls == 16);
  CHECK(effective_call_cap(alias_with(0), nullptr).source == CallCap::Source::http_default);
  CHECK(effective_call_cap(alias_with(3), nullptr).calls == 3);
  CHECK(describe(effective_call_cap(alias_with(0), nullptr), alias_with(0), nullptr) ==
        "connection 'sim' sets no max_concurrency: the HTTP client's default");
}
