#pragma once
// A connection's test: one harmless authenticated request through an alias's client (its own
// admin user for an Okta API token, one user for OAuth, `/` for anything else), as
// `spokeflow connections test` and the service's admin route run it. Asynchronous: it only
// waits on the event loop.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "common/json.hpp"
#include "connect/client.hpp"

namespace spokeflow::connect {

struct ConnectionTest {
  bool ok = false;
  // alias, base_url, request, ms, and status / okta_request_id / authenticated_as when it
  // answered, or error when not; granted_scopes when the credential reports them.
  Json details = Json::object();
  std::string summary;  // why it failed ("" when ok)
};

// Tests `alias`; secrets the scrubber knows are taken out of the report.
boost::asio::awaitable<ConnectionTest> test_connection(Connections& connections, const std::string& alias);

}  // namespace spokeflow::connect
