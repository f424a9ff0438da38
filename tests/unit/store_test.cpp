#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/resource.h>

#include <csignal>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/ids.hpp"
#include "forwarding_store.hpp"
#include "store/sqlite_schema.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"
#include "store_records.hpp"
#include "test_util.hpp"

using namespace spokeflow;
using spokeflow::test::make_exec;
using TempDir = spokeflow::test::StoreTempDir;
namespace fs = std::filesystem;

namespace {

// A child of `parent_id`, marked running, with one step run "a" (succeeded): all batched.
store::StepRun batch_child_with_step(store::ExecutionStore& st, const std::string& parent_id) {
  auto child = make_exec("child", parent_id);
  child.status = "running";
  child.started_at = 10;
  st.create_execution(child, {}, store::Durability::batched);
  store::StepRun run;
  run.execution_id = child.id;
  run.path = "a";
  run.kind = "core.noop";
  run.status = "succeeded";
  st.record_step(run, {}, store::Durability::batched);
  return run;
}
}  // namespace

TEST_CASE_TEMPLATE("executions and step runs persist across reopen", B, test::SqliteBackend, test::PgBackend) {
  B backend;
  std::string id;
  {
    auto st = backend.open();
    auto rec = make_exec("onboard");
    id = rec.id;
    rec.run_at = 1000;
    st->enqueue(rec);
    store::ClaimOptions o;
    o.worker = "host:1";
    REQUIRE(st->claim(o, 1000).size() == 1);
    store::StepRun run;
    run.execution_id = id;
    run.path = "each_user[3].add";
    run.kind = "okta.add_user_to_group";
    run.inputs = {{"user_id", "00u1"}};
    run.started_at = 1001;
    st->record_step(run, {});  // running
    run.status = "succeeded";
    run.outputs = {{"added", true}};
    run.finished_at = 1005;
    st->record_step(run, {});  // same attempt: replaced
    run.path = "next";
    run.status = "running";
    run.outputs = nullptr;
    run.finished_at = 0;
    st->record_step(run, {});
  }
  auto st = backend.open();
  auto rec = st->get_execution(id);
  REQUIRE(rec);
  CHECK(rec->status == "running");
  CHECK(rec->lease_owner == "host:1");
  CHECK(rec->epoch == 1);
  CHECK(rec->started_at == 1000);
  CHECK(rec->flow_source == "name: onboard\n");
  CHECK(rec->inputs["user"] == "ada");
  auto runs = st->step_runs(id);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].path == "each_user[3].add");
  CHECK(runs[0].status == "succeeded");
  CHECK(runs[0].outputs["added"] == true);
  CHECK(runs[0].finished_at == 1005);
  CHECK(runs[1].status == "running");
  st->finish_execution(id, "succeeded", Json{{"ok", true}}, nullptr, 2000, store::Fence{id, 1});
  auto done = st->get_execution(id);
  CHECK(done->outputs["ok"] == true);
  CHECK(done->lease_owner.empty());
}

TEST_CASE_TEMPLATE("listing filters, order, children and source dedup", B, test::SqliteBackend, test::PgBackend) {
  B backend;
  auto st = backend.open();
  auto a = make_exec("a");
  st->enqueue(a);
  auto b = make_exec("b");
  st->enqueue(b);
  auto child = make_exec("a", b.id);
  child.status = "running";
  st->create_execution(child, {});
  st->finish_execution(a.id, "failed", nullptr, Json{{"kind", "action"}}, now_unix_ms(), {});
  auto all = st->list_executions({});
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == child.id);  // newest first
  store::ExecutionFilter by_flow, by_status, limited, top;
  by_flow.flow = "a";
  by_status.status = "failed";
  limited.limit = 1;
  top.top_level_only = true;
  CHECK(st->list_executions(by_flow).size() == 2);
  CHECK(st->list_executions(by_status).size() == 1);
  CHECK(st->list_executions(limited).size() == 1);
  CHECK(st->list_executions(top).size() == 2);
  auto stored_child = st->get_execution(child.id);
  REQUIRE(stored_child);
  CHECK(stored_child->parent_id == b.id);
  CHECK(stored_child->parent_step == "sub");
  // Children are resumed through their parent, never claimed on their own.
  store::ClaimOptions o;
  o.worker = "w";
  o.limit = 10;
  auto claims = st->claim(o, now_unix_ms());
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].id == b.id);
}

