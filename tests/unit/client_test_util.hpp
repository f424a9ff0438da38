#pragma once
// Shared by the connection client tests: connections to okta-sim, a canned loopback server,
// a client built from parts, and a bounded way to run a coroutine to completion.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "action/action.hpp"
#include "connect/auth.hpp"
#include "connect/client.hpp"
#include "connect/secrets.hpp"
#include "core/core.hpp"
#include "http/http_client.hpp"
#include "http/rate_governor.hpp"
#include "sim_process.hpp"

namespace client_test {

using namespace spokeflow;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using spokeflow::test::SimProcess;

inline constexpr const char* kTokenEnv = "SPOKEFLOW_TEST_CLIENT_TOKEN";
inline constexpr const char* kBadTokenEnv = "SPOKEFLOW_TEST_CLIENT_BAD_TOKEN";

inline long long ms_since(Clock::time_point t0) { return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count(); }

// One API-token connection `sim` with alias `okta` (and `okta_bad`, a wrong token).
inline connect::ConnectionsConfig sim_config(const std::string& base_url, connect::AliasRetry retry = {}) {
  setenv(kTokenEnv, SimProcess::token().c_str(), 1);
  setenv(kBadTokenEnv, "not-the-token-0123456789", 1);
  connect::ConnectionsConfig cfg;
  for (auto [name, env] : {std::pair{"sim_token", kTokenEnv}, std::pair{"bad_token", kBadTokenEnv}}) {
    connect::Credential cred;
    cred.name = name;
    cred.type = connect::CredentialType::okta_api_token;
    cred.token = connect::SecretRef{connect::SecretRef::Source::env, env, {}};
    cfg.credentials[cred.name] = cred;
  }
  for (auto [name, cred] : {std::pair{"sim", "sim_token"}, std::pair{"sim_bad", "bad_token"}}) {
    connect::Connection conn;
    conn.name = name;
    conn.base_url = base_url;
    conn.credential = cred;
    conn.allow_insecure_http = true;
    cfg.connections[conn.name] = conn;
  }
  for (auto [name, conn] : {std::pair{"okta", "sim"}, std::pair{"okta_bad", "sim_bad"}}) {
    connect::Alias alias;
    alias.name = name;
    alias.connection = conn;
    alias.retry = retry;
    cfg.aliases[alias.name] = alias;
  }
  return cfg;
}

inline connect::AliasRetry quick_retry(int attempts = 4) {
  connect::AliasRetry r;
  r.max_attempts = attempts;
  r.initial_interval = milliseconds(20);
  r.max_interval = milliseconds(200);
  return r;
}

struct Env {
  asio::io_context io;
  std::shared_ptr<connect::Connections> connections;
  Env(const std::string& base_url, connect::AliasRetry retry = quick_retry())
      : connections(std::make_shared<connect::Connections>(io.get_executor(), sim_config(base_url, retry),
                                                           std::make_shared<connect::SecretResolver>(nullptr, "."))) {}
  std::shared_ptr<connect::ConnectionClient> client(const std::string& alias = "okta") {
    auto c = connections->client(alias);
    REQUIRE_MESSAGE(c.ok(), c.error().message);
    return *c;
  }
};

// Runs one coroutine on `io` to completion (bounded), returning its value.
template <class T>
T run(asio::io_context& io, std::function<awaitable<T>()> body, milliseconds limit = milliseconds(45000)) {
  std::optional<T> out;
  std::exception_ptr failure;
  bool finished = false;  // the completion handler ran: nothing of this call is left in the loop
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto v = co_await body();
        out.emplace(std::move(v));
      },
      [&](std::exception_ptr e) {
        failure = e;
        finished = true;
      });
  io.restart();
  const auto t0 = Clock::now();
  while (!finished) {
    io.run_one_for(milliseconds(100));
    REQUIRE_MESSAGE(Clock::now() - t0 < limit, "the test's coroutine did not finish in time");
  }
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

inline Result<connect::ApiResponse> call(asio::io_context& io, connect::ConnectionClient& client, connect::ApiRequest req) {
  return run<Result<connect::ApiResponse>>(io, [&client, req]() -> awaitable<Result<connect::ApiResponse>> {
    auto r = co_await client.call(req);
    co_return r;
  });
}

