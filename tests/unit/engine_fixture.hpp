#pragma once
// What the engine's tests share: test actions (counting, paging, witnessing commits), stores
// that count or slow their calls, and a fixture that enqueues, claims and runs flows.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include <sqlite3.h>

#include "common/ids.hpp"
#include "core/core.hpp"
#include "flow/loader.hpp"
#include "forwarding_store.hpp"
#include "store_backends.hpp"
#include "run/engine.hpp"

namespace spokeflow::test {
namespace asio = boost::asio;
namespace fs = std::filesystem;

// A test action's info: any object in, any object out.
inline ActionInfo object_action_info(const std::string& name) {
  ActionInfo info;
  info.name = name;
  info.input_schema = Json::parse(R"({"type":"object"})");
  info.output_schema = info.input_schema;
  info.inputs_checker = JsonSchema::compile(info.input_schema);
  info.outputs_checker = JsonSchema::compile(info.output_schema);
  return info;
}

// Counts its calls per step path; fails the first `fail_times` calls of each path.
struct Counter final : Action {
  ActionInfo info_ = object_action_info("test.count");
  mutable std::map<std::string, int> calls;
  mutable std::vector<int> attempts;
  int fail_times = 0;
  ErrorKind fail_kind = ErrorKind::network;
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    int n = ++calls[std::string(ctx.step_path)];
    attempts.push_back(ctx.attempt);
    if (n <= fail_times) co_return Error::make(fail_kind, "planned failure " + std::to_string(n));
    co_return Json{{"n", n}, {"attempt", ctx.attempt}};
  }
};

// A list action: `total` items in pages of `size`, following the stream protocol.
struct Pager final : Action {
  ActionInfo info_ = object_action_info("test.pages");
  int total = 0;
  int size = 1;
  mutable int calls = 0;
  mutable bool saw_non_stream = false;
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    ++calls;
    if (!ctx.inputs.value("stream", false)) saw_non_stream = true;
    int from = ctx.inputs.contains("after") ? std::stoi(ctx.inputs["after"].get<std::string>()) : 0;
    Json items = Json::array();
    for (int i = from; i < std::min(total, from + size); ++i) items.push_back({{"n", i}, {"tag", ctx.inputs.value("tag", "")}});
    Json out = {{"items", items}};
    out["next"] = from + size < total ? Json(std::to_string(from + size)) : Json();
    co_return out;
  }
};


// Reaches "outside": at that moment it reads the store through its own connection, as another
// process (a resume after a crash) would, and notes each call whose start record, or the end
// record of the step before it, was not yet committed.
struct Witness final : Action {
  ActionInfo info_ = object_action_info("test.witness");
  std::string location;  // the store's, opened anew for each look
  mutable std::vector<std::string> not_durable;
  mutable int calls = 0;
  const ActionInfo& info() const override { return info_; }
  // The committed status of a step run's latest attempt, "" when there is none. SQLite is read
  // through a read-only connection of its own (opening a store there would take write locks
  // the engine's commits then wait on); PostgreSQL through a store of its own.
  std::string committed_status(const std::string& execution, const std::string& path) const {
    if (location.rfind("postgresql://", 0) == 0) {
      auto other = store::open_store(location, false);
      std::string status;
      int attempt = 0;
      for (const auto& run : other->step_runs(execution))
        if (run.path == path && run.attempt >= attempt) {
          attempt = run.attempt;
          status = run.status;
        }
      return status;
    }
    sqlite3* db = nullptr;
    std::string status;
    if (sqlite3_open_v2(location.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT status FROM step_runs WHERE execution_id = ?1 AND path = ?2 ORDER BY attempt DESC",
                             -1, &s, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, execution.data(), static_cast<int>(execution.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, path.data(), static_cast<int>(path.size()), SQLITE_TRANSIENT);
        if (sqlite3_step(s) == SQLITE_ROW) status = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      }
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return status;
  }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    ++calls;
    const std::string path(ctx.step_path);
    if (committed_status(std::string(ctx.execution_id), path) != "running") not_durable.push_back(path + " (its start)");
    const std::string before = ctx.inputs.value("after", "");
    if (!before.empty() && committed_status(std::string(ctx.execution_id), before) != "succeeded")
      not_durable.push_back(path + " (the end of " + before + ")");
    // In flight for a moment, like a call to Okta: the other executions' commits then go to
    // the store's thread instead of being made in place.
    asio::steady_timer pause(ctx.executor, std::chrono::milliseconds(2));
    co_await pause.async_wait(asio::use_awaitable);
    co_return Json{{"ok", true}};
  }
};

