// `store copy` (SQLite -> PostgreSQL): every table and column of both schemas is one copy moves;
// rows arrive byte for byte; a target with records, a source of an older schema or with live
// leases are refused with nothing written; a failure part-way leaves the target as it was.
// Needs SPOKEFLOW_TEST_PG_URL (fails without it, never skips).
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "common/ids.hpp"
#include "store/pg_conn.hpp"
#include "store/store.hpp"
#include "store/store_copy.hpp"
#include "store_backends.hpp"
#include "test_util.hpp"

using namespace spokeflow;

namespace {

using Rows = std::vector<std::vector<std::optional<std::string>>>;

std::string columns_of(const store::CopiedTable& t) {
  std::string out;
  for (const char* c : t.columns) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

struct Sqlite {
  sqlite3* db = nullptr;
  explicit Sqlite(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  ~Sqlite() { sqlite3_close(db); }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;
  Rows rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK, sqlite3_errmsg(db));
    Rows out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      auto& row = out.emplace_back();
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        if (sqlite3_column_type(s, i) == SQLITE_NULL) row.emplace_back();
        else row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, i)),
                                          static_cast<std::size_t>(sqlite3_column_bytes(s, i))));
      }
    }
    sqlite3_finalize(s);
    return out;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    REQUIRE(rc == SQLITE_OK);
  }
};

Rows pg_rows(const std::string& url, const std::string& sql) {
  store::pg::Conn c(url);
  auto r = c.exec(sql);
  Rows out;
  for (int i = 0; i < r.rows(); ++i) {
    auto& row = out.emplace_back();
    for (int j = 0; j < r.columns(); ++j) {
      if (r.is_null(i, j)) row.emplace_back();
      else row.emplace_back(r.text(i, j));
    }
  }
  return out;
}

std::int64_t pg_count(const std::string& url, const std::string& table) {
  store::pg::Conn c(url);
  return c.exec("SELECT count(*) FROM " + table).integer(0, 0);
}

bool pg_has_tables(const std::string& url) {
  store::pg::Conn c(url);
  return c.exec("SELECT to_regclass('executions') IS NOT NULL").text(0, 0) == "t";
}

store::ExecutionRecord make_exec(const std::string& flow, std::int64_t created, const std::string& parent = {}) {
  store::ExecutionRecord r;
  r.id = new_sortable_id();
  r.flow_name = flow;
  r.flow_file = "flows/" + flow + ".yaml";
  r.flow_source = "name: " + flow + "\nsteps:\n\t- x: \"a\\\\b\"\n";  // a tab, a backslash, newlines
  r.flow_hash = "hash-" + flow;
  // A sealed value as the engine keeps one, beside text COPY must escape and non-ASCII text.
  r.inputs = {{"login", "ad\u00e9@example.com\t\u2014 \U0001F600"},
              {"password", {{"$redacted", true}, {"$sealed", "v1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj"}}},
              {"note", "line1\nline2\r\\end"}};
  r.trigger = {{"type", parent.empty() ? "cli" : "subflow"}};
  r.created_at = created;
  r.run_at = created;
  r.parent_id = parent;
  if (!parent.empty()) r.parent_step = "sub";
  return r;
}

store::StepRun step(const std::string& exec, const std::string& path, const std::string& status, std::int64_t at) {
  store::StepRun s;
  s.execution_id = exec;
  s.path = path;
  s.kind = "okta.create_user";
  s.status = status;
  s.inputs = {{"profile", {{"login", "x\ty@example.com"}}}};
  if (status == "succeeded") s.outputs = {{"id", "00u" + path}};
  if (status == "failed") s.error = {{"kind", "action"}, {"message", "E0000001: \"api validation\"\n"}};
  s.started_at = at;
  if (status != "running") s.finished_at = at + 7;
  return s;
}

