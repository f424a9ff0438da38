// Engine overhead benchmarks (issue 2's measurements; tests/bench grows into issue 6's suite).
//   engine_bench steps N STORE      one execution: for_each over N items, one core.noop each
//   engine_bench remote N STORE     the same with an action that reaches outside (a no-op that is
//                                   not local): each step waits for its start to be committed
//   engine_bench waiting N STORE    N executions waiting in core.wait at once: RSS per execution
//   engine_bench small N STORE      N executions of a three-step core.noop flow, one after another
// Prints one line of numbers per run; the store file is created fresh.
// ENGINE_BENCH_SECRETS=K registers K secrets first, as a process with connections and sensitive
// values has: every record is then scrubbed (the default, none, skips scrubbing altogether).
// ENGINE_BENCH_METRICS=1 reports every step to the service's metrics, as `serve` does.
#include <sqlite3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "common/ids.hpp"
#include "common/scrub.hpp"
#include "core/core.hpp"
#include "flow/loader.hpp"
#include "run/engine.hpp"
#include "serve/metrics.hpp"
#include "bench_util.hpp"

using namespace spokeflow;
namespace asio = boost::asio;
using bench::load;
using bench::rss_kb;

namespace {

// A no-op that counts as reaching outside: the engine commits its start before calling it.
struct RemoteNoop final : Action {
  ActionInfo info_ = [] {
    ActionInfo i;
    i.name = "bench.remote_noop";
    i.input_schema = Json::parse(R"({"type":"object"})");
    i.output_schema = i.input_schema;
    i.inputs_checker = JsonSchema::compile(i.input_schema);
    i.outputs_checker = JsonSchema::compile(i.output_schema);
    return i;
  }();
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext&) const override { co_return Json::object(); }
};

