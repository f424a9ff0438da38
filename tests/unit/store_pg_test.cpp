// What only the PostgreSQL store has to show: errors that name the store without its password,
// tables it refuses, uniqueness that holds across connections (as across processes), claims
// that skip an execution whose holder's transaction has it locked, and a connection lost in the
// middle of a batch (reported, then connected again).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "common/ids.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_schema.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"

using namespace spokeflow;
using test::PgBackend;

namespace {

store::ExecutionRecord make_exec(const std::string& flow = "f") {
  store::ExecutionRecord r;
  r.id = new_sortable_id();
  r.flow_name = flow;
  r.flow_file = "flows/" + flow + ".yaml";
  r.flow_source = "name: " + flow + "\n";
  r.flow_hash = "hash-" + flow;
  r.trigger = {{"type", "test"}};
  r.created_at = now_unix_ms();
  r.run_at = 1;
  return r;
}

store::StepRun step(const std::string& id, const std::string& path) {
  store::StepRun r;
  r.execution_id = id;
  r.path = path;
  r.kind = "core.noop";
  r.status = "succeeded";
  return r;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// `count` connections of their own each call `attempt` at once; how many said true.
int racing(const PgBackend& b, int count, const std::function<bool(store::ExecutionStore&, int)>& attempt) {
  std::vector<std::unique_ptr<store::ExecutionStore>> stores;
  for (int i = 0; i < count; ++i) stores.push_back(b.open());
  std::atomic<int> ready{0}, won{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < count) std::this_thread::yield();
      if (attempt(*stores[i], i)) ++won;
    });
  for (auto& t : threads) t.join();
  return won.load();
}

}  // namespace

TEST_CASE("a store that cannot be opened is named without its password, with the reason") {
  const std::string url = test::test_pg_url();
  CHECK(store::pg::redact_url("postgresql://ada:s3cret@db.example:5432/flows?sslmode=require") ==
        "postgresql://ada:***@db.example:5432/flows?sslmode=require");
  CHECK(store::pg::redact_url("postgres://db/x?user=ada&password=s3cret&sslmode=require") ==
        "postgres://db/x?user=ada&password=***&sslmode=require");
  CHECK(store::pg::redact_url("postgresql://ada@db/x") == "postgresql://ada@db/x");
  // The throwaway cluster's URL with its password changed: the server refuses it.
  const auto colon = url.find(':', url.find("://") + 3);
  const auto at = url.find('@');
  REQUIRE(colon < at);
  const std::string wrong = url.substr(0, colon + 1) + "not-the-password-XYZZY" + url.substr(at);
  std::string message = error_of([&] { store::open_pg_store(wrong); });
  CHECK(message.find("cannot open store") != std::string::npos);
  CHECK(message.find("password authentication failed") != std::string::npos);
  CHECK(message.find("XYZZY") == std::string::npos);
  CHECK(message.find(url.substr(colon + 1, at - colon - 1)) == std::string::npos);
  // Nobody listening.
  message = error_of([&] { store::open_pg_store("postgresql://ada:hunter2@127.0.0.1:1/none?connect_timeout=5"); });
  CHECK(message.find("cannot open store postgresql://ada:***@127.0.0.1:1/none") != std::string::npos);
  CHECK(message.find("hunter2") == std::string::npos);
  // open_store picks the store by the location's form.
  PgBackend b;
  CHECK_NOTHROW(store::open_store(b.location));
}

TEST_CASE("tables that are not a spokeflow store's, or a newer spokeflow's, are refused") {
  PgBackend b;
  {
    store::pg::Conn admin(b.location);
    admin.exec("CREATE TABLE executions(id INTEGER)");
  }
  CHECK(error_of([&] { b.open(); }).find("not a spokeflow store") != std::string::npos);
  PgBackend newer;
  newer.open();  // creates the tables
  {
    store::pg::Conn admin(newer.location);
    admin.exec("UPDATE spokeflow_meta SET value = '99' WHERE key = 'schema_version'");
  }
  CHECK(error_of([&] { newer.open(); }).find("newer spokeflow (schema 99") != std::string::npos);
}

TEST_CASE("stores opened at once on a new database create its tables once") {
  PgBackend b;
  CHECK(racing(b, 6, [](store::ExecutionStore& s, int) { return s.list_executions({}).empty(); }) == 6);
}

