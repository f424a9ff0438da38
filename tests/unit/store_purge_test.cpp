// Retention in both stores (SQLite and PostgreSQL, parametrized as store_test is): which
// executions a purge deletes, that it never touches unfinished ones or a subflow's execution
// without its parent, and that it leaves no row pointing at what it deleted (checked with SQL
// over every table).
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <map>
#include <thread>
#include <type_traits>

#include "common/ids.hpp"
#include "store/pg_conn.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"
#include "test_util.hpp"

using namespace spokeflow;

namespace {

constexpr std::int64_t kDay = 86'400'000;

template <class B>
struct Fixture {
  static constexpr bool pg = std::is_same_v<B, test::PgBackend>;
  B backend;
  std::unique_ptr<store::ExecutionStore> st = backend.open();
  std::int64_t now = now_unix_ms();

  // A top-level execution of `flow`, ended with `status` at `finished_at` (or left in an
  // unfinished status), with two step runs.
  std::string add(const std::string& flow, const std::string& status, std::int64_t finished_at,
                  const std::string& parent = {}) {
    store::ExecutionRecord r;
    r.id = new_sortable_id();
    r.flow_name = flow;
    r.flow_file = "flows/" + flow + ".yaml";
    r.flow_source = "name: " + flow + "\n";
    r.flow_hash = "hash-" + flow;
    r.trigger = {{"type", parent.empty() ? "cli" : "subflow"}};
    r.created_at = finished_at - 1000;
    r.parent_id = parent;
    if (!parent.empty()) r.parent_step = "sub-" + r.id;
    r.status = "running";
    r.started_at = r.created_at;
    if (!parent.empty()) {
      // The parent's journal names the child before the child's record exists (as the engine does).
      store::StepRun run;
      run.execution_id = parent;
      run.path = r.parent_step;
      run.kind = "flow";
      run.status = "succeeded";
      run.inputs = {{"flow", flow}, {"execution_id", r.id}};
      st->record_step(run, {});
    }
    st->create_execution(r, {});
    for (const char* path : {"a", "b"}) {
      store::StepRun run;
      run.execution_id = r.id;
      run.path = path;
      run.kind = "core.noop";
      run.status = "succeeded";
      run.inputs = {{"x", 1}};
      run.started_at = r.created_at;
      run.finished_at = r.created_at + 1;
      st->record_step(run, {});
    }
    if (status == "queued" || status == "waiting") {
      sql("UPDATE executions SET status = '" + status + "', run_at = " + std::to_string(now + kDay) + " WHERE id = '" +
          r.id + "'");
    } else if (status != "running") {
      st->finish_execution(r.id, status, Json::object(), nullptr, finished_at, {});
    }
    return r.id;
  }

  std::int64_t count(const std::string& query) {
    if constexpr (pg) {
      store::pg::Conn c(backend.location);
      return c.exec(query).integer(0, 0);
    } else {
      sqlite3* raw = nullptr;
      REQUIRE(sqlite3_open(backend.location.c_str(), &raw) == SQLITE_OK);
      sqlite3_stmt* s = nullptr;
      REQUIRE(sqlite3_prepare_v2(raw, query.c_str(), -1, &s, nullptr) == SQLITE_OK);
      REQUIRE(sqlite3_step(s) == SQLITE_ROW);
      const std::int64_t n = sqlite3_column_int64(s, 0);
      sqlite3_finalize(s);
      sqlite3_close(raw);
      return n;
    }
  }
  void sql(const std::string& text) {
    if constexpr (pg) {
      store::pg::Conn c(backend.location);
      c.exec(text);
    } else {
      sqlite3* raw = nullptr;
      REQUIRE(sqlite3_open(backend.location.c_str(), &raw) == SQLITE_OK);
      sqlite3_busy_timeout(raw, 5000);
      char* err = nullptr;
      const int rc = sqlite3_exec(raw, text.c_str(), nullptr, nullptr, &err);
      INFO((err ? err : ""));
      sqlite3_free(err);
      sqlite3_close(raw);
      REQUIRE(rc == SQLITE_OK);
    }
  }
  bool exists(const std::string& id) { return st->get_execution(id).has_value(); }