// Enqueues an execution and claims it, as `spokeflow run` does; the claim to run it with.
store::Claim enqueue_and_claim(run::Engine& engine, store::ExecutionStore& st, const flow::FlowPtr& f, const Json& inputs,
                               std::optional<run::Engine::Fresh>& fresh) {
  auto checked = engine.check_inputs(*f, inputs, false);
  auto rec = engine.new_execution(f, *checked, {{"type", "bench"}});
  if (!checked.ok() || !rec.ok()) std::exit(2);
  st.enqueue(*rec);
  store::ClaimOptions o;
  o.worker = "bench";
  o.only_id = rec->id;
  auto claims = st.claim(o, now_unix_ms());
  if (claims.size() != 1) std::exit(3);
  rec->flow_source.clear();
  fresh = run::Engine::Fresh{std::move(*rec), f, *checked};
  return claims[0];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: engine_bench steps|waiting|small N STORE\n";
    return 2;
  }
  std::string mode = argv[1];
  long n = std::stol(argv[2]);
  std::string store_path = argv[3];
  if (const char* k = std::getenv("ENGINE_BENCH_SECRETS"))
    for (long i = std::stol(k); i > 0; --i) SecretScrubber::instance().add("bench-secret-" + std::to_string(i) + "-Xq9\"z");
  // A postgresql:// STORE is used as it is (steps, remote and small only); a file is made anew.
  const bool pg = store_path.rfind("postgresql://", 0) == 0 || store_path.rfind("postgres://", 0) == 0;
  if (pg && mode == "waiting") {
    std::cerr << "engine_bench: waiting reads its SQLite file directly; give it a path\n";
    return 2;
  }
  if (!pg)
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store_path + suffix);

  ActionRegistry reg;
  actions::register_core_actions(reg);
  reg.add(std::make_unique<RemoteNoop>());
  auto st = store::on_own_thread(pg ? store::open_pg_store(store_path) : store::open_sqlite_store(store_path));
  asio::io_context io{1};
  serve::Metrics metrics;
  run::EngineOptions options;
  if (const char* m = std::getenv("ENGINE_BENCH_METRICS"); m && std::string(m) == "1")
    options.on_step = [&metrics](const run::StepEvent& ev) { metrics.step_finished(ev); };
  run::Engine engine(io.get_executor(), reg, *st, nullptr, options);
  using clock = std::chrono::steady_clock;

  if (mode == "steps" || mode == "remote") {
    const std::string action = mode == "steps" ? "core.noop" : "bench.remote_noop";
    auto f = load(R"(
name: noop_loop
inputs:
  items: { type: array, required: true }
steps:
  - id: loop
    for_each: ${{ inputs.items }}
    steps:
      - id: noop
        action: )" + action + "\n", reg);
    Json items = Json::array();
    for (long i = 0; i < n; ++i) items.push_back(i);
    std::optional<run::Engine::Fresh> fresh;
    auto claim = enqueue_and_claim(engine, *st, f, Json{{"items", items}}, fresh);
    const std::string id = claim.id;
    std::string status;
    auto t0 = clock::now();
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      status = (co_await engine.run(claim, nullptr, std::move(fresh))).status;
    }, asio::detached);
    io.run();
    double secs = std::chrono::duration<double>(clock::now() - t0).count();
    auto runs = st->step_runs(id).size();
    std::printf("%s: %ld %s steps, status %s, %zu step runs journaled, %.3f s, %.2f us/step, rss %ld KB\n",
                mode.c_str(), n, action.c_str(), status.c_str(), runs, secs, secs * 1e6 / static_cast<double>(n), rss_kb());
    return status == "succeeded" ? 0 : 1;
  }

  if (mode == "small") {
    auto f = load(R"(
name: three
steps:
  - id: a
    action: core.noop
  - id: b
    action: core.noop
  - id: c
    action: core.noop
)", reg);
    long ok = 0;
    auto t0 = clock::now();
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      for (long i = 0; i < n; ++i) {
        std::optional<run::Engine::Fresh> fresh;
        auto claim = enqueue_and_claim(engine, *st, f, Json::object(), fresh);
        if ((co_await engine.run(claim, nullptr, std::move(fresh))).status == "succeeded") ++ok;
      }
    }, asio::detached);
    io.run();
    double secs = std::chrono::duration<double>(clock::now() - t0).count();
    std::printf("small: %ld executions of 3 noop steps (%ld succeeded), %.3f s, %.0f executions/s\n", n, ok, secs,
                static_cast<double>(n) / secs);
    return ok == n ? 0 : 1;
  }

  if (mode == "waiting") {
    auto f = load(R"(
name: waiter
steps:
  - id: before
    action: core.noop
  - id: nap
    action: core.wait
    with: { duration: 10s }
  - id: after
    action: core.noop
)", reg);
    long before_kb = rss_kb();
    long done = 0, ok = 0;
    long peak_waiting_kb = 0;
    auto t0 = clock::now();
    for (long i = 0; i < n; ++i) {
      asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        std::optional<run::Engine::Fresh> fresh;
        auto claim = enqueue_and_claim(engine, *st, f, Json::object(), fresh);
        auto out = co_await engine.run(claim, nullptr, std::move(fresh));
        ++done;
        if (out.status == "succeeded") ++ok;
      }, asio::detached);
    }
    // Sample RSS once every execution is waiting: their wait steps' starts are all in the store
    // (counted through a connection of its own, every 100 ms).
    long long seen_waiting = 0;
    asio::steady_timer probe(io);
    std::function<void()> poll = [&] {
      probe.expires_after(std::chrono::milliseconds(100));
      probe.async_wait([&](auto ec) {
        if (ec) return;
        seen_waiting = bench::count(store_path, "SELECT count(*) FROM step_runs WHERE path = ?1 AND status = ?2", "nap", "running");
        if (seen_waiting >= n) peak_waiting_kb = rss_kb();
        else poll();
      });
    };
    poll();
    io.run();
    double secs = std::chrono::duration<double>(clock::now() - t0).count();
    std::printf("waiting: %ld executions, %ld succeeded, %lld counted waiting, rss before %ld KB, while waiting %ld KB, "
                "%.2f KB per waiting execution, %.2f s total\n", n, ok, seen_waiting, before_kb, peak_waiting_kb,
                static_cast<double>(peak_waiting_kb - before_kb) / static_cast<double>(n), secs);
    return ok == n ? 0 : 1;
  }
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