TEST_CASE("across connections: a schedule fire, a delivery, a token name and a dedupe key are taken once") {
  PgBackend b;
  CHECK(racing(b, 8, [](store::ExecutionStore& s, int i) {
          store::ScheduleFire f;
          f.flow = "nightly";
          f.trigger = "0|0 2 * * *|UTC";
          f.scheduled_at = 1'700'000'000'000;
          f.recorded_at = now_unix_ms();
          f.outcome = "enqueued";
          f.execution_id = "exec-" + std::to_string(i);
          return s.record_fire(f);
        }) == 1);
  CHECK(racing(b, 8, [](store::ExecutionStore& s, int i) {
          store::HookDelivery d;
          d.event_id = "evt-1";
          d.hook = "hook-" + std::to_string(i);
          d.received_at = now_unix_ms();
          return s.record_delivery(d);
        }) == 1);
  CHECK(racing(b, 8, [](store::ExecutionStore& s, int i) {
          store::ApiToken t;
          t.name = "ci";
          t.role = "operator";
          t.hash = "hash-" + std::to_string(i);
          t.created_at = now_unix_ms();
          return s.add_token(t);
        }) == 1);
  std::mutex mu;
  std::set<std::string> ids;
  CHECK(racing(b, 8, [&](store::ExecutionStore& s, int) {
          auto r = make_exec();
          r.dedupe_key = "okta-event:uuid-1";
          auto got = s.enqueue(r);
          std::lock_guard lock(mu);
          ids.insert(got.id);
          return got.created;
        }) == 1);
  CHECK(ids.size() == 1);  // the others got the first one's id
  auto st = b.open();
  CHECK(st->list_executions({}).size() == 1);
  CHECK(st->recent_fires("", 10).size() == 1);
}

