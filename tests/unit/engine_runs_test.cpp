// Runs under the work queue's rules (issue 17): a run that loses its lease writes nothing more,
// long waits park, drains give the lease back, finally does not unblock its siblings, loops do
// not copy what came before them, and a run's secrets are forgotten when it ends.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/scrub.hpp"
#include "engine_fixture.hpp"
#include "run/engine_impl.hpp"

using namespace spokeflow;
using namespace spokeflow::test;

namespace {

// Claims `id` with a lease of `lease_ms` and runs it with `handle`; `during` runs on the loop
// `after` into the run (to take the lease away, drain, ...).
run::ExecutionOutcome run_with(Fixture& fx, const std::string& id, std::shared_ptr<run::RunHandle> handle,
                               std::int64_t lease_ms = 30'000, std::chrono::milliseconds after = {},
                               std::function<void()> during = {}) {
  asio::io_context io;
  run::Engine engine(io.get_executor(), fx.registry, *fx.store, nullptr);
  store::ClaimOptions o;
  o.worker = "w1";
  o.only_id = id;
  o.lease_ms = lease_ms;
  auto claims = fx.store->claim(o, now_unix_ms());
  REQUIRE(claims.size() == 1);
  run::ExecutionOutcome out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await engine.run(claims[0], handle); }, asio::detached);
  asio::steady_timer t(io, after);
  if (during) t.async_wait([&](auto) { during(); });
  io.run();
  return out;
}

}  // namespace

TEST_CASE("a run whose lease is taken by another worker stops and writes nothing more") {
  Fixture fx;
  auto f = fx.load(R"(
name: l
steps:
  - id: a
    action: test.count
  - id: nap
    wait: 400ms
  - id: b
    action: test.count
)");
  std::string id = fx.create(f);
  std::int64_t epoch2 = 0;
  auto out = run_with(fx, id, std::make_shared<run::RunHandle>(), 100, std::chrono::milliseconds(250), [&] {
    // The lease (100 ms) lapsed without a renewal: another worker claims the execution.
    store::ClaimOptions o;
    o.worker = "w2";
    o.only_id = id;
    auto c = fx.store->claim(o, now_unix_ms());
    REQUIRE(c.size() == 1);
    epoch2 = c[0].epoch;
  });
  CHECK(epoch2 == 2);
  CHECK(out.status == "lost");
  CHECK(fx.counter->calls.count("b") == 0);  // nothing started after the lease was lost
  auto runs = fx.store->step_runs(id);
  REQUIRE(runs.size() == 2);  // a, and the wait's start; not the wait's end
  CHECK(runs[1].path == "nap");
  CHECK(runs[1].status == "running");
  CHECK(fx.store->get_execution(id)->lease_owner == "w2");
}

TEST_CASE("a long wait parks the execution in the store; a later claim wakes it where it was") {
  Fixture fx;
  auto f = fx.load(R"(
name: p
steps:
  - id: a
    action: test.count
  - id: nap
    wait: 1s
  - id: b
    action: test.count
)");
  std::string id = fx.create(f);
  auto handle = std::make_shared<run::RunHandle>();
  handle->park_after = Millis(100);
  const std::int64_t before = now_unix_ms();
  auto out = run_with(fx, id, handle);
  CHECK(out.status == "waiting");
  CHECK(out.wake_at >= before + 1000);
  auto rec = fx.store->get_execution(id);
  CHECK(rec->status == "waiting");
  CHECK(rec->run_at == out.wake_at);
  CHECK(rec->lease_owner.empty());
  CHECK(fx.counter->calls["a"] == 1);
  CHECK(fx.counter->calls.count("b") == 0);
  store::ClaimOptions o;
  o.worker = "w";
  CHECK(fx.store->claim(o, out.wake_at - 1).empty());  // not before its time
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::int64_t>(0, out.wake_at - now_unix_ms())));
  auto woken = fx.run_id(id);
  CHECK(woken.status == "succeeded");
  CHECK(fx.counter->calls["a"] == 1);  // from the journal
  CHECK(fx.counter->calls["b"] == 1);
}

