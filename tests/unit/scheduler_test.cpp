// The service's scheduler with a clock the test moves: fires made once, catch-up after
// downtime as each trigger's `catchup` says (and missed fires counted), `overlap: skip`, and a
// service that stopped between enqueuing a fire and recording it.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>

#include "common/ids.hpp"
#include "core/core.hpp"
#include "serve/scheduler.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"
#include "test_util.hpp"

using namespace spokeflow;
namespace asio = boost::asio;

namespace {

std::int64_t at(const char* iso) { return *parse_timestamp(iso); }

struct Bench {
  spokeflow::test::TempDir dir{"spokeflow-sched-"};
  // On PostgreSQL when run as unit.scheduler_test.postgresql: a schema of its own.
  std::unique_ptr<spokeflow::test::PgBackend> pg =
      spokeflow::test::engine_tests_on_pg() ? std::make_unique<spokeflow::test::PgBackend>() : nullptr;
  asio::io_context io;
  ActionRegistry actions;
  std::unique_ptr<runtime::Runtime> rt;
  std::unique_ptr<serve::FlowCatalog> catalog;
  std::int64_t now = 0;

  Bench(std::int64_t start, const std::string& trigger) : now(start) {
    actions::register_core_actions(actions);
    std::filesystem::create_directories(dir.path / "flows");
    std::ofstream(dir.path / "flows" / "tick.yaml") << "name: tick\ntriggers:\n  - " << trigger
                                                     << "\nsteps:\n  - id: s\n    action: core.noop\n";
    runtime::RuntimeOptions o;
    o.flows_dir = (dir.path / "flows").string();
    rt = std::make_unique<runtime::Runtime>(io.get_executor(), actions,
                                            pg ? pg->open() : store::open_sqlite_store((dir.path / "s.db").string()), o);
    reload();
  }
  void reload() {
    catalog = std::make_unique<serve::FlowCatalog>((dir.path / "flows").string(), actions);
    REQUIRE(catalog->load());
    REQUIRE_MESSAGE(catalog->problems().empty(), catalog->problems().front().diagnostics.format());
  }
  // A service started at `now`: ticks once and returns how many executions it enqueued.
  int tick(serve::Scheduler& s) {
    int n = -1;
    asio::co_spawn(io, s.tick(), [&](std::exception_ptr e, int got) {
      if (e) std::rethrow_exception(e);
      n = got;
    });
    io.restart();
    io.run();
    return n;
  }
  std::unique_ptr<serve::Scheduler> service() {
    return std::make_unique<serve::Scheduler>(*rt, *catalog, [this] { return now; });
  }
  std::vector<store::ExecutionRecord> executions() {
    store::ExecutionFilter f;
    f.limit = 100000;
    return rt->store().list_executions(f);
  }
  std::vector<store::ScheduleFire> fires() { return rt->store().recent_fires("tick", 100000); }
};

}  // namespace

TEST_CASE("a schedule fires once per instant, at its time, however often the service ticks") {
  Bench b(at("2026-12-07T05:59:30Z"), "schedule: \"0 6 * * *\"");
  auto s = b.service();
  CHECK(b.tick(*s) == 0);
  b.now = at("2026-12-07T06:00:00.010Z");
  CHECK(b.tick(*s) == 1);
  CHECK(b.tick(*s) == 0);
  auto second = b.service();  // another service on the same store
  CHECK(b.tick(*second) == 0);
  auto ex = b.executions();
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].trigger["type"] == "schedule");
  CHECK(ex[0].trigger["scheduled_at"] == "2026-12-07T06:00:00.000Z");
  auto fires = b.fires();
  REQUIRE(fires.size() == 1);
  CHECK(fires[0].outcome == "enqueued");
  CHECK(fires[0].execution_id == ex[0].id);
}

TEST_CASE("catch-up after 3 hours down: none, last and all, with the missed fires counted") {
  for (const char* mode : {"none", "last", "all"}) {
    CAPTURE(mode);
    Bench b(at("2026-12-07T06:00:00Z"),
            std::string("schedule: { cron: \"*/15 * * * *\", catchup: ") + mode + ", overlap: allow }");
    {
      auto s = b.service();
      b.now = at("2026-12-07T06:00:01Z");
      CHECK(b.tick(*s) == 0);  // 06:00 was before this service started: nothing owed
      b.now = at("2026-12-07T06:15:00.5Z");
      CHECK(b.tick(*s) == 1);
    }
    // Down from 06:16 to 09:16: 12 fires (06:30 ... 09:15) were due meanwhile.
    b.now = at("2026-12-07T09:16:00Z");
    auto s = b.service();
    const int made = b.tick(*s);
    std::int64_t missed = 0;
    for (const auto& f : b.fires()) missed += f.missed + (f.outcome == "missed" ? 1 : 0);
    if (std::string(mode) == "none") {
      CHECK(made == 0);
      CHECK(missed == 12);
    } else if (std::string(mode) == "last") {
      CHECK(made == 1);
      CHECK(missed == 11);
      CHECK(b.executions().front().trigger["scheduled_at"] == "2026-12-07T09:15:00.000Z");
    } else {
      CHECK(made == 12);
      CHECK(missed == 0);
    }
    // The next tick owes nothing more; the next fire comes at its time.
    CHECK(b.tick(*s) == 0);
    b.now = at("2026-12-07T09:30:00Z");
    CHECK(b.tick(*s) == 1);
  }
}

TEST_CASE("overlap: skip records a fire skipped while the previous execution is unfinished") {
  Bench b(at("2026-12-07T05:59:00Z"), "schedule: { cron: \"* * * * *\", overlap: skip }");
  auto s = b.service();
  b.now = at("2026-12-07T06:00:00Z");
  CHECK(b.tick(*s) == 1);  // queued, never run here: unfinished
  b.now = at("2026-12-07T06:01:00Z");
  CHECK(b.tick(*s) == 0);
  auto fires = b.fires();
  REQUIRE(fires.size() == 2);
  CHECK(fires[0].outcome == "skipped_overlap");
  CHECK(b.executions().size() == 1);
}

TEST_CASE("a service that stopped between enqueuing a fire and recording it: the fire is made once") {
  Bench b(at("2026-12-07T04:59:30Z"), "schedule: { cron: \"0 * * * *\", overlap: allow }");
  {
    auto a = b.service();
    b.now = at("2026-12-07T05:00:00Z");
    CHECK(b.tick(*a) == 1);
  }
  // The 06:00 fire's execution went in under its key; the service stopped before recording it.
  flow::FlowPtr f = b.catalog->find("tick");
  const std::string key = serve::Scheduler::trigger_key(0, f->triggers[0]);
  Json trig = {{"type", "schedule"}};
  const std::string dedupe = "schedule:tick:" + key + ":" + std::to_string(at("2026-12-07T06:00:00Z"));
  std::string first;
  auto enqueue_it = [&]() -> asio::awaitable<void> {
    Json inputs = Json::object();
    auto r = co_await b.rt->enqueue(f, inputs, false, trig, dedupe);
    first = r->id;
  };
  asio::co_spawn(b.io, enqueue_it(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  b.io.restart();
  b.io.run();
  b.now = at("2026-12-07T06:00:05Z");
  auto s = b.service();
  CHECK(b.tick(*s) == 0);  // its execution existed: nothing new
  auto fires = b.fires();
  REQUIRE(fires.size() == 2);
  CHECK(fires[0].execution_id == first);
  CHECK(fires[0].outcome == "enqueued");
  CHECK(b.executions().size() == 2);
}