TEST_CASE_TEMPLATE("search: an id's start or an input value, never a sealed copy; LIKE's wildcards are plain", B,
                   test::SqliteBackend, test::PgBackend) {
  B backend;
  auto st = backend.open();
  auto ada = make_exec("a");
  ada.inputs = {{"email", "Ada.Lovelace@example.com"}, {"profile", {{"dept", "R&D"}, {"tags", {"x", "100%_sure"}}}}};
  st->enqueue(ada);
  auto grace = make_exec("a");
  // A sensitive input: shown redacted, its clear value only inside the sealed copy.
  grace.inputs = {{"email", "grace@example.com"}, {"password", "[REDACTED]"}, {"$sealed", "v1.cipher-hopper"}};
  st->enqueue(grace);
  auto ids = [&](const std::string& q) {
    store::ExecutionFilter f;
    f.search = q;
    std::vector<std::string> out;
    for (const auto& r : st->list_executions(f)) out.push_back(r.id);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(ids("lovelace") == V{ada.id});                  // a substring, case ignored
  CHECK(ids("R&D") == V{ada.id});                       // at any depth
  CHECK(ids("100%_") == V{ada.id});                     // % and _ match only themselves
  CHECK(ids("0%") == V{ada.id});
  CHECK(ids("%") == V{ada.id});
  CHECK(ids("_sure") == V{ada.id});
  CHECK(ids("a%e").empty());                            // not a wildcard
  CHECK(ids("example.com") == V{grace.id, ada.id});     // newest first
  CHECK(ids(grace.id) == V{grace.id});
  CHECK(ids(grace.id.substr(0, grace.id.size() - 2)).size() >= 1);
  CHECK(ids("hopper").empty());                         // the sealed copy is never searched
  CHECK(ids("cipher").empty());
  CHECK(ids("email").empty());                          // names are not values
  CHECK(ids("nobody").empty());
}

TEST_CASE_TEMPLATE("a page of step runs: in recorded order, with the total; the same as slicing them all", B,
                   test::SqliteBackend, test::PgBackend) {
  B backend;
  auto st = backend.open();
  auto rec = make_exec("paged");
  st->enqueue(rec);
  for (int i = 0; i < 7; ++i) {
    store::StepRun run;
    run.execution_id = rec.id;
    run.path = "each[" + std::to_string(6 - i) + "].s";  // recorded order, not path order
    run.kind = "core.noop";
    run.status = "succeeded";
    st->record_step(run, {});
  }
  auto paths = [](const store::StepRunPage& p) {
    std::vector<std::string> out;
    for (const auto& r : p.runs) out.push_back(r.path);
    return out;
  };
  using V = std::vector<std::string>;
  auto page = st->step_run_page(rec.id, 2, 3);
  CHECK(page.total == 7);
  CHECK(paths(page) == V{"each[4].s", "each[3].s", "each[2].s"});
  CHECK(paths(st->step_run_page(rec.id, 5, 10)) == V{"each[1].s", "each[0].s"});
  CHECK(st->step_run_page(rec.id, 7, 10).runs.empty());
  CHECK(st->step_run_page(rec.id, 7, 10).total == 7);
  CHECK(st->step_run_page("01NOSUCHEXECUTION000000000", 0, 10).total == 0);
  // The default (what a store without its own query does) agrees.
  test::ForwardingStore plain(backend.open());
  for (std::size_t from : {0u, 2u, 6u, 9u})
    for (std::size_t most : {1u, 3u, 100u}) {
      CAPTURE(from);
      CAPTURE(most);
      auto mine = st->step_run_page(rec.id, from, most), sliced = plain.step_run_page(rec.id, from, most);
      CHECK(paths(mine) == paths(sliced));
      CHECK(mine.total == sliced.total);
    }
}

TEST_CASE_TEMPLATE("values are kept whole, however large: a resume needs them", B, test::SqliteBackend, test::PgBackend) {
  B backend;
  auto st = backend.open();
  auto rec = make_exec("big");
  rec.inputs = {{"logins", Json::array()}};
  for (int i = 0; i < 200'000; ++i) rec.inputs["logins"].push_back("user" + std::to_string(i) + "@example.com");
  st->enqueue(rec);
  store::StepRun run;
  run.execution_id = rec.id;
  run.path = "x";
  run.kind = "core.echo";
  run.status = "succeeded";
  run.outputs = {{"blob", std::string(5'000'000, 'z')}};
  st->record_step(run, {});
  auto runs = st->step_runs(rec.id);
  REQUIRE(runs.size() == 1);
  CHECK_FALSE(runs[0].outputs.contains("$truncated"));
  CHECK(runs[0].outputs["blob"].template get<std::string>().size() == 5'000'000);
  auto got = st->get_execution(rec.id);
  REQUIRE(got);
  CHECK(got->inputs["logins"].size() == 200'000);
  CHECK(got->inputs["logins"][199'999] == "user199999@example.com");
}

TEST_CASE("the store file is readable by its owner only") {
  TempDir dir;
  auto path = dir.path / "s.db";
  { auto st = store::open_sqlite_store(path.string()); }
  auto perms = fs::status(path).permissions();
  CHECK((perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
}

TEST_CASE("a file that is not a store is refused with a clear error") {
  TempDir dir;
  auto p = dir.path / "not-a-db";
  { std::ofstream(p) << "this is not sqlite, just some text that is long enough to have a header........"; }
  CHECK_THROWS_WITH_AS(store::open_sqlite_store(p.string()), doctest::Contains("store"), std::runtime_error);
}

TEST_CASE_TEMPLATE("batched writes reach the disk at the next durable write or flush, in order", B, test::SqliteBackend, test::PgBackend) {
  B backend;
  auto writer = backend.open();
  auto reader = backend.open();  // another connection sees committed rows only
  auto parent = make_exec("parent");
  writer->enqueue(parent);
  store::StepRun run = batch_child_with_step(*writer, parent.id);
  const std::string child_id = run.execution_id;
  CHECK(writer->has_batched());
  CHECK_FALSE(reader->get_execution(child_id));
  CHECK(writer->get_execution(child_id)->status == "running");  // its own writes are visible to the writer

  // A write that fails (here a status the schema refuses) is undone alone: the batch stays.
  store::StepRun bad = run;
  bad.path = "b";
  bad.status = "exploded";
  CHECK_THROWS_AS(writer->record_step(bad, {}, store::Durability::batched), std::runtime_error);
  CHECK(writer->has_batched());

  run.path = "c";
  writer->record_step(run, {}, store::Durability::now);  // commits everything before it too
  CHECK_FALSE(writer->has_batched());
  auto seen = reader->get_execution(child_id);
  REQUIRE(seen);
  CHECK(seen->status == "running");
  auto runs = reader->step_runs(child_id);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].path == "a");
  CHECK(runs[1].path == "c");

  writer->finish_execution(child_id, "succeeded", Json::object(), nullptr, 20, {}, store::Durability::batched);
  CHECK(reader->get_execution(child_id)->status == "running");
  writer->flush();
  CHECK(reader->get_execution(child_id)->status == "succeeded");
}

namespace {
// flush_async, waited for: the failure it reports, or null.
std::exception_ptr commit_and_wait(store::ExecutionStore& st) {
  std::promise<std::exception_ptr> done;
  auto result = done.get_future();
  st.flush_async([&done](store::CommitResult r) { done.set_value(r.failure); });
  return result.get();
}

// Counts the step records that reached the store it wraps (on the store's thread).
struct StepWriteCounter final : spokeflow::test::ForwardingStore {
  std::atomic<int>& count;
  StepWriteCounter(std::unique_ptr<store::ExecutionStore> s, std::atomic<int>& c) : ForwardingStore(std::move(s)), count(c) {}
  void record_step(store::StepRun run, const store::Fence& f, store::Durability d) override {
    ++count;  // before the write: a write that fails reached the store too
    inner->record_step(std::move(run), f, d);
  }
};

// A store on its own thread (`writer`) and a plain one on the same file (`reader`), with a
// top-level execution created through the writer. `steps_written` counts the step records
// the writer's thread has passed to SQLite.
template <class Backend>
struct OwnThreadStore {
  Backend backend;
  std::atomic<int> steps_written{0};
  std::unique_ptr<store::ExecutionStore> writer =
      store::on_own_thread(std::make_unique<StepWriteCounter>(backend.open(), steps_written));
  std::unique_ptr<store::ExecutionStore> reader = backend.open();
  store::ExecutionRecord parent = make_exec("parent");
  OwnThreadStore() { writer->enqueue(parent); }  // on disk when it returns

  // Waits up to 2 s for `n` step records to have reached SQLite.
  bool steps_written_reach(int n) {
    for (int i = 0; i < 400 && steps_written.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return steps_written.load() >= n;
  }
};

std::string message_of(std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  }
}
}  // namespace

TEST_CASE_TEMPLATE("a store on its own thread keeps the order, the visibility and the failures of the store itself", B, test::SqliteBackend, test::PgBackend) {
  OwnThreadStore<B> fx;
  auto& writer = fx.writer;
  auto& reader = fx.reader;
  const auto& parent = fx.parent;
  REQUIRE(reader->get_execution(parent.id));

  store::StepRun run = batch_child_with_step(*writer, parent.id);
  const std::string child_id = run.execution_id;
  CHECK(writer->has_batched());
  CHECK_FALSE(reader->get_execution(child_id));
  CHECK(writer->get_execution(child_id)->status == "running");  // reads come after the writes before them
  CHECK_FALSE(reader->get_execution(child_id));                  // ... which a read does not commit
  CHECK(commit_and_wait(*writer) == nullptr);
  CHECK_FALSE(writer->has_batched());
  REQUIRE(reader->get_execution(child_id));
  CHECK(reader->step_runs(child_id).size() == 1);

  // A batched write that fails returns at once; the next commit reports it and keeps the
  // writes before it. Those after it, up to that commit, are dropped: no holes on disk.
  store::StepRun bad = run;
  run.path = "before";
  writer->record_step(run, {}, store::Durability::batched);
  bad.path = "b";
  bad.status = "exploded";
  writer->record_step(bad, {}, store::Durability::batched);
  run.path = "c";
  writer->record_step(run, {}, store::Durability::batched);
  std::exception_ptr failure = commit_and_wait(*writer);
  REQUIRE(failure != nullptr);
  CHECK(message_of(failure).find("store: write failed") != std::string::npos);
  auto runs = reader->step_runs(child_id);
  REQUIRE(runs.size() == 2);
  CHECK(runs[1].path == "before");
  CHECK(commit_and_wait(*writer) == nullptr);  // reported once
  run.path = "c";  // and the writes after that commit are kept again
  writer->record_step(run, {}, store::Durability::batched);
  CHECK(commit_and_wait(*writer) == nullptr);
  runs = reader->step_runs(child_id);
  REQUIRE(runs.size() == 3);
  CHECK(runs[2].path == "c");

  // A failed batched write keeps the commit waited for even when a `now` write commits the
  // batch meanwhile: whoever waits for the next commit hears of it.
  bad.path = "b2";
  writer->record_step(bad, {}, store::Durability::batched);
  run.path = "d";
  writer->record_step(run, {}, store::Durability::now);
  CHECK(writer->has_batched());
  failure = commit_and_wait(*writer);
  REQUIRE(failure != nullptr);
  CHECK(message_of(failure).find("store: write failed") != std::string::npos);
  CHECK_FALSE(writer->has_batched());

  // With the store's thread busy (held in a commit's callback), reads and `now` writes are
  // handed to it and still come after the writes made before them.
  {
    std::promise<void> gate;
    std::shared_future<void> open = gate.get_future().share();
    writer->flush_async([open](store::CommitResult) { open.wait(); });
    run.path = "while-busy";
    writer->record_step(run, {}, store::Durability::batched);
    std::thread opener([&gate] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      gate.set_value();
    });
    auto runs_seen = writer->step_runs(child_id);  // waits for the gate, then for the write before it
    opener.join();
    REQUIRE_FALSE(runs_seen.empty());
    CHECK(runs_seen.back().path == "while-busy");
  }
  CHECK(commit_and_wait(*writer) == nullptr);

  // Thousands of records, committed in batches large enough to be handed to the store's
  // thread while more are written, arrive complete and in order.
  for (int i = 0; i < 3000; ++i) {
    run.path = "loop[" + std::to_string(i) + "]";
    run.outputs = {{"i", i}};
    writer->record_step(run, {}, store::Durability::batched);
    if (i % 97 == 0) writer->flush_async([](store::CommitResult) {});
  }
  run.path = "last";
  writer->record_step(run, {}, store::Durability::now);  // commits everything before it
  CHECK_FALSE(writer->has_batched());
  runs = reader->step_runs(child_id);
  REQUIRE(runs.size() == 3006);  // a, before, c, d, while-busy, the loop, last
  for (int i = 0; i < 3000; ++i) {
    CHECK(runs[5 + i].path == "loop[" + std::to_string(i) + "]");
    CHECK(runs[5 + i].outputs["i"] == i);
  }
  CHECK(runs.back().path == "last");

  // A `now` write that fails throws to its caller.
  CHECK_THROWS_AS(writer->finish_execution(child_id, "weird", nullptr, nullptr, 1, {}), std::runtime_error);

  // What is still batched when the store closes is committed then.
  writer->finish_execution(child_id, "succeeded", Json::object(), nullptr, 20, {}, store::Durability::batched);
  CHECK(reader->get_execution(child_id)->status == "running");
  writer.reset();
  CHECK(reader->get_execution(child_id)->status == "succeeded");
}

TEST_CASE_TEMPLATE("a store on its own thread starts on a batch before its commit once a few writes are pending", B, test::SqliteBackend, test::PgBackend) {
  OwnThreadStore<B> fx;
  auto& writer = fx.writer;
  auto& reader = fx.reader;
  const auto& parent = fx.parent;
  auto& steps_written = fx.steps_written;
  auto steps_written_reach = [&fx](int n) { return fx.steps_written_reach(n); };
  store::StepRun run;
  run.execution_id = parent.id;
  run.kind = "core.noop";
  run.status = "succeeded";
  auto write = [&](int i, const char* status = "succeeded") {
    run.path = "s" + std::to_string(i);
    run.status = status;
    writer->record_step(run, {}, store::Durability::batched);
  };
  // A few writes (one execution's between two commits) stay with the caller until the commit.
  for (int i = 0; i < 7; ++i) write(i);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(steps_written == 0);
  // One more, and the store's thread writes them before any commit is asked for.
  write(7);
  CHECK(steps_written_reach(8));
  CHECK(writer->has_batched());
  CHECK(commit_and_wait(*writer) == nullptr);
  auto runs = reader->step_runs(parent.id);
  REQUIRE(runs.size() == 8);
  for (int i = 0; i < 8; ++i) CHECK(runs[i].path == "s" + std::to_string(i));

  // A write that fails among those handed over early is reported by the next commit, once;
  // those before it are kept, those after it dropped.
  for (int i = 8; i < 16; ++i) write(i, i == 10 ? "exploded" : "succeeded");
  CHECK(steps_written_reach(11));
  CHECK(writer->has_batched());  // the failure waits for a commit to report it
  std::exception_ptr failure = commit_and_wait(*writer);
  REQUIRE(failure != nullptr);
  CHECK(message_of(failure).find("store: write failed") != std::string::npos);
  CHECK_FALSE(writer->has_batched());
  CHECK(commit_and_wait(*writer) == nullptr);
  CHECK(steps_written == 11);  // s11-s15 never reached SQLite
  runs = reader->step_runs(parent.id);
  REQUIRE(runs.size() == 10);
  CHECK(runs[9].path == "s9");
}

namespace {
// While it lives, files can no longer grow (as on a full disk): writes past the limit fail
// with EFBIG instead of a signal.
struct FullDisk {
  rlimit before{};
  void (*handler)(int) = SIG_DFL;
  explicit FullDisk(const fs::path& dir) {
    std::uintmax_t largest = 0;
    for (const auto& f : fs::directory_iterator(dir)) largest = std::max(largest, fs::file_size(f.path()));
    handler = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &before);
    rlimit limit{static_cast<rlim_t>(largest + 64 * 1024), before.rlim_max};
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FullDisk() {
    setrlimit(RLIMIT_FSIZE, &before);
    std::signal(SIGXFSZ, handler);
  }
};
}  // namespace

TEST_CASE("batched records rolled back with another caller's failed commit are reported by the next flush") {
  for (bool threaded : {false, true}) {
    CAPTURE(threaded);
    TempDir dir;
    std::string db = (dir.path / "store.db").string();
    auto st = threaded ? store::on_own_thread(store::open_sqlite_store(db)) : store::open_sqlite_store(db);
    auto parent = make_exec("parent");
    st->enqueue(parent);
    store::StepRun start = batch_child_with_step(*st, parent.id);  // an Okta step waiting for its commit
    store::StepRun big = start;
    big.path = "big";
    big.inputs = {{"blob", std::string(200 * 1024, 'x')}};  // under the value cap, over what the disk takes
    {
      FullDisk full(dir.path);
      CHECK_THROWS_AS(st->record_step(big, {}, store::Durability::now), std::runtime_error);  // its caller hears
    }
    CHECK(st->has_batched());  // the waiting step must not go on
    // Nothing more is batched until that is reported: no record on disk without those before it.
    auto later = make_exec("child", parent.id);
    if (threaded) {
      st->create_execution(later, {}, store::Durability::batched);  // dropped
    } else {
      CHECK_THROWS_WITH_AS(st->create_execution(later, {}, store::Durability::batched), doctest::Contains("not written"),
                           std::runtime_error);
    }
    CHECK_THROWS_WITH_AS(st->flush(), doctest::Contains("rolled back"), std::runtime_error);
    CHECK_FALSE(st->has_batched());
    CHECK_NOTHROW(st->flush());
    auto after = make_exec("child", parent.id);  // reported: writes go on again
    st->create_execution(after, {}, store::Durability::batched);
    CHECK_NOTHROW(st->flush());
    auto reader = store::open_sqlite_store(db);
    CHECK(reader->step_runs(start.execution_id).empty());
    CHECK_FALSE(reader->get_execution(start.execution_id));
    CHECK_FALSE(reader->get_execution(later.id));
    CHECK(reader->get_execution(after.id));
    REQUIRE(reader->get_execution(parent.id));  // committed before: untouched
  }
}

TEST_CASE_TEMPLATE("a delivery received again is counted on the first record, never recorded twice", B,
                   test::SqliteBackend, test::PgBackend) {
  B b;
  auto st = b.open();
  CHECK_FALSE(st->record_redelivery("evt-r", 10));  // nothing to count yet
  REQUIRE(st->record_delivery({"evt-r", "okta", 10, 2, Json::array({{{"event", "u1"}}})}));
  auto d = st->delivery("evt-r");
  REQUIRE(d);
  CHECK(d->redeliveries == 0);
  CHECK(d->last_redelivered_at == 0);
  auto other = b.open();  // another process
  CHECK(other->record_redelivery("evt-r", 20));
  CHECK(st->record_redelivery("evt-r", 30));
  CHECK_FALSE(st->record_delivery({"evt-r", "okta", 40, 2, Json::array()}));
  d = st->delivery("evt-r");
  CHECK(d->redeliveries == 2);
  CHECK(d->last_redelivered_at == 30);
  CHECK(d->received_at == 10);  // the first receipt stays
  CHECK(d->started[0]["event"] == "u1");
  auto listed = other->recent_deliveries(5, {});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].redeliveries == 2);
}

TEST_CASE_TEMPLATE("a token's last use: kept when later than the one recorded, seen by every process", B,
                   test::SqliteBackend, test::PgBackend) {
  B b;
  auto st = b.open();
  REQUIRE(st->add_token({"ci", "operator", "hash-ci", 1, 0, 0}));
  CHECK(st->token_by_hash("hash-ci")->last_used_at == 0);
  st->note_token_used("ci", 500);
  b.open()->note_token_used("ci", 300);  // another service's older use changes nothing
  st->note_token_used("nobody", 900);    // no such token: nothing written
  auto other = b.open();
  CHECK(other->token_by_hash("hash-ci")->last_used_at == 500);
  REQUIRE(other->list_tokens().size() == 1);
  CHECK(other->list_tokens()[0].last_used_at == 500);
}

TEST_CASE_TEMPLATE("web view sessions: kept for every process, ended, expired ones and the oldest past the cap gone", B,
                   test::SqliteBackend, test::PgBackend) {
  B b;
  auto st = b.open();
  auto other = b.open();  // another service on the same store
  st->add_ui_session({"s1", "tok-a", 100, 1'000}, 10);
  st->add_ui_session({"s2", "tok-b", 200, 5'000}, 10);
  auto got = other->ui_session("s1");
  REQUIRE(got);
  CHECK(got->token_hash == "tok-a");
  CHECK(got->created_at == 100);
  CHECK(got->expires_at == 1'000);
  CHECK_FALSE(other->ui_session("nope"));
  CHECK(other->end_ui_session("s2"));
  CHECK_FALSE(st->end_ui_session("s2"));
  CHECK_FALSE(st->ui_session("s2"));
  // A sign-in at 1,000 ends s1 (expired by then); past the cap of 2 the oldest go.
  st->add_ui_session({"s3", "tok-a", 1'000, 9'000}, 2);
  CHECK_FALSE(st->ui_session("s1"));
  st->add_ui_session({"s4", "tok-a", 1'100, 9'000}, 2);
  st->add_ui_session({"s5", "tok-a", 1'200, 9'000}, 2);
  CHECK_FALSE(st->ui_session("s3"));
  CHECK(st->ui_session("s4"));
  CHECK(st->ui_session("s5"));
}