  // Every purge batch until none is left; the total.
  store::PurgeResult purge_all(const store::PurgeFilter& f, int batch = 100) {
    store::PurgeResult total;
    store::PurgeFilter g = f;
    for (int i = 0; i < 10'000; ++i) {
      auto r = st->purge_executions(g, batch);
      g.after = r.next;
      total.executions += r.executions;
      total.top_level += r.top_level;
      if (!r.more) return total;
    }
    FAIL("purge never ended");
    return total;
  }

  // Rows that point at something that is not there, in every table that points.
  void check_no_orphans() {
    CHECK(count("SELECT count(*) FROM step_runs WHERE execution_id NOT IN (SELECT id FROM executions)") == 0);
    CHECK(count("SELECT count(*) FROM executions WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM executions)") == 0);
    CHECK(count("SELECT count(*) FROM flow_sources WHERE hash NOT IN (SELECT flow_hash FROM executions)") == 0);
    CHECK(count("SELECT count(*) FROM executions WHERE flow_hash NOT IN (SELECT hash FROM flow_sources)") == 0);
    CHECK(count("SELECT count(*) FROM schedule_fires WHERE execution_id IS NOT NULL AND "
                "execution_id NOT IN (SELECT id FROM executions)") == 0);
    if constexpr (pg) {
      // (Foreign keys are checked by the server as rows are written.)
      CHECK(count("SELECT count(*) FROM hook_deliveries d, json_array_elements(d.started::json) j WHERE "
                  "j.value ->> 'execution' NOT IN (SELECT id FROM executions)") == 0);
    } else {
      CHECK(count("SELECT count(*) FROM hook_deliveries d, json_each(d.started) j WHERE "
                  "json_extract(j.value, '$.execution') NOT IN (SELECT id FROM executions)") == 0);
      CHECK(count("SELECT count(*) FROM pragma_foreign_key_check") == 0);
    }
  }
};

}  // namespace

TEST_CASE_TEMPLATE("a purge by age deletes finished executions older than the bound, with their step runs", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  const auto old_ok = fx.add("a", "succeeded", fx.now - 40 * kDay);
  const auto old_failed = fx.add("a", "failed", fx.now - 35 * kDay);
  const auto old_cancelled = fx.add("b", "cancelled", fx.now - 31 * kDay);
  const auto recent = fx.add("a", "succeeded", fx.now - 2 * kDay);
  store::PurgeFilter f;
  f.finished_before = fx.now - 30 * kDay;
  auto r = fx.purge_all(f);
  CHECK(r.top_level == 3);
  CHECK(r.executions == 3);
  CHECK_FALSE(fx.exists(old_ok));
  CHECK_FALSE(fx.exists(old_failed));
  CHECK_FALSE(fx.exists(old_cancelled));
  CHECK(fx.exists(recent));
  CHECK(fx.st->step_runs(recent).size() == 2);
  CHECK(fx.count("SELECT count(*) FROM step_runs") == 2);
  CHECK(fx.count("SELECT count(*) FROM flow_sources") == 1);  // b's source went with its last execution
  fx.check_no_orphans();
  // Again: nothing left to delete.
  CHECK(fx.purge_all(f).executions == 0);
}

TEST_CASE_TEMPLATE("queued, waiting and running executions are never purged, however old", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  const auto queued = fx.add("a", "queued", fx.now - 90 * kDay);
  const auto waiting = fx.add("a", "waiting", fx.now - 90 * kDay);
  const auto running = fx.add("a", "running", fx.now - 90 * kDay);
  const auto done = fx.add("a", "succeeded", fx.now - 90 * kDay);
  store::PurgeFilter f;
  f.finished_before = fx.now + kDay;
  CHECK(fx.purge_all(f).executions == 1);
  CHECK(fx.exists(queued));
  CHECK(fx.exists(waiting));
  CHECK(fx.exists(running));
  CHECK_FALSE(fx.exists(done));
  // Without any bound at all, the same.
  fx.add("a", "failed", fx.now - kDay);
  CHECK(fx.purge_all({}).executions == 1);
  CHECK(fx.count("SELECT count(*) FROM executions") == 3);
  CHECK(fx.count("SELECT count(*) FROM step_runs") == 6);
  fx.check_no_orphans();
}