// A store holding a row in every table and every kind of execution; returns the ids by role.
std::map<std::string, std::string> fill(const std::string& path, std::int64_t now) {
  auto st = store::open_sqlite_store(path);
  std::map<std::string, std::string> ids;
  auto done = make_exec("onboard", now - 5000);
  st->enqueue(done);
  ids["succeeded"] = done.id;
  auto failed = make_exec("onboard", now - 4000);
  failed.dedupe_key = "idem-key-1";
  st->enqueue(failed);
  ids["failed"] = failed.id;
  auto queued = make_exec("offboard", now + 60'000);
  queued.dedupe_key = "okta-event-uuid-7";
  st->enqueue(queued);
  ids["queued"] = queued.id;
  auto waiting = make_exec("offboard", now - 3000);
  st->enqueue(waiting);
  ids["waiting"] = waiting.id;
  auto running = make_exec("onboard", now - 2000);
  st->enqueue(running);
  ids["running"] = running.id;

  store::ClaimOptions o;
  o.worker = "host-a:1";
  o.limit = 10;
  o.lease_ms = 1000;
  // Claimed long ago: the leases have all expired by `now`.
  auto claims = st->claim(o, now - 1000);
  REQUIRE(claims.size() == 4);
  st->record_step(step(done.id, "create", "succeeded", now - 900), {done.id, 1});
  auto child = make_exec("child", now - 890, done.id);
  child.status = "running";
  store::StepRun journal = step(done.id, "sub", "succeeded", now - 890);
  journal.inputs = {{"flow", "child"}, {"execution_id", child.id}};
  st->record_step(journal, {done.id, 1});
  st->create_execution(child, {done.id, 1});
  ids["child"] = child.id;
  st->record_step(step(child.id, "inner", "succeeded", now - 880), {done.id, 1});
  st->finish_execution(child.id, "succeeded", Json{{"ok", 1}}, nullptr, now - 870, {done.id, 1});
  st->finish_execution(done.id, "succeeded", Json{{"user_id", "00u1"}}, nullptr, now - 860, {done.id, 1});
  auto f1 = step(failed.id, "create", "failed", now - 850);
  f1.attempt = 1;
  st->record_step(f1, {failed.id, 1});
  auto f2 = f1;
  f2.attempt = 2;
  st->record_step(f2, {failed.id, 1});
  st->finish_execution(failed.id, "failed", nullptr, Json{{"kind", "action"}, {"message", "no"}}, now - 840, {failed.id, 1});
  REQUIRE(st->release({waiting.id, 1}, now + 3'600'000, true));
  st->record_step(step(running.id, "create", "succeeded", now - 830), {running.id, 1});
  st->record_step(step(running.id, "activate", "running", now - 820), {running.id, 1});

  REQUIRE(st->add_token({"ops-admin", "admin", std::string(64, 'a'), now - 10'000, 0, 0}));
  REQUIRE(st->add_token({"viewer", "viewer", std::string(64, 'b'), now - 9000, now + 86'400'000, 0}));
  REQUIRE(st->revoke_token("viewer", now - 100));
  st->note_token_used("ops-admin", now - 50);
  REQUIRE(st->record_delivery({"evt-1", "okta", now - 700, 2,
                               Json::array({{{"event", "u-1"}, {"flow", "offboard"}, {"execution", queued.id}, {"created", true}}})}));
  REQUIRE(st->record_redelivery("evt-1", now - 650));
  st->add_ui_session({std::string(64, 'c'), std::string(64, 'a'), now - 500, now + 3'600'000}, 100);
  REQUIRE(st->record_fire({"onboard", "0|@daily|UTC", now - 6000, now - 5999, "enqueued", done.id, 0}));
  REQUIRE(st->record_fire({"onboard", "0|@daily|UTC", now - 1000, now - 999, "missed", "", 3}));
  return ids;
}

void check_same_rows(const std::string& sqlite_path, const std::string& url, const std::set<std::string>& released) {
  Sqlite src(sqlite_path);
  for (const auto& t : store::copied_tables()) {
    CAPTURE(t.name);
    const std::string sql = "SELECT " + columns_of(t) + " FROM " + t.name;
    Rows want = src.rows(sql);
    Rows got = pg_rows(url, sql);
    if (std::string(t.name) == "executions") {
      // Running top-level executions lose their lease, and only that.
      for (auto& row : want)
        if (released.count(*row[0])) {
          row[16].reset();
          row[17] = "0";
        }
    }
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    CHECK(want.size() > 0);
    CHECK(got == want);
  }
}

}  // namespace

TEST_CASE("copy moves every table and column of both stores' schemas") {
  std::map<std::string, std::set<std::string>> copied;
  for (const auto& t : store::copied_tables())
    for (const char* c : t.columns) copied[t.name].insert(c);

  test::TempDir dir("spokeflow-copy-");
  const std::string path = dir.file("store.db");
  store::open_sqlite_store(path);
  std::map<std::string, std::set<std::string>> in_sqlite;
  Sqlite db(path);
  for (const auto& table : db.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    for (const auto& col : db.rows("SELECT name FROM pragma_table_info('" + *table[0] + "')"))
      in_sqlite[*table[0]].insert(*col[0]);
  CHECK(in_sqlite == copied);

  test::PgBackend pg;
  pg.open();
  // Not copied: PostgreSQL's own bookkeeping, the schema version and the shared Okta rate budget
  // of the current window (an SQLite store has neither).
  std::map<std::string, std::set<std::string>> in_pg;
  for (const auto& row : pg_rows(pg.base, "SELECT table_name, column_name FROM information_schema.columns WHERE "
                                          "table_schema = '" + pg.schema + "' AND table_name NOT IN ('spokeflow_meta', 'rate_budget')"))
    in_pg[*row[0]].insert(*row[1]);
  CHECK(in_pg == copied);
}

TEST_CASE("a copy into a new PostgreSQL store has every row byte for byte; the copied queue runs on") {
  test::TempDir dir("spokeflow-copy-");
  const std::string path = dir.file("store.db");
  const std::int64_t now = now_unix_ms();
  auto ids = fill(path, now);
  test::PgBackend pg;

  store::CopyOptions o;
  o.now_ms = now;
  auto report = store::copy_sqlite_to_pg(path, pg.location, o);
  std::map<std::string, std::int64_t> counts(report.rows.begin(), report.rows.end());
  CHECK(report.rows.size() == store::copied_tables().size());
  CHECK(counts["executions"] == 6);
  CHECK(counts["flow_sources"] == 3);
  CHECK(counts["step_runs"] == 7);
  CHECK(counts["api_tokens"] == 2);
  CHECK(counts["hook_deliveries"] == 1);
  CHECK(counts["schedule_fires"] == 2);
  CHECK(report.leases_released == 1);
  check_same_rows(path, pg.location, {ids["running"]});

  // Read back through the store: the same records as SQLite's.
  auto from = store::open_sqlite_store(path);
  auto to = pg.open();
  for (const auto& [role, id] : ids) {
    CAPTURE(role);
    auto a = from->get_execution(id);
    auto b = to->get_execution(id);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(b->inputs == a->inputs);
    CHECK(b->flow_source == a->flow_source);
    CHECK(b->status == a->status);
    CHECK(b->epoch == a->epoch);
    CHECK(b->dedupe_key == a->dedupe_key);
    const auto sa = from->step_runs(id), sb = to->step_runs(id);
    REQUIRE(sa.size() == sb.size());
    for (std::size_t i = 0; i < sa.size(); ++i) {
      CHECK(sb[i].path == sa[i].path);
      CHECK(sb[i].attempt == sa[i].attempt);
      CHECK(sb[i].inputs == sa[i].inputs);
    }
  }
  CHECK(to->token_by_hash(std::string(64, 'b'))->revoked_at == now - 100);
  // The idempotency key holds on PostgreSQL: the same key names the copied execution.
  auto again = make_exec("onboard", now);
  again.dedupe_key = "idem-key-1";
  auto e = to->enqueue(again);
  CHECK_FALSE(e.created);
  CHECK(e.id == ids["failed"]);
  // The running one's lease is no one's: a worker claims it at once and resumes it.
  store::ClaimOptions o2;
  o2.worker = "pg-worker";
  o2.limit = 10;
  auto claims = to->claim(o2, now);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].id == ids["running"]);
  CHECK(claims[0].was == "running");
  CHECK(claims[0].epoch == 2);
  // A new step run is numbered after the copied ones.
  to->record_step(step(ids["running"], "activate", "succeeded", now), {ids["running"], 2});
  to->record_step(step(ids["running"], "after", "succeeded", now), {ids["running"], 2});
  auto runs = to->step_runs(ids["running"]);
  REQUIRE(runs.size() == 3);
  CHECK(runs[2].path == "after");
}

TEST_CASE("a target with records is refused, nothing written; --merge adds beside them, all or nothing") {
  test::TempDir dir("spokeflow-copy-");
  const std::string first = dir.file("first.db"), second = dir.file("second.db");
  const std::int64_t now = now_unix_ms();
  fill(first, now);
  auto second_ids = fill(second, now);
  test::PgBackend pg;
  store::CopyOptions o;
  o.now_ms = now;
  store::copy_sqlite_to_pg(first, pg.location, o);
  const auto before = pg_rows(pg.location, "SELECT id, status, epoch FROM executions");
  const auto steps_before = pg_count(pg.location, "step_runs");

  // Copied twice: refused, saying what to do.
  try {
    store::copy_sqlite_to_pg(first, pg.location, o);
    FAIL("a second copy was not refused");
  } catch (const store::CopyRefused& e) {
    CHECK(std::string(e.what()).find("holds records already") != std::string::npos);
    CHECK(std::string(e.what()).find("--merge") != std::string::npos);
  }
  CHECK(pg_rows(pg.location, "SELECT id, status, epoch FROM executions") == before);
  CHECK(pg_count(pg.location, "step_runs") == steps_before);

  // --merge of a store whose tokens, fires and sessions the target has already: the whole copy fails.
  o.merge = true;
  CHECK_THROWS_WITH_AS(store::copy_sqlite_to_pg(second, pg.location, o), doctest::Contains("duplicate key"),
                       std::runtime_error);
  CHECK(pg_rows(pg.location, "SELECT id, status, epoch FROM executions") == before);
  CHECK(pg_count(pg.location, "step_runs") == steps_before);

  // Without those: merged; its step runs keep their order after the target's own.
  {
    Sqlite db(second);
    db.exec("DELETE FROM api_tokens; DELETE FROM schedule_fires; DELETE FROM hook_deliveries; DELETE FROM ui_sessions; "
            "UPDATE executions SET dedupe_key = NULL");
  }
  auto report = store::copy_sqlite_to_pg(second, pg.location, o);
  std::map<std::string, std::int64_t> counts(report.rows.begin(), report.rows.end());
  CHECK(counts["executions"] == 6);
  CHECK(counts["flow_sources"] == 0);  // the same flows: shared
  CHECK(pg_count(pg.location, "executions") == 12);
  CHECK(pg_count(pg.location, "step_runs") == 2 * steps_before);
  auto to = pg.open();
  auto runs = to->step_runs(second_ids["failed"]);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].attempt == 1);
  CHECK(runs[1].attempt == 2);
}

