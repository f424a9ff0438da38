// Requests per second through the connection client (auth header, rate governor, retries,
// JSON parsing, error mapping) to okta-sim: GET /api/v1/users/{id} with keep-alive and N in
// flight, the sim's limits raised so that nothing is paced.
//
//   client_bench [--requests N] [--in-flight N] [--sim PATH]
#include <stdlib.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../unit/sim_connections.hpp"
#include "../unit/sim_process.hpp"
#include "connect/client.hpp"
#include "connect/secrets.hpp"

using namespace spokeflow;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

struct Bench {
  connect::ConnectionClient* client = nullptr;
  std::vector<std::string> paths;
  int total = 0;
  int started = 0;
  int ok = 0;
  int failed = 0;
  std::string first_error;
  std::vector<double> latency_ms;
};

asio::awaitable<void> worker(Bench* b) {
  while (b->started < b->total) {
    connect::ApiRequest req;
    req.method = "GET";
    req.path = b->paths[static_cast<std::size_t>(b->started) % b->paths.size()];
    ++b->started;
    const auto t0 = Clock::now();
    auto r = co_await b->client->call(std::move(req));
    b->latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (r.ok()) {
      ++b->ok;
    } else {
      if (b->failed++ == 0) b->first_error = r.error().message;
    }
  }
}

asio::awaitable<void> run_all(Bench* b, int workers) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer done_timer(ex, Clock::time_point::max());
  auto done = std::make_shared<int>(0);
  for (int i = 0; i < workers; ++i)
    asio::co_spawn(ex, worker(b), [done, workers, &done_timer](std::exception_ptr e) {
      if (e) std::fprintf(stderr, "worker failed\n");
      if (++*done == workers) done_timer.cancel();
    });
  while (*done < workers) (void)co_await done_timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Runs one coroutine to completion on `io`.
template <class F>
void run(asio::io_context& io, F f) {
  bool finished = false;
  asio::co_spawn(io, std::move(f), [&finished](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    finished = true;
  });
  io.restart();
  while (!finished) io.run_one();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 50000;
  int in_flight = 64;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* name) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", name);
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (!std::strcmp(argv[i], "--requests")) requests = next("--requests");
    else if (!std::strcmp(argv[i], "--in-flight")) in_flight = next("--in-flight");
    else {
      std::fprintf(stderr, "usage: client_bench [--requests N] [--in-flight N]\n");
      return 2;
    }
  }
  if (requests < 1 || in_flight < 1) return 2;

  std::string seed = "users:\n";
  for (int i = 0; i < 200; ++i)
    seed += "  - {login: bench" + std::to_string(i) + "@example.com, firstName: B, lastName: N" + std::to_string(i) + "}\n";
  const std::string config =
      "rate_limits:\n  concurrency: 100000\n  default: 100000000\n  buckets:\n    users: 100000000\n"
      "    user_get: 100000000\n";
  test::SimProcess sim(seed, config);

  setenv("SPOKEFLOW_TEST_OKTA_TOKEN", test::SimProcess::token().c_str(), 1);
  connect::ConnectionsConfig cfg = test::sim_connections(sim.base_url());
  cfg.connections["sim"].max_concurrency = in_flight;

  asio::io_context io;
  connect::Connections connections(io.get_executor(), cfg, std::make_shared<connect::SecretResolver>(nullptr, "."));
  auto client = connections.client("okta");
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.error().message.c_str());
    return 1;
  }

  Bench b;
  b.client = client->get();
  std::optional<Result<connect::ApiResponse>> list;
  run(io, [&]() -> asio::awaitable<void> {
    connect::ApiRequest req;
    req.method = "GET";
    req.path = "/api/v1/users";
    req.query = {{"limit", "200"}};
    auto r = co_await b.client->call(req);
    list.emplace(std::move(r));
  });
  if (!list->ok()) {
    std::fprintf(stderr, "listing users: %s\n", list->error().message.c_str());
    return 1;
  }
  for (const auto& u : (*list)->json) b.paths.push_back("/api/v1/users/" + u["id"].get<std::string>());

  // Warm-up: connections opened, allocators settled.
  b.total = std::min(requests, 2000);
  run(io, [&]() -> asio::awaitable<void> { co_await run_all(&b, in_flight); });
  b.started = b.ok = b.failed = 0;
  b.latency_ms.clear();

  b.total = requests;
  b.latency_ms.reserve(static_cast<std::size_t>(requests));
  const auto t0 = Clock::now();
  run(io, [&]() -> asio::awaitable<void> { co_await run_all(&b, in_flight); });
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto& gs = b.client->governor().stats();
  std::printf("client_bench: %d x GET /api/v1/users/{id}, %d in flight, keep-alive: %.0f requests/s "
              "(%.2f s; latency p50 %.2f ms, p99 %.2f ms; %d failed; %llu retries; %llu paced waits)\n",
              requests, in_flight, requests / secs, secs, percentile(b.latency_ms, 0.5), percentile(b.latency_ms, 0.99),
              b.failed, static_cast<unsigned long long>(b.client->stats().retries),
              static_cast<unsigned long long>(gs.paced_waits));
  if (b.failed) std::printf("first error: %s\n", b.first_error.c_str());
  return b.failed == 0 ? 0 : 1;
}