TEST_CASE("wait until a point in time, given by an expression") {
  Fixture fx;
  auto f = fx.load(R"(
name: u
inputs:
  at: { type: string, required: true }
steps:
  - id: nap
    wait: { until: "${{ inputs.at }}" }
)");
  SUBCASE("in the past: no wait") {
    auto out = fx.run_id(fx.create(f, {{"at", "2020-01-01T00:00:00Z"}}));
    CHECK(out.status == "succeeded");
  }
  SUBCASE("in the future: parked until then") {
    const std::int64_t at = now_unix_ms() + 3'600'000;
    std::string id = fx.create(f, {{"at", format_timestamp(at)}});
    auto handle = std::make_shared<run::RunHandle>();
    handle->park_after = Millis(5'000);
    auto out = run_with(fx, id, handle);
    CHECK(out.status == "waiting");
    CHECK(out.wake_at == at);
  }
  SUBCASE("not a point in time") {
    auto out = fx.run_id(fx.create(f, {{"at", "tomorrow"}}));
    CHECK(out.status == "failed");
    CHECK(out.error["message"].get<std::string>().find("is not a point in time") != std::string::npos);
  }
}

TEST_CASE("a drain lets the action in flight end, starts nothing more, and gives the lease back") {
  Fixture fx;
  auto f = fx.load(R"(
name: d
steps:
  - id: slow
    action: core.wait
    with: { duration: 300ms }
  - id: b
    action: test.count
)");
  std::string id = fx.create(f);
  auto handle = std::make_shared<run::RunHandle>();
  auto out = run_with(fx, id, handle, 30'000, std::chrono::milliseconds(100), [&] { handle->drain(); });
  CHECK(out.status == "released");
  auto runs = fx.store->step_runs(id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].path == "slow");
  CHECK(runs[0].status == "succeeded");  // it ended within the drain, and was journaled
  CHECK(fx.counter->calls.count("b") == 0);
  auto rec = fx.store->get_execution(id);
  CHECK(rec->status == "queued");
  CHECK(rec->lease_owner.empty());
  auto rest = fx.run_id(id);
  CHECK(rest.status == "succeeded");
  CHECK(fx.counter->calls["b"] == 1);
}

TEST_CASE("a finally block does not let sibling branches go on after an end") {
  Fixture fx;
  auto out = fx.run_flow(R"(
name: f
steps:
  - id: both
    parallel:
      - steps:
          - id: t
            try:
              - id: short
                wait: 20ms
            finally:
              - id: cleanup
                action: core.wait
                with: { duration: 300ms }
      - steps:
          - id: stop
            end: { status: succeeded }
      - steps:
          - id: later
            wait: 100ms
          - id: must_not_run
            action: test.count
)");
  CHECK(out.status == "succeeded");
  CHECK(fx.counter->calls.count("both[2].must_not_run") == 0);
  auto runs = fx.store->step_runs(out.id);
  bool cleaned = false;
  for (const auto& r : runs) cleaned = cleaned || (r.path == "both[0].t.finally.cleanup" && r.status == "succeeded");
  CHECK(cleaned);  // the finally itself still runs after the end
}

TEST_CASE("loop iterations read earlier steps without copying them") {
  Fixture fx;
  auto f = fx.load(R"(
name: v
inputs:
  items: { type: array, required: true }
steps:
  - id: first
    action: core.echo
    with: { value: "${{ inputs.items }}" }
  - id: each
    for_each: ${{ inputs.items }}
    steps:
      - id: a
        action: core.noop
      - id: b
        action: core.echo
        with: { value: "${{ steps.a.status }} ${{ length(steps.first.outputs.value) }}" }
)");
  Json items = Json::array();
  for (int i = 0; i < 2'000; ++i) items.push_back(i);
  const std::size_t before = run::Frame::merged_copies();
  auto out = fx.run_id(fx.create(f, {{"items", items}}));
  CHECK(out.status == "succeeded");
  CHECK(run::Frame::merged_copies() == before);  // was one copy of every earlier step per iteration
}

TEST_CASE("a run's secrets are forgotten by the scrubber when it ends") {
  Fixture fx;
  auto f = fx.load(R"(
name: s
inputs:
  pw: { type: string, sensitive: true, required: true }
steps:
  - id: echo
    action: core.echo
    with: { value: "${{ inputs.pw }}" }
)");
  const std::size_t before = SecretScrubber::instance().size();
  const std::string secret = "Forget-me-" + new_sortable_id();
  auto out = fx.run_id(fx.create(f, {{"pw", secret}}));
  CHECK(out.status == "succeeded");
  CHECK(SecretScrubber::instance().size() == before);
  CHECK(SecretScrubber::instance().scrub("x " + secret) == "x " + secret);
  for (const auto& r : fx.store->step_runs(out.id)) CHECK(r.outputs.dump().find(secret) == std::string::npos);
}
