#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "common/ids.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

using namespace spokeflow;
namespace fs = std::filesystem;

namespace {

struct TempDir : spokeflow::test::TempDir {
  TempDir() : spokeflow::test::TempDir("spokeflow-store-") {}
};
store::ExecutionRecord make_exec(const std::string& flow, const std::string& parent = {}) {
  store::ExecutionRecord r;
  r.id = new_sortable_id();
  r.flow_name = flow;
  r.flow_file = "flows/" + flow + ".yaml";
  r.flow_source = "name: " + flow + "\n";
  r.flow_hash = "hash-" + flow;
  r.inputs = {{"user", "ada"}};
  r.trigger = {{"type", "cli"}};
  r.created_at = now_unix_ms();
  r.parent_id = parent;
  if (!parent.empty()) r.parent_step = "sub";
  return r;
}
}  // namespace

TEST_CASE("executions and step runs persist across reopen") {
  TempDir dir;
  std::string db = (dir.path / "store.db").string();
  std::string id;
  {
    auto st = store::open_sqlite_store(db);
    auto rec = make_exec("onboard");
    id = rec.id;
    st->create_execution(rec);
    st->set_execution_running(id, 1000, "host:1");
    store::StepRun run;
    run.execution_id = id;
    run.path = "each_user[3].add";
    run.kind = "okta.add_user_to_group";
    run.inputs = {{"user_id", "00u1"}};
    run.started_at = 1001;
    st->record_step(run);  // running
    run.status = "succeeded";
    run.outputs = {{"added", true}};
    run.finished_at = 1005;
    st->record_step(run);  // same attempt: replaced
    run.path = "next";
    run.status = "running";
    run.outputs = nullptr;
    run.finished_at = 0;
    st->record_step(run);
  }
  auto st = store::open_sqlite_store(db);
  auto rec = st->get_execution(id);
  REQUIRE(rec);
  CHECK(rec->status == "running");
  CHECK(rec->owner == "host:1");
  CHECK(rec->flow_source == "name: onboard\n");
  CHECK(rec->inputs["user"] == "ada");
  auto runs = st->step_runs(id);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].path == "each_user[3].add");
  CHECK(runs[0].status == "succeeded");
  CHECK(runs[0].outputs["added"] == true);
  CHECK(runs[0].finished_at == 1005);
  CHECK(runs[1].status == "running");
  auto unfinished = st->unfinished_executions();
  REQUIRE(unfinished.size() == 1);
  CHECK(unfinished[0].id == id);
  CHECK_FALSE(st->claim_execution(id, "host:2", "host:3"));  // not the owner we saw
  CHECK(st->claim_execution(id, "host:1", "host:3"));
  st->finish_execution(id, "succeeded", Json{{"ok", true}}, nullptr, 2000);
  CHECK(st->unfinished_executions().empty());
  CHECK(st->get_execution(id)->outputs["ok"] == true);
}

TEST_CASE("listing filters, order, children and source dedup") {
  TempDir dir;
  auto st = store::open_sqlite_store((dir.path / "s.db").string());
  auto a = make_exec("a");
  st->create_execution(a);
  auto b = make_exec("b");
  st->create_execution(b);
  auto child = make_exec("a", b.id);
  st->create_execution(child);
  st->finish_execution(a.id, "failed", nullptr, Json{{"kind", "action"}}, now_unix_ms());
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
  CHECK(st->find_child(b.id, "sub") == child.id);
  CHECK_FALSE(st->find_child(a.id, "sub"));
  // Children are resumed through their parent, never on their own.
  for (const auto& u : st->unfinished_executions()) CHECK(u.id != child.id);
}

TEST_CASE("values over the cap are stored as a truncation marker") {
  TempDir dir;
  auto st = store::open_sqlite_store((dir.path / "s.db").string(), 1024);
  auto rec = make_exec("big");
  st->create_execution(rec);
  store::StepRun run;
  run.execution_id = rec.id;
  run.path = "x";
  run.kind = "core.echo";
  run.status = "succeeded";
  run.outputs = {{"blob", std::string(5000, 'z')}};
  st->record_step(run);
  auto runs = st->step_runs(rec.id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].outputs["$truncated"] == true);
  CHECK(runs[0].outputs["bytes"].get<int>() > 5000);
  CHECK(runs[0].outputs["preview"].get<std::string>().size() <= 1024);
}

TEST_CASE("a file that is not a store is refused with a clear error") {
  TempDir dir;
  auto p = dir.path / "not-a-db";
  { std::ofstream(p) << "this is not sqlite, just some text that is long enough to have a header........"; }
  CHECK_THROWS_WITH_AS(store::open_sqlite_store(p.string()), doctest::Contains("store"), std::runtime_error);
}