// Passes everything through to another store, counting the commits asked without waiting
// for them (what the engine does while actions are in flight) and making each commit slow.
struct CommitCounter final : spokeflow::test::ForwardingStore {
  std::chrono::milliseconds commit_delay;
  int async_commits = 0;
  explicit CommitCounter(std::unique_ptr<store::ExecutionStore> s, std::chrono::milliseconds delay = {})
      : ForwardingStore(std::move(s)), commit_delay(delay) {}
  std::vector<std::string> flush() override {
    std::this_thread::sleep_for(commit_delay);
    return inner->flush();
  }
  void flush_async(std::function<void(store::CommitResult)> done) override {
    ++async_commits;
    inner->flush_async(std::move(done));
  }
};

// A step run as a process that stopped left it in the journal: started at `started`, and
// finished then too unless it is still "running".
inline store::StepRun journaled(const std::string& execution_id, const std::string& path, const std::string& kind,
                         const std::string& status, Json outputs = nullptr, std::int64_t started = now_unix_ms()) {
  store::StepRun r;
  r.execution_id = execution_id;
  r.path = path;
  r.kind = kind;
  r.status = status;
  r.outputs = std::move(outputs);
  r.started_at = started;
  if (status != "running") r.finished_at = started;
  return r;
}

// The store the engine tests run on: SQLite, or with SPOKEFLOW_TEST_ENGINE_STORE=postgresql a
// schema of its own in SPOKEFLOW_TEST_PG_URL's database (CTest runs each engine test both ways).
struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("spokeflow-engine-" + new_sortable_id());
  std::unique_ptr<PgBackend> pg = engine_tests_on_pg() ? std::make_unique<PgBackend>() : nullptr;
  // Where the store is: another connection to it is another process's view.
  std::string location = pg ? pg->location : (dir / "s.db").string();
  ActionRegistry registry;
  Counter* counter = nullptr;
  Pager* pager = nullptr;
  Witness* witness = nullptr;
  std::unique_ptr<store::ExecutionStore> store;
  Fixture() {
    fs::create_directories(dir);
    actions::register_core_actions(registry);
    auto c = std::make_unique<Counter>();
    counter = c.get();
    registry.add(std::move(c));
    auto p = std::make_unique<Pager>();
    pager = p.get();
    registry.add(std::move(p));
    auto w = std::make_unique<Witness>();
    w->location = location;
    witness = w.get();
    registry.add(std::move(w));
    store = store::on_own_thread(store::open_store(location));
  }
  ~Fixture() { fs::remove_all(dir); }

  flow::FlowPtr load(const std::string& text) {
    auto r = flow::load_flow_text(text, "test.yaml", registry);
    INFO(r.diagnostics.format());
    REQUIRE(r.ok());
    return r.flow;
  }

  // Runs `id` as a worker would: claims it (it must be runnable), then runs it.
  run::ExecutionOutcome run_id(const std::string& id, flow::FlowLibrary* lib = nullptr, run::EngineOptions opts = {},
                               store::ExecutionStore* st = nullptr) {
    if (!st) st = store.get();
    asio::io_context io;
    run::Engine engine(io.get_executor(), registry, *st, lib, std::move(opts));
    store::ClaimOptions o;
    o.worker = "test-worker";
    o.only_id = id;
    auto claims = st->claim(o, now_unix_ms());
    REQUIRE(claims.size() == 1);
    run::ExecutionOutcome out;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await engine.run(claims[0]); }, asio::detached);
    io.run();
    return out;
  }

  std::string create(flow::FlowPtr f, Json inputs = Json::object(), run::EngineOptions opts = {}) {
    asio::io_context io;
    run::Engine engine(io.get_executor(), registry, *store, nullptr, std::move(opts));
    auto checked = engine.check_inputs(*f, inputs, false);
    REQUIRE(checked.ok());
    auto rec = engine.new_execution(f, *checked, {{"type", "test"}});
    REQUIRE(rec.ok());
    return store->enqueue(*rec).id;
  }

  // Leaves `id` as a process that stopped while running it would: claimed, its lease lapsed.
  void crash(const std::string& id) {
    store::ClaimOptions o;
    o.worker = "gone";
    o.only_id = id;
    o.lease_ms = -1;
    REQUIRE(store->claim(o, now_unix_ms()).size() == 1);
  }

  run::ExecutionOutcome run_flow(const std::string& text, Json inputs = Json::object()) {
    auto f = load(text);
    return run_id(create(f, inputs));
  }
};

}  // namespace spokeflow::test