inline connect::ApiRequest get(std::string path, std::vector<std::pair<std::string, std::string>> query = {}) {
  connect::ApiRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

// A side door to the simulator: admin endpoints, no client involved.
inline Json sim_admin(asio::io_context& io, const SimProcess& sim, const std::string& method, const std::string& path,
               const std::string& body = {}) {
  http::HttpClient raw(io.get_executor());
  http::HttpRequest req;
  req.method = method;
  req.url = sim.base_url() + path;
  req.allow_insecure_http = true;
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto r = run<Result<http::HttpResponse>>(io, [&raw, req]() -> awaitable<Result<http::HttpResponse>> {
    auto x = co_await raw.request(req);
    co_return x;
  });
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  REQUIRE_MESSAGE(r->status < 300, r->status << " " << r->body);
  return r->body.empty() ? Json() : Json::parse(r->body);
}

// Requests the sim logged (API requests only), optionally only those whose target starts with `prefix`.
inline std::vector<Json> sim_requests(asio::io_context& io, const SimProcess& sim, const std::string& prefix = {}) {
  std::vector<Json> out;
  for (auto& e : sim_admin(io, sim, "GET", "/__sim/requests"))
    if (e["target"].get<std::string>().rfind(prefix, 0) == 0) out.push_back(e);
  return out;
}

// A loopback HTTP/1.1 server answering canned responses by path; counts what it saw.
struct CannedServer {
  struct Answer {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  tcp::acceptor acceptor;
  std::map<std::string, Answer> routes;
  std::map<std::string, int> hits;
  int connections = 0;
  int requests = 0;

  explicit CannedServer(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    asio::co_spawn(io, accept_loop(), [](std::exception_ptr) {});
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
      if (ec) co_return;
      ++connections;
      asio::co_spawn(acceptor.get_executor(), session(std::move(sock)), [](std::exception_ptr) {});
    }
  }
  awaitable<void> session(tcp::socket sock) {
    boost::beast::flat_buffer buf;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      auto [ec, n] = co_await bhttp::async_read(sock, buf, req, asio::as_tuple(use_awaitable));
      (void)n;
      if (ec) co_return;
      ++requests;
      std::string target(req.target());
      std::string path = target.substr(0, target.find('?'));
      ++hits[path];
      bhttp::response<bhttp::string_body> res;
      res.version(11);
      res.keep_alive(true);
      auto it = routes.find(path);
      if (it == routes.end()) {
        res.result(404);
      } else {
        res.result(static_cast<unsigned>(it->second.status));
        for (const auto& [k, v] : it->second.headers) res.insert(k, v);
        res.body() = it->second.body;
      }
      res.prepare_payload();
      auto [wec, wn] = co_await bhttp::async_write(sock, res, asio::as_tuple(use_awaitable));
      (void)wn;
      if (wec) co_return;
    }
  }
};

// A client for a canned server (API token "canned-token"), built from the parts directly.
struct CannedClient {
  std::shared_ptr<http::HttpClient> http;
  std::shared_ptr<connect::ConnectionClient> client;
  CannedClient(asio::io_context& io, const std::string& base, connect::AliasRetry retry = quick_retry()) {
    setenv("SPOKEFLOW_TEST_CANNED_TOKEN", "canned-token-0123456789", 1);
    connect::Credential cred;
    cred.name = "canned";
    cred.type = connect::CredentialType::okta_api_token;
    cred.token = connect::SecretRef{connect::SecretRef::Source::env, "SPOKEFLOW_TEST_CANNED_TOKEN", {}};
    connect::Connection conn;
    conn.name = "canned";
    conn.base_url = base;
    conn.credential = cred.name;
    conn.allow_insecure_http = true;
    http = std::make_shared<http::HttpClient>(io.get_executor());
    connect::SecretResolver secrets(nullptr, ".");
    auto auth = connect::make_auth_provider(conn, cred, secrets, http);
    REQUIRE_MESSAGE(auth.ok(), auth.error().message);
    client = std::make_shared<connect::ConnectionClient>(io.get_executor(), "canned", conn, retry, *auth, http,
                                                         std::make_shared<http::RateGovernor>(io.get_executor(), 0));
  }
};

// `calls` requests spread over `workers` coroutines on one client, all at once.
struct Load {
  connect::ConnectionClient* client = nullptr;
  connect::ApiRequest request;
  int calls = 0;
  int started = 0;
  int ok = 0;
  std::vector<std::string> failures;
};

inline awaitable<void> load_worker(Load* load) {
  while (load->started < load->calls) {
    ++load->started;
    auto r = co_await load->client->call(load->request);
    if (r.ok()) ++load->ok;
    else load->failures.push_back(r.error().message);
  }
}

inline awaitable<bool> run_load(Load* load, int workers) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer all_done(ex, Clock::time_point::max());
  auto done = std::make_shared<int>(0);
  for (int i = 0; i < workers; ++i)
    asio::co_spawn(ex, load_worker(load), [done, workers, &all_done](std::exception_ptr) {
      if (++*done == workers) all_done.cancel();
    });
  while (*done < workers) (void)co_await all_done.async_wait(asio::as_tuple(use_awaitable));
  co_return true;
}

inline std::string users_seed(int n) {
  std::string y = "users:\n";
  for (int i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    y += "  - {login: user" + k + "@example.com, firstName: User, lastName: N" + k + "}\n";
  }
  return y;
}

}  // namespace client_test