TEST_CASE_TEMPLATE("filters: flow, status, and keep_last per flow", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  std::map<std::string, std::vector<std::string>> ids;  // flow -> ids, oldest first
  for (int i = 0; i < 5; ++i) {
    ids["a"].push_back(fx.add("a", i % 2 ? "failed" : "succeeded", fx.now - (50 - i) * kDay));
    ids["b"].push_back(fx.add("b", "succeeded", fx.now - (50 - i) * kDay));
  }
  SUBCASE("flow") {
    store::PurgeFilter f;
    f.flow = "b";
    CHECK(fx.purge_all(f).top_level == 5);
    CHECK(fx.count("SELECT count(*) FROM executions WHERE flow_name = 'a'") == 5);
    CHECK(fx.count("SELECT count(*) FROM executions WHERE flow_name = 'b'") == 0);
  }
  SUBCASE("except flows") {
    store::PurgeFilter f;
    f.except_flows = {"a", "zzz"};
    CHECK(fx.purge_all(f).top_level == 5);
    CHECK(fx.count("SELECT count(*) FROM executions WHERE flow_name = 'a'") == 5);
    f.keep_last = 1;
    f.except_flows = {"b"};
    CHECK(fx.purge_all(f).top_level == 4);
    CHECK(fx.count("SELECT count(*) FROM executions") == 1);
  }
  SUBCASE("status") {
    store::PurgeFilter f;
    f.status = "failed";
    CHECK(fx.purge_all(f).top_level == 2);
    CHECK(fx.count("SELECT count(*) FROM executions WHERE status = 'failed'") == 0);
    CHECK(fx.count("SELECT count(*) FROM executions") == 8);
  }
  SUBCASE("keep_last per flow") {
    store::PurgeFilter f;
    f.keep_last = 2;
    CHECK(fx.purge_all(f, 1).top_level == 6);  // batches of one: every batch is its own call
    for (const auto& [flow, list] : ids) {
      CAPTURE(flow);
      CHECK_FALSE(fx.exists(list[2]));
      CHECK(fx.exists(list[3]));
      CHECK(fx.exists(list[4]));
    }
  }
  SUBCASE("keep_last with an age: the newest are kept even when old") {
    store::PurgeFilter f;
    f.keep_last = 4;
    f.finished_before = fx.now - 47 * kDay;  // the three oldest of each flow are that old
    CHECK(fx.purge_all(f).top_level == 2);   // one per flow: the other two old ones are among the newest 4
    CHECK_FALSE(fx.exists(ids["a"][0]));
    CHECK(fx.exists(ids["a"][1]));
  }
  SUBCASE("keep_last with a status counts only that status") {
    store::PurgeFilter f;
    f.keep_last = 1;
    f.status = "succeeded";
    f.flow = "a";
    CHECK(fx.purge_all(f).top_level == 2);  // a's succeeded are 0, 2, 4: 4 is kept
    CHECK_FALSE(fx.exists(ids["a"][0]));
    CHECK(fx.exists(ids["a"][1]));  // failed
    CHECK_FALSE(fx.exists(ids["a"][2]));
    CHECK(fx.exists(ids["a"][4]));
  }
  fx.check_no_orphans();
}

