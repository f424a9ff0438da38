// Fuzz target: okta-sim's request handling, from the bytes a client sends on one connection
// (any number of pipelined requests) to the bytes the server writes back, in process: the same
// HTTP parsing, dispatch and serialization as the server (oktasim::answer_bytes). Each input
// meets a freshly seeded org, so that a finding replays alone.
// Properties: no crash; whatever the sim answers is HTTP/1.x it could send.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "server.hpp"
#include "sim.hpp"

namespace {

// The API token the corpus's requests carry (Authorization: SSWS fuzz-token).
constexpr const char* kToken = "fuzz-token";

const oktasim::json& seed() {
  static const oktasim::json s = oktasim::json::parse(R"({
    "admin": {"login": "admin@example.com", "firstName": "Ada", "lastName": "Admin"},
    "schema": {"custom": {"employeeCode": {"type": "string", "title": "Employee code"}}},
    "groups": [{"name": "Engineering", "description": "People who build things"}, {"name": "Sales"}],
    "users": [
      {"login": "alice@example.com", "firstName": "Alice", "lastName": "Smith", "password": "Alice-Passw0rd",
       "groups": ["Engineering"], "profile": {"employeeCode": "E-001"}},
      {"login": "bob@example.com", "firstName": "Bob", "lastName": "Jones", "status": "STAGED", "groups": ["Sales"]},
      {"login": "carol@example.com", "firstName": "Carol", "lastName": "Lee", "status": "LOCKED_OUT"}
    ],
    "apps": [{"label": "Company Wiki", "url": "https://wiki.example.com", "users": ["alice@example.com"],
              "groups": ["Engineering"]}],
    "oauth_clients": [
      {"client_id": "0oa1serviceapp0000001", "scopes": ["okta.users.read", "okta.users.manage"], "dpop": true,
       "public_jwk": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                      "y": "x_FEzRu9m36HLN_tto7ESbebSPhnDPvgDlqUdgRHcdY"}},
      {"client_id": "0oa1webapp00000000001", "scopes": ["okta.users.read"], "dpop": false,
       "refresh_token": "fuzz-refresh-token", "client_secret": "fuzz-client-secret",
       "redirect_uris": ["http://127.0.0.1:8765/callback"]}
    ]
  })");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  oktasim::Config cfg;
  cfg.limits = oktasim::default_limits();
  oktasim::Sim sim(cfg, kToken);
  sim.load_seed(seed());
  const std::string out = oktasim::answer_bytes(sim, spokeflow::fuzz::as_text(data, size), "http://127.0.0.1:8080");
  spokeflow::fuzz::check(out.empty() || out.rfind("HTTP/1.", 0) == 0, "an answer is HTTP/1.x", out);
  // OKTA_SIM_FUZZ_SHOW=1: print the answers (to see what a corpus file reaches).
  static const bool show = std::getenv("OKTA_SIM_FUZZ_SHOW") != nullptr;
  if (show) std::fprintf(stderr, "%s\n", out.c_str());
  return 0;
}