TEST_CASE("a claim skips an execution whose holder is writing under its lease, and takes it after") {
  PgBackend b;
  auto holder = b.open();
  auto other = b.open();
  auto r = make_exec();
  holder->enqueue(r);
  const std::int64_t t0 = now_unix_ms();
  store::ClaimOptions o;
  o.worker = "holder";
  o.lease_ms = 1'000;
  auto mine = holder->claim(o, t0);
  REQUIRE(mine.size() == 1);
  const store::Fence fence{r.id, mine[0].epoch};
  // The holder's batch is open, its fence checked: the root stays locked until it commits.
  holder->record_step(step(r.id, "a"), fence, store::Durability::batched);
  REQUIRE(holder->has_batched());
  o.worker = "other";
  CHECK(other->claim(o, t0 + 5'000).empty());  // lease expired, but locked: skipped, not waited for
  CHECK(holder->flush().empty());              // the holder's write was under a lease it held
  auto taken = other->claim(o, t0 + 5'000);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].epoch == fence.epoch + 1);
  // The old holder is fenced off from now on.
  CHECK_THROWS_AS(holder->record_step(step(r.id, "b"), fence, store::Durability::now), store::LeaseLost);
  REQUIRE(other->step_runs(r.id).size() == 1);
}

TEST_CASE("a connection lost in the middle of a batch: the batch is reported lost, then the store connects again") {
  PgBackend b;
  // Only this store's connections are ended (other tests may use the server at the same time).
  const std::string app = "lost_" + b.schema;
  auto st = store::open_pg_store(b.location + "&application_name=" + app);
  auto admin = b.open();
  auto parent = make_exec("parent");
  st->enqueue(parent);
  st->record_step(step(parent.id, "a"), {}, store::Durability::batched);
  st->record_step(step(parent.id, "b"), {}, store::Durability::batched);
  {
    // Another session ends this store's connection, as a server restart would.
    store::pg::Conn killer(b.location);
    killer.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND state = 'idle in transaction' AND application_name = '" + app + "'");
  }
  CHECK_THROWS_AS(st->record_step(step(parent.id, "c"), {}, store::Durability::batched), std::runtime_error);
  CHECK(st->has_batched());
  CHECK_THROWS_WITH_AS(st->flush(), doctest::Contains("rolled back"), std::runtime_error);
  CHECK_FALSE(st->has_batched());
  CHECK(st->flush().empty());
  // Connected again: writes go on.
  st->record_step(step(parent.id, "d"), {}, store::Durability::now);
  auto runs = admin->step_runs(parent.id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].path == "d");
  // A read after the connection went away is simply made again.
  {
    store::pg::Conn killer(b.location);
    killer.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND application_name = '" + app + "'");
  }
  CHECK(st->get_execution(parent.id));
  CHECK(st->step_runs(parent.id).size() == 1);
}

TEST_CASE("work queued or made runnable by another process wakes a store's worker: LISTEN/NOTIFY") {
  PgBackend b;
  PgBackend elsewhere;  // another store in the same database: its own channel
  auto mine = store::on_own_thread(b.open());
  auto other = b.open();
  auto unrelated = elsewhere.open();
  std::atomic<int> wakes{0};
  mine->on_runnable([&wakes] { ++wakes; });
  auto wait_for_wake = [&](int n) {
    for (int i = 0; i < 1'000 && wakes.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return wakes.load() >= n;
  };
  // Listening begins with one call (what was notified before it is looked for).
  REQUIRE(wait_for_wake(1));
  unrelated->enqueue(make_exec());
  auto r = make_exec();
  other->enqueue(r);
  REQUIRE(wait_for_wake(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int before = wakes.load();
  CHECK(before == 2);  // the other store's enqueue did not count
  store::ClaimOptions o;
  o.worker = "w";
  auto c = other->claim(o, now_unix_ms());
  REQUIRE(c.size() == 1);
  CHECK(other->release({r.id, c[0].epoch}, now_unix_ms() + 60'000, true));  // parked: runnable later
  CHECK(wait_for_wake(before + 1));
  mine->on_runnable(nullptr);
  const int stopped_at = wakes.load();
  other->enqueue(make_exec());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(wakes.load() == stopped_at);
}

TEST_CASE("store migrate on PostgreSQL: a new store is created, a current one left as it is") {
  PgBackend b;
  auto change = store::migrate_store(b.location);
  CHECK(change.from == 0);
  CHECK(change.to == store::pg::kSchemaVersion);
  change = store::migrate_store(b.location);
  CHECK(change.from == store::pg::kSchemaVersion);
  CHECK(change.to == store::pg::kSchemaVersion);
  CHECK_NOTHROW(store::open_pg_store(b.location, false));
  PgBackend fresh;
  CHECK_NOTHROW(store::open_pg_store(fresh.location, false));  // nothing to migrate: created
}

TEST_CASE("a PostgreSQL store of schema 1 is refused until migrated; migrating adds retention's indexes, the rate budget, "
          "the step runs' client column, the tokens' last use, the deliveries' redelivery count and the sessions table") {
  PgBackend b;
  {
    auto st = store::open_pg_store(b.location);
    st->enqueue(make_exec());
  }
  store::pg::Conn admin(b.location);
  // As schema 1 made it: without schema 2's two indexes, schema 3's rate_budget, schema 4's and 5's columns.
  admin.exec("DROP INDEX executions_by_flow_hash; DROP INDEX schedule_fires_by_execution; DROP TABLE rate_budget; "
             "ALTER TABLE step_runs DROP COLUMN client; "
             "ALTER TABLE hook_deliveries DROP COLUMN redeliveries, DROP COLUMN last_redelivered_at; DROP TABLE ui_sessions; "
             "ALTER TABLE api_tokens DROP COLUMN last_used_at; "
             "INSERT INTO hook_deliveries(event_id, hook, received_at, events, started) VALUES('evt-old', 'okta', 5, 1, '[]'); "
             "UPDATE spokeflow_meta SET value = '1' WHERE key = 'schema_version'");
  CHECK_THROWS_WITH(store::open_pg_store(b.location, false), doctest::Contains("run `spokeflow store migrate` first"));
  auto change = store::migrate_store(b.location);
  CHECK(change.from == 1);
  CHECK(change.to == 5);
  CHECK(admin.exec("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN "
                   "('executions_by_flow_hash', 'schedule_fires_by_execution')")
            .integer(0, 0) == 2);
  CHECK(admin.exec("SELECT count(*) FROM rate_budget").integer(0, 0) == 0);
  auto st = store::open_pg_store(b.location, false);
  CHECK(st->list_executions({}).size() == 1);
  const auto id = st->list_executions({})[0].id;
  store::StepRun run;
  run.execution_id = id;
  run.path = "a";
  run.kind = "okta.get_user";
  run.status = "succeeded";
  run.client = {{"retries", 1}, {"retry_wait_ms", 200}};
  st->record_step(run, {});
  auto runs = st->step_runs(id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].client["retries"] == 1);
  // A delivery recorded before schema 5 reads as never redelivered, and counts from there.
  CHECK(st->delivery("evt-old")->redeliveries == 0);
  CHECK(st->record_redelivery("evt-old", 9));
  CHECK(st->delivery("evt-old")->redeliveries == 1);
  CHECK(st->delivery("evt-old")->last_redelivered_at == 9);
  st->add_ui_session({"s", "t", 1, 2}, 10);
  CHECK(st->ui_session("s"));
  REQUIRE(st->add_token({"t5", "viewer", "h5", 1, 0, 0}));
  st->note_token_used("t5", 42);
  CHECK(st->token_by_hash("h5")->last_used_at == 42);
}