TEST_CASE("refused before anything is written: an older schema, no store, live leases") {
  test::TempDir dir("spokeflow-copy-");
  const std::string path = dir.file("store.db");
  const std::int64_t now = now_unix_ms();
  test::PgBackend pg;
  store::CopyOptions o;
  o.now_ms = now;

  SUBCASE("no such file: not created") {
    CHECK_THROWS_WITH_AS(store::copy_sqlite_to_pg(dir.file("none.db"), pg.location, o),
                         doctest::Contains("no SQLite store at"), store::CopyRefused);
    CHECK_FALSE(std::filesystem::exists(dir.file("none.db")));
  }
  SUBCASE("an older schema: run store migrate") {
    fill(path, now);
    Sqlite(path).exec("PRAGMA user_version = 5");
    const std::string hint = "run `spokeflow store migrate --store " + path + "` first";
    CHECK_THROWS_WITH_AS(store::copy_sqlite_to_pg(path, pg.location, o), doctest::Contains(hint.c_str()), store::CopyRefused);
  }
  SUBCASE("a lease not expired: stop the workers, or --force") {
    fill(path, now);
    {
      auto st = store::open_sqlite_store(path);
      auto e = make_exec("onboard", now);
      st->enqueue(e);
      store::ClaimOptions c;
      c.worker = "host-b:7";
      c.lease_ms = 600'000;
      c.only_id = e.id;
      REQUIRE(st->claim(c, now).size() == 1);
    }
    CHECK_THROWS_WITH_AS(store::copy_sqlite_to_pg(path, pg.location, o), doctest::Contains("stop the workers first"),
                         store::CopyRefused);
    CHECK_FALSE(pg_has_tables(pg.location));
    o.force = true;
    auto report = store::copy_sqlite_to_pg(path, pg.location, o);
    CHECK(report.leases_released == 2);
    CHECK(pg_count(pg.location, "executions WHERE status = 'running' AND parent_id IS NULL AND lease_owner IS NULL "
                                "AND lease_until = 0") == 2);
  }
}