TEST_CASE_TEMPLATE("a subflow's execution goes only with its top-level one, at every depth", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  const std::int64_t at = fx.now - 40 * kDay;
  const auto parent = fx.add("p", "succeeded", at);
  const auto child = fx.add("c", "succeeded", at - 10, parent);
  const auto grandchild = fx.add("g", "succeeded", at - 20, child);
  // A finished child whose parent still runs: untouched, and so is the parent.
  const auto running_parent = fx.add("p", "running", at);
  const auto finished_child = fx.add("c", "succeeded", at - 10, running_parent);
  store::PurgeFilter f;
  f.finished_before = fx.now - 30 * kDay;
  SUBCASE("by flow of the child: nothing") {
    f.flow = "c";
    CHECK(fx.purge_all(f).executions == 0);
    CHECK(fx.exists(child));
  }
  SUBCASE("everything old") {
    auto r = fx.purge_all(f);
    CHECK(r.top_level == 1);
    CHECK(r.executions == 3);
    CHECK_FALSE(fx.exists(parent));
    CHECK_FALSE(fx.exists(child));
    CHECK_FALSE(fx.exists(grandchild));
    CHECK(fx.exists(running_parent));
    CHECK(fx.exists(finished_child));
    CHECK(fx.count("SELECT count(*) FROM step_runs") == 5);  // the running parent's two, its journal of the child, the child's two
    CHECK(fx.count("SELECT count(*) FROM flow_sources") == 2);  // p and c are used still; g is gone
  }
  fx.check_no_orphans();
}

TEST_CASE_TEMPLATE("schedule fires and hook deliveries of purged executions", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  const std::int64_t old_at = fx.now - 40 * kDay;
  const auto e1 = fx.add("s", "succeeded", old_at);
  const auto e2 = fx.add("s", "succeeded", old_at + 1000);
  const auto live = fx.add("s", "succeeded", fx.now);
  fx.st->record_fire({"s", "0|@daily|UTC", old_at - 5000, old_at - 5000, "enqueued", e1, 0});
  fx.st->record_fire({"s", "0|@daily|UTC", old_at - 4000, old_at - 4000, "enqueued", e2, 0});
  fx.st->record_fire({"s", "1|@hourly|UTC", old_at - 3000, old_at - 3000, "enqueued", e1, 0});
  fx.st->record_fire({"s", "1|@hourly|UTC", old_at - 2000, old_at - 2000, "skipped_overlap", "", 0});
  store::HookDelivery gone{"evt-old", "okta", old_at, 1, Json::array({{{"event", "u1"}, {"flow", "s"}, {"execution", e1}}})};
  store::HookDelivery none{"evt-none", "okta", old_at, 1, Json::array()};
  store::HookDelivery kept{"evt-live", "okta", old_at, 1, Json::array({{{"event", "u2"}, {"flow", "s"}, {"execution", live}}})};
  store::HookDelivery recent{"evt-new", "okta", fx.now, 1, Json::array()};
  for (auto& d : {gone, none, kept, recent}) REQUIRE(fx.st->record_delivery(d));

  store::PurgeFilter f;
  f.finished_before = fx.now - 30 * kDay;
  CHECK(fx.purge_all(f).executions == 2);
  // Each trigger keeps its latest fire (the scheduler counts its next fires from it); the
  // latest enqueued one of @daily names no execution now; e1's older @hourly fire is gone.
  auto daily = fx.st->last_fire("s", "0|@daily|UTC", false);
  REQUIRE(daily);
  CHECK(daily->scheduled_at == old_at - 4000);
  CHECK(daily->execution_id.empty());
  CHECK(fx.count("SELECT count(*) FROM schedule_fires WHERE trigger = '0|@daily|UTC'") == 1);
  auto hourly = fx.st->last_fire("s", "1|@hourly|UTC", false);
  REQUIRE(hourly);
  CHECK(hourly->outcome == "skipped_overlap");
  CHECK_FALSE(fx.st->last_fire("s", "1|@hourly|UTC", true));
  // Deliveries older than the bound whose executions are gone (or that started none) go.
  CHECK_FALSE(fx.st->delivery("evt-old"));
  CHECK_FALSE(fx.st->delivery("evt-none"));
  CHECK(fx.st->delivery("evt-live"));
  CHECK(fx.st->delivery("evt-new"));
  fx.check_no_orphans();
}

