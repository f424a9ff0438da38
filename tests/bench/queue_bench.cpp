// The work queue's benchmarks (issue 17):
//   queue_bench parked N STORE   N executions, each parked by a worker in a one-hour wait:
//                                the worker's RSS once all are parked, and what it cost
//   queue_bench wake N STORE     N executions parked until the same instant: how late each
//                                is resumed (p50, p99, max), and whether all were within 2 s
// Prints one line of numbers per run; the store file is created fresh.
#include <sqlite3.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "common/ids.hpp"
#include "core/core.hpp"
#include "flow/loader.hpp"
#include "runtime/runtime.hpp"
#include "bench_util.hpp"

using namespace spokeflow;
namespace asio = boost::asio;
using bench::count;
using bench::load;
using bench::rss_kb;

namespace {

// Enqueues n executions of `f` with `inputs`, 5,000 to a transaction (what many API callers
// at once would cost is not what is measured here).
void enqueue_many(store::ExecutionStore& st, run::Engine& engine, const flow::FlowPtr& f, const Json& inputs, long n) {
  auto checked = engine.check_inputs(*f, inputs, false);
  if (!checked.ok()) std::exit(2);
  for (long i = 0; i < n; ++i) {
    auto rec = engine.new_execution(f, *checked, {{"type", "bench"}});
    rec->run_at = 1;
    st.enqueue(std::move(*rec));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: queue_bench parked|wake N STORE\n";
    return 2;
  }
  const std::string mode = argv[1];
  const long n = std::stol(argv[2]);
  const std::string path = argv[3];
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  using clock = std::chrono::steady_clock;

  ActionRegistry reg;
  actions::register_core_actions(reg);
  asio::io_context io{1};
  runtime::RuntimeOptions o;
  o.flows_dir = ".";
  o.worker.concurrency = 2'000;
  o.worker.park_after = Millis(1'000);
  o.worker.lease = Millis(30'000);
  o.worker.poll = Millis(200);
  auto rt = std::make_unique<runtime::Runtime>(io.get_executor(), reg, store::on_own_thread(store::open_sqlite_store(path)), o);

  if (mode == "parked") {
    auto f = load("name: parked\nsteps:\n  - id: nap\n    wait: 1h\n", reg);
    auto t0 = clock::now();
    {
      // Enqueued through a plain store (one process's writes), then the worker's store is used.
      auto direct = store::open_sqlite_store(path);
      enqueue_many(*direct, rt->engine(), f, Json::object(), n);
    }
    const double enqueue_s = std::chrono::duration<double>(clock::now() - t0).count();
    const long rss_start = rss_kb();
    long parked = 0;
    rt->worker().on_outcome = [&](const run::ExecutionOutcome& out) {
      if (out.status == "waiting") ++parked;
      if (parked == n) rt->worker().drain(Millis(0));
    };
    long peak = rss_start;
    asio::steady_timer probe(io);
    std::function<void()> sample = [&] {
      peak = std::max(peak, rss_kb());
      probe.expires_after(std::chrono::milliseconds(100));
      probe.async_wait([&](auto ec) { if (!ec && parked < n) sample(); });
    };
    sample();
    auto t1 = clock::now();
    asio::co_spawn(io, rt->worker().run(), asio::detached);
    io.run();
    const double park_s = std::chrono::duration<double>(clock::now() - t1).count();
    const long rss_end = rss_kb();
    const long long waiting = count(path, "SELECT count(*) FROM executions WHERE status = 'waiting'");
    std::printf("parked: %ld executions enqueued in %.1f s, %lld parked (waiting in the store) in %.1f s (%.0f/s); "
                "worker RSS %ld KB before, %ld KB after, peak %ld KB while parking\n",
                n, enqueue_s, waiting, park_s, static_cast<double>(n) / park_s, rss_start, rss_end, peak);
    return waiting == n ? 0 : 1;
  }

  if (mode == "wake") {
    auto f = load(R"(
name: woken
inputs:
  at: { type: string, required: true }
steps:
  - id: nap
    wait: { until: "${{ inputs.at }}" }
)", reg);
    // All wake at the same instant, a while after they are parked.
    const std::int64_t at = now_unix_ms() + 10'000 + n / 2;
    {
      auto direct = store::open_sqlite_store(path);
      enqueue_many(*direct, rt->engine(), f, Json{{"at", format_timestamp(at)}}, n);
    }
    long parked = 0, done = 0;
    rt->worker().on_outcome = [&](const run::ExecutionOutcome& out) {
      if (out.status == "waiting") ++parked;
      if (out.status == "succeeded" && ++done == n) rt->worker().drain(Millis(0));
    };
    asio::co_spawn(io, rt->worker().run(), asio::detached);
    io.run();
    rt.reset();
    // Lateness: when each wait step ended, against the instant asked for.
    sqlite3* raw = nullptr;
    std::vector<std::int64_t> late;
    sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(raw, "SELECT finished_at FROM step_runs WHERE path = 'nap' AND status = 'succeeded'", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) late.push_back(sqlite3_column_int64(s, 0) - at);
    sqlite3_finalize(s);
    sqlite3_close(raw);
    std::sort(late.begin(), late.end());
    auto pct = [&](double p) { return late.empty() ? -1 : late[std::min(late.size() - 1, static_cast<std::size_t>(p * late.size()))]; };
    const long within = std::count_if(late.begin(), late.end(), [](std::int64_t l) { return l <= 2'000; });
    std::printf("wake: %ld executions parked until one instant, %zu resumed; lateness p50 %lld ms, p99 %lld ms, max %lld ms; "
                "%ld within 2 s\n", n, late.size(), static_cast<long long>(pct(0.5)), static_cast<long long>(pct(0.99)),
                static_cast<long long>(late.empty() ? -1 : late.back()), within);
    return (static_cast<long>(late.size()) == n && within == n) ? 0 : 1;
  }
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