TEST_CASE("a copy that fails part-way leaves a new target as it was: not even its tables") {
  test::TempDir dir("spokeflow-copy-");
  const std::string path = dir.file("store.db");
  const std::int64_t now = now_unix_ms();
  fill(path, now);
  // Bytes PostgreSQL refuses as text, in the last table copied.
  Sqlite(path).exec("UPDATE schedule_fires SET trigger = CAST(x'ff00' AS TEXT) || trigger");
  test::PgBackend pg;
  store::CopyOptions o;
  o.now_ms = now;
  CHECK_THROWS_AS(store::copy_sqlite_to_pg(path, pg.location, o), std::runtime_error);
  CHECK_FALSE(pg_has_tables(pg.location));
}

TEST_CASE("the target's password is in no error") {
  test::TempDir dir("spokeflow-copy-");
  const std::string path = dir.file("store.db");
  fill(path, now_unix_ms());
  test::PgBackend pg;
  std::string url = pg.location;
  const auto colon = url.find(':', url.find("://") + 3), at = url.find('@');
  REQUIRE(colon < at);
  url.replace(colon + 1, at - colon - 1, "Wr0ngPassXYZ");
  store::CopyOptions o;
  o.now_ms = now_unix_ms();
  try {
    store::copy_sqlite_to_pg(path, url, o);
    FAIL("a wrong password was accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("Wr0ngPassXYZ") == std::string::npos);
    CHECK(std::string(e.what()).find("***") != std::string::npos);
  }
}