TEST_CASE_TEMPLATE("a purge in small batches says when there is more; another process's new execution of a purged source still goes in", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  for (int i = 0; i < 7; ++i) fx.add("a", "succeeded", fx.now - 40 * kDay + i);
  store::PurgeFilter f;
  f.finished_before = fx.now - 30 * kDay;
  auto r1 = fx.st->purge_executions(f, 3);
  CHECK(r1.top_level == 3);
  CHECK(r1.more);
  auto r2 = fx.st->purge_executions(f, 3);
  CHECK(r2.more);
  auto r3 = fx.st->purge_executions(f, 3);
  CHECK(r3.top_level == 1);
  CHECK_FALSE(r3.more);
  CHECK(fx.count("SELECT count(*) FROM flow_sources") == 0);

  // A second handle (another process) wrote flow a before and so knows its source exists.
  auto other = fx.backend.open();
  store::ExecutionRecord r;
  r.id = new_sortable_id();
  r.flow_name = "a";
  r.flow_file = "flows/a.yaml";
  r.flow_source = "name: a\n";
  r.flow_hash = "hash-a";
  r.created_at = fx.now;
  other->enqueue(r);
  fx.add("a", "succeeded", fx.now - 40 * kDay);
  CHECK(fx.purge_all(f).executions == 1);
  CHECK(fx.count("SELECT count(*) FROM flow_sources") == 1);  // r still uses it
  fx.purge_all({});
  CHECK(fx.count("SELECT count(*) FROM flow_sources") == 1);
  r.id = new_sortable_id();
  fx.sql("DELETE FROM executions; DELETE FROM flow_sources;");
  // `other` still believes hash-a is stored: its insert must put the source back.
  CHECK(other->enqueue(r).created);
  CHECK(other->get_execution(r.id)->flow_source == "name: a\n");
  fx.check_no_orphans();
}

TEST_CASE_TEMPLATE("running executions keep going while a purge runs beside them", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  for (int i = 0; i < 400; ++i) fx.add("old", "succeeded", fx.now - 40 * kDay + i);
  const auto running = fx.add("live", "running", fx.now);
  std::atomic<bool> done{false};
  std::atomic<int> steps{0};
  // Another process writing step runs of its running execution the whole time.
  std::thread writer([&] {
    auto other = fx.backend.open();
    for (int i = 0; !done || i < 20; ++i) {
      store::StepRun run;
      run.execution_id = running;
      run.path = "loop[" + std::to_string(i) + "]";
      run.kind = "core.noop";
      run.status = "succeeded";
      other->record_step(run, {});
      ++steps;
    }
  });
  store::PurgeFilter f;
  f.finished_before = fx.now - 30 * kDay;
  auto r = fx.purge_all(f, 10);
  done = true;
  writer.join();
  CHECK(r.top_level == 400);
  CHECK(fx.exists(running));
  CHECK(fx.st->get_execution(running)->status == "running");
  CHECK(static_cast<int>(fx.st->step_runs(running).size()) == steps.load() + 2);
  fx.check_no_orphans();
}

TEST_CASE_TEMPLATE("a batch reads a bounded slice: where little matches, a pass is many short batches, with a cursor", B, test::SqliteBackend, test::PgBackend) {
  Fixture<B> fx;
  const auto first = fx.add("a", "failed", fx.now - 40 * kDay);
  // 2,500 copies of a failed execution, then 5 succeeded ones: all old.
  const std::string number = fx.pg ? "lpad(i::text, 16, '0')" : "printf('%016d', i)";
  fx.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
         "INSERT INTO executions(id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, finished_at) "
         "SELECT '" + first.substr(0, 10) + "' || " + number + ", flow_name, flow_file, flow_hash, inputs, status, "
         "trigger, created_at, finished_at FROM executions, n WHERE id = '" + first + "'");
  std::vector<std::string> wanted;
  for (int i = 0; i < 5; ++i) wanted.push_back(fx.add("a", "succeeded", fx.now - 40 * kDay));
  store::PurgeFilter f;
  f.finished_before = fx.now - 30 * kDay;
  f.status = "succeeded";
  auto r = fx.st->purge_executions(f, 10);
  CHECK(r.executions == 0);  // its slice held none
  CHECK(r.more);
  CHECK_FALSE(r.next.empty());
  CHECK(fx.purge_all(f, 10).top_level == 5);
  for (const auto& id : wanted) CHECK_FALSE(fx.exists(id));
  CHECK(fx.count("SELECT count(*) FROM executions") == 2501);
  fx.check_no_orphans();
}
