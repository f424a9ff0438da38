#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>


#include "core/core.hpp"
#include "common/ids.hpp"
#include "common/scrub.hpp"
#include "flow/loader.hpp"
#include "engine_fixture.hpp"
#include "forwarding_store.hpp"
#include "run/engine.hpp"

using namespace spokeflow;
using namespace spokeflow::test;
namespace asio = boost::asio;
namespace fs = std::filesystem;

TEST_CASE("retry arithmetic") {
  flow::RetryPolicy p;
  p.max_attempts = 6;
  p.backoff = flow::RetryPolicy::Backoff::exponential;
  p.initial_interval = Millis(100);
  p.max_interval = Millis(1000);
  p.multiplier = 2;
  p.jitter = false;
  CHECK(p.delay_before(2) == Millis(100));
  CHECK(p.delay_before(3) == Millis(200));
  CHECK(p.delay_before(4) == Millis(400));
  CHECK(p.delay_before(5) == Millis(800));
  CHECK(p.delay_before(6) == Millis(1000));  // capped
  CHECK(run::retry_delay(p, 4) == Millis(400));
  p.jitter = true;
  for (int i = 0; i < 200; ++i) {
    auto d = run::retry_delay(p, 4);
    CHECK(d >= Millis(200));
    CHECK(d <= Millis(400));
  }
  p.backoff = flow::RetryPolicy::Backoff::constant;
  p.jitter = false;
  CHECK(p.delay_before(5) == Millis(100));
  // Default: transient kinds only.
  CHECK(p.retries(Error::make(ErrorKind::rate_limited, "")));
  CHECK_FALSE(p.retries(Error::make(ErrorKind::okta, "", "E0000007")));
  p.on_okta_codes = {"E0000009"};
  CHECK(p.retries(Error::make(ErrorKind::okta, "", "E0000009")));
  CHECK_FALSE(p.retries(Error::make(ErrorKind::network, "")));
}

TEST_CASE("retries until success and records every attempt") {
  Fixture fx;
  fx.counter->fail_times = 2;
  auto out = fx.run_flow(R"(
name: r
steps:
  - id: a
    action: test.count
    retry: { max_attempts: 3, backoff: constant, initial_interval: 10ms, jitter: false }
outputs:
  attempt: ${{ steps.a.outputs.attempt }}
)");
  CHECK(out.status == "succeeded");
  CHECK(out.outputs["attempt"] == 3);
  auto runs = fx.store->step_runs(out.id);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].status == "failed");
  CHECK(runs[1].status == "failed");
  CHECK(runs[2].status == "succeeded");
  CHECK(runs[2].attempt == 3);
}

TEST_CASE("non-retryable errors are not retried") {
  Fixture fx;
  fx.counter->fail_times = 5;
  fx.counter->fail_kind = ErrorKind::okta;
  auto out = fx.run_flow(R"(
name: r
steps:
  - id: a
    action: test.count
    retry: { max_attempts: 4, initial_interval: 10ms }
)");
  CHECK(out.status == "failed");
  CHECK(fx.counter->calls["a"] == 1);
}

namespace {
// An action whose outputs do not fit its own output schema (`user_id` must be a string).
struct Misfit final : Action {
  ActionInfo info_;
  Json outputs;
  Misfit(const std::string& name, bool sensitive, Json out) : outputs(std::move(out)) {
    info_ = object_action_info(name);
    info_.output_schema = Json::parse(R"({"type":"object","properties":{"user_id":{"type":"string"},
      "password":{"type":"string","x-sensitive":true}}})");
    info_.outputs_checker = JsonSchema::compile(info_.output_schema);
    info_.outputs_sensitive = sensitive;
  }
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext&) const override { co_return outputs; }
};
}  // namespace

TEST_CASE("outputs that do not fit the action's schema: the step fails naming the field, the value and the type wanted") {
  Fixture fx;
  fx.registry.add(std::make_unique<Misfit>("test.misfit", false, Json{{"user_id", 4242}}));
  fx.registry.add(std::make_unique<Misfit>("test.secret_misfit", true, Json{{"user_id", 98765}, {"password", 13579}}));
  auto out = fx.run_flow(R"(
name: m
steps:
  - id: who
    action: test.misfit
)");
  CHECK(out.status == "failed");
  const std::string message = out.error.value("message", "");
  CHECK(message ==
        "outputs of test.misfit do not fit its schema: /user_id is 4242: Value type not permitted by 'type' constraint. "
        "(it must be string)");
  CHECK(out.error.value("step", "") == "who");
  // Outputs that may hold secrets are described without their values.
  out = fx.run_flow(R"(
name: s
steps:
  - id: reveal
    action: test.secret_misfit
)");
  CHECK(out.status == "failed");
  const std::string sealed = out.error.value("message", "");
  CHECK(sealed.find("outputs of test.secret_misfit do not fit its schema: /") == 0);
  CHECK(sealed.find("(it must be string)") != std::string::npos);
  CHECK(sealed.find("13579") == std::string::npos);
  CHECK(sealed.find("98765") == std::string::npos);
}

TEST_CASE("a step timeout cancels the step's I/O") {
  Fixture fx;
  auto t0 = std::chrono::steady_clock::now();
  auto out = fx.run_flow(R"(
name: t
steps:
  - id: slow
    action: core.wait
    with: { duration: 60s }
    timeout: 50ms
)");
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(out.status == "failed");
  CHECK(out.error["kind"] == "timeout");
  CHECK(out.error["step"] == "slow");
  CHECK(elapsed < std::chrono::seconds(30));
}

TEST_CASE("for_each with concurrency runs every item once and keeps result order") {
  Fixture fx;
  auto out = fx.run_flow(R"(
name: fe
inputs:
  items: { type: array, default: [5, 6, 7, 8, 9, 10, 11] }
steps:
  - id: loop
    for_each: ${{ inputs.items }}
    concurrency: 3
    collect: ${{ item * 10 }}
    steps:
      - id: c
        action: test.count
outputs:
  results: ${{ steps.loop.outputs.results }}
  count: ${{ steps.loop.outputs.count }}
)");
  CHECK(out.status == "succeeded");
  CHECK(out.outputs["results"] == Json::parse("[50,60,70,80,90,100,110]"));
  CHECK(out.outputs["count"] == 7);
  CHECK(fx.counter->calls.size() == 7);
  for (auto& [path, n] : fx.counter->calls) CHECK(n == 1);
  CHECK(fx.counter->calls.count("loop[6].c") == 1);
}

TEST_CASE("resume: finished steps are not run again; the step in flight runs as its next attempt") {
  Fixture fx;
  auto f = fx.load(R"(
name: res
steps:
  - id: a
    action: test.count
  - id: b
    action: test.count
  - id: c
    action: test.count
outputs:
  a: ${{ steps.a.outputs.n }}
  b_attempt: ${{ steps.b.outputs.attempt }}
)");
  std::string id = fx.create(f);
  // What a crash during step b leaves behind.
  fx.crash(id);
  fx.store->record_step(journaled(id, "a", "test.count", "succeeded", {{"n", 41}, {"attempt", 1}}), {});
  fx.store->record_step(journaled(id, "b", "test.count", "running"), {});

  auto out = fx.run_id(id);
  CHECK(out.status == "succeeded");
  CHECK(fx.counter->calls.count("a") == 0);   // taken from the journal
  CHECK(out.outputs["a"] == 41);
  CHECK(fx.counter->calls["b"] == 1);
  CHECK(out.outputs["b_attempt"] == 2);       // the interrupted attempt was 1
  CHECK(fx.counter->calls["c"] == 1);
}

TEST_CASE("resume: a wait only waits what is left") {
  Fixture fx;
  auto f = fx.load(R"(
name: w
steps:
  - id: nap
    wait: 60s
)");
  std::string id = fx.create(f);
  fx.crash(id);
  fx.store->record_step(journaled(id, "nap", "wait", "running", nullptr, now_unix_ms() - 59'900), {});
  auto t0 = std::chrono::steady_clock::now();
  auto out = fx.run_id(id);
  CHECK(out.status == "succeeded");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
}

TEST_CASE("inputs are checked against their declarations") {
  Fixture fx;
  auto f = fx.load(R"(
name: in
inputs:
  email: { type: string, format: email, required: true }
  n: { type: integer, default: 3 }
  mode: { type: string, enum: [a, b], default: a }
steps:
  - action: core.noop
)");
  asio::io_context io;
  run::Engine engine(io.get_executor(), fx.registry, *fx.store, nullptr);
  auto ok = engine.check_inputs(*f, Json{{"email", "ada@example.com"}}, false);
  REQUIRE(ok.ok());
  CHECK((*ok)["n"] == 3);
  CHECK((*ok)["mode"] == "a");
  auto text = engine.check_inputs(*f, Json{{"email", "ada@example.com"}, {"n", "42"}}, true);
  REQUIRE(text.ok());
  CHECK((*text)["n"] == 42);
  CHECK_FALSE(engine.check_inputs(*f, Json::object(), false).ok());
  CHECK_FALSE(engine.check_inputs(*f, Json{{"email", "nope"}}, false).ok());
  CHECK_FALSE(engine.check_inputs(*f, Json{{"email", "a@b.co"}, {"n", "x"}}, true).ok());
  CHECK_FALSE(engine.check_inputs(*f, Json{{"email", "a@b.co"}, {"mode", "c"}}, false).ok());
  auto unknown = engine.check_inputs(*f, Json{{"email", "a@b.co"}, {"bogus", 1}}, false);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("unknown input 'bogus'") != std::string::npos);
}

TEST_CASE("for_each streams a list action page by page") {
  Fixture fx;
  fx.pager->total = 23;
  fx.pager->size = 5;
  auto out = fx.run_flow(R"(
name: stream
steps:
  - id: each
    for_each: { action: test.pages, with: { tag: x } }
    as: row
    concurrency: 3
    collect: "${{ row.n * 10 }}"
    steps:
      - id: touch
        action: test.count
outputs:
  count: ${{ steps.each.outputs.count }}
  results: ${{ steps.each.outputs.results }}
)");
  REQUIRE(out.status == "succeeded");
  CHECK(out.outputs["count"] == 23);
  REQUIRE(out.outputs["results"].size() == 23);
  for (int i = 0; i < 23; ++i) CHECK(out.outputs["results"][i] == i * 10);
  CHECK(fx.pager->calls == 5);
  CHECK_FALSE(fx.pager->saw_non_stream);
  CHECK(fx.counter->calls.size() == 23);
  CHECK(fx.counter->calls.count("each[22].touch") == 1);
  // Page records keep their items (a resume works on exactly these) and the cursor.
  auto runs = fx.store->step_runs(out.id);
  int pages = 0;
  for (const auto& r : runs) {
    if (r.path.find(".page[") == std::string::npos || r.status != "succeeded") continue;
    ++pages;
    REQUIRE(r.outputs.contains("items"));
    CHECK(r.outputs["items"].size() == (pages < 5 ? 5u : 3u));
    CHECK(r.outputs.contains("next"));
  }
  CHECK(pages == 5);
}

TEST_CASE("an empty streamed list runs no iteration") {
  Fixture fx;
  fx.pager->total = 0;
  auto out = fx.run_flow(R"(
name: stream_empty
steps:
  - id: each
    for_each: { action: test.pages }
    steps:
      - id: touch
        action: test.count
outputs:
  count: ${{ steps.each.outputs.count }}
)");
  REQUIRE(out.status == "succeeded");
  CHECK(out.outputs["count"] == 0);
  CHECK(fx.counter->calls.empty());
}

TEST_CASE("sensitive values are sealed in the store and come back in clear for a resume") {
  Fixture fx;
  auto f = fx.load(R"(
name: sealed
inputs:
  pw: { type: string, sensitive: true, required: true }
steps:
  - id: copy
    action: core.echo
    with: { value: "${{ inputs.pw }}" }
outputs:
  pw: ${{ inputs.pw }}
)");
  // A toy sealer: reversible, bound to the aad, and obviously not the clear text.
  run::EngineOptions opts;
  opts.seal = [](const std::string& aad, const std::string& plain) {
    std::string out = aad + "|";
    for (char c : plain) out += static_cast<char>(c ^ 0x55);
    return out;
  };
  opts.unseal = [](const std::string& aad, const std::string& sealed) -> std::optional<std::string> {
    if (sealed.rfind(aad + "|", 0) != 0) return std::nullopt;
    std::string out;
    for (char c : sealed.substr(aad.size() + 1)) out += static_cast<char>(c ^ 0x55);
    return out;
  };
  std::string id = fx.create(f, {{"pw", "Hunter2-secret"}}, opts);
  auto rec = fx.store->get_execution(id);
  REQUIRE(rec);
  CHECK(rec->inputs["pw"] == "[REDACTED]");
  CHECK(rec->inputs.contains(run::kSealedKey));
  CHECK(rec->inputs.dump().find("Hunter2-secret") == std::string::npos);
  // Another engine (another process, say) runs it: the clear value comes from the seal.
  run::ExecutionOutcome out = fx.run_id(id, nullptr, opts);
  REQUIRE(out.status == "succeeded");
  CHECK(out.outputs["pw"] == "[REDACTED]");  // what the run hands out is what is recorded
  auto done = fx.store->get_execution(id);
  CHECK(done->outputs["pw"] == "[REDACTED]");
  CHECK(done->outputs.contains(run::kSealedKey));
  CHECK(run::without_sealed(done->outputs).dump() == R"({"pw":"[REDACTED]"})");
  for (const auto& r : fx.store->step_runs(id)) CHECK(r.outputs.dump().find("Hunter2-secret") == std::string::npos);
  SecretScrubber::instance().clear();
}

TEST_CASE("an action with outside effects starts only once its start and the steps before it are committed") {
  Fixture fx;
  // Parallel children, so that records of several executions share each group commit.
  const char* child = R"(
name: child
inputs:
  n: { type: integer, required: true }
steps:
  - id: first
    action: test.witness
  - id: local
    action: core.noop
  - id: second
    action: test.witness
    with: { after: local }
)";
  fs::create_directories(fx.dir / "flows");
  { std::ofstream(fx.dir / "flows" / "child.yaml") << child; }
  flow::FlowLibrary lib((fx.dir / "flows").string(), fx.registry);
  auto parent = fx.load(R"(
name: parent
inputs:
  items: { type: array, default: [1, 2, 3, 4, 5, 6, 7, 8] }
steps:
  - id: each
    for_each: ${{ inputs.items }}
    concurrency: 4
    steps:
      - id: one
        flow: child
        with: { n: "${{ item }}" }
)");
  // Slow commits on the store's thread: a step resumed before its commit ended would see it.
  CommitCounter store(store::on_own_thread(std::make_unique<CommitCounter>(
      store::open_store(fx.location), std::chrono::milliseconds(5))));
  fx.store.reset();
  std::string id;
  {
    asio::io_context io;
    run::Engine engine(io.get_executor(), fx.registry, store, &lib);
    auto checked = engine.check_inputs(*parent, Json::object(), false);
    REQUIRE(checked.ok());
    auto rec = engine.new_execution(parent, *checked, {{"type", "test"}});
    REQUIRE(rec.ok());
    id = store.enqueue(*rec).id;
  }
  run::ExecutionOutcome out = fx.run_id(id, &lib, {}, &store);
  INFO("error: " << out.error.dump());
  CHECK(out.status == "succeeded");
  CHECK(store.async_commits > 0);  // commits made on the store's thread while actions were in flight
  CHECK(fx.witness->calls == 16);
  INFO("not committed when the action started: " << Json(fx.witness->not_durable).dump());
  CHECK(fx.witness->not_durable.empty());
}

namespace {

// Notes, in order, each child execution created and each start record that names a child,
// and counts the executions marked running after they were created and the journals read.
struct ChildOrderLog final : spokeflow::test::ForwardingStore {
  std::vector<std::string> log;
  using ForwardingStore::ForwardingStore;
  int journal_reads = 0;  // what resuming an execution starts with
  std::vector<store::StepRun> step_runs(const std::string& id) override {
    ++journal_reads;
    return ForwardingStore::step_runs(id);
  }
  void create_execution(store::ExecutionRecord r, const store::Fence& f, store::Durability d) override {
    if (!r.parent_id.empty()) log.push_back("child " + r.id);
    ForwardingStore::create_execution(std::move(r), f, d);
  }
  void record_step(store::StepRun run, const store::Fence& f, store::Durability d) override {
    if (run.status == "running" && run.inputs.is_object() && run.inputs.contains("execution_id"))
      log.push_back("named " + run.inputs["execution_id"].get<std::string>());
    ForwardingStore::record_step(std::move(run), f, d);
  }
};

constexpr const char* kTwoStepChild = R"(
name: child
steps:
  - id: a
    action: test.count
  - id: b
    action: test.count
outputs: { a_attempt: "${{ steps.a.outputs.attempt }}" }
)";
constexpr const char* kSubflowParent = R"(
name: parent
steps:
  - id: sub
    flow: child
outputs: { a_attempt: "${{ steps.sub.outputs.a_attempt }}" }
)";

constexpr std::int64_t interrupted_start = 1'764'000'000'000;

// A parent left running with its `sub` step in flight: the step's start names `child_id`.
std::string interrupted_parent(Fixture& fx, const flow::FlowPtr& parent, const std::string& child_id) {
  std::string id = fx.create(parent);
  fx.crash(id);
  store::StepRun sub = journaled(id, "sub", "flow", "running", nullptr, interrupted_start);
  sub.inputs = {{"flow", "child"}, {"execution_id", child_id}};
  fx.store->record_step(sub, {});
  return id;
}

run::ExecutionOutcome run_with_library(Fixture& fx, flow::FlowLibrary& lib, const std::string& id) {
  return fx.run_id(id, &lib);
}

}  // namespace

TEST_CASE("a flow step's start names its child before the child is recorded") {
  Fixture fx;
  fs::create_directories(fx.dir / "flows");
  { std::ofstream(fx.dir / "flows" / "child.yaml") << kTwoStepChild; }
  flow::FlowLibrary lib((fx.dir / "flows").string(), fx.registry);
  auto log = std::make_unique<ChildOrderLog>(std::move(fx.store));
  ChildOrderLog* order = log.get();
  fx.store = std::move(log);
  auto parent = fx.load(R"(
name: parent
inputs:
  items: { type: array, default: [1, 2, 3] }
steps:
  - id: each
    for_each: ${{ inputs.items }}
    steps:
      - id: one
        flow: child
)");
  auto out = run_with_library(fx, lib, fx.create(parent));
  CHECK(out.status == "succeeded");
  REQUIRE(order->log.size() == 6);
  for (std::size_t i = 0; i < order->log.size(); i += 2) {
    CHECK(order->log[i].rfind("named ", 0) == 0);
    CHECK(order->log[i + 1] == "child " + order->log[i].substr(6));
    // A child is recorded running, with its start, in the one write; it runs under its parent's lease.
    auto child = order->get_execution(order->log[i].substr(6));
    REQUIRE(child);
    CHECK(child->status == "succeeded");
    CHECK(child->started_at == child->created_at);
    CHECK(child->lease_owner.empty());
  }
  CHECK(order->journal_reads == 0);  // a first claim reads no journal, and no child is taken for a resumed one
}

TEST_CASE("resume: a flow step in flight continues the child its start names") {
  Fixture fx;
  fs::create_directories(fx.dir / "flows");
  { std::ofstream(fx.dir / "flows" / "child.yaml") << kTwoStepChild; }
  flow::FlowLibrary lib((fx.dir / "flows").string(), fx.registry);
  auto parent = fx.load(kSubflowParent);
  auto child = fx.load(kTwoStepChild);

  SUBCASE("the child was recorded and had finished its first step") {
    std::string child_id = new_sortable_id();
    std::string id = interrupted_parent(fx, parent, child_id);
    store::ExecutionRecord c;
    c.id = child_id;
    c.flow_name = "child";
    c.flow_file = "flows/child.yaml";
    c.flow_source = kTwoStepChild;
    c.flow_hash = child->source_hash;
    c.inputs = Json::object();
    c.status = "queued";
    c.trigger = {{"type", "subflow"}};
    c.created_at = now_unix_ms();
    c.parent_id = id;
    c.parent_step = "sub";
    c.status = "running";
    fx.store->create_execution(c, {});
    fx.store->record_step(journaled(child_id, "a", "test.count", "succeeded", {{"n", 1}, {"attempt", 7}}), {});

    auto out = run_with_library(fx, lib, id);
    CHECK(out.status == "succeeded");
    CHECK(out.outputs["a_attempt"] == 7);     // from the child's journal
    CHECK(fx.counter->calls.count("a") == 0);
    CHECK(fx.counter->calls["b"] == 1);
    CHECK(fx.store->list_executions({}).size() == 2);  // no second child
    auto c2 = fx.store->get_execution(child_id);
    CHECK(c2->status == "succeeded");
    auto runs = fx.store->step_runs(id);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].started_at == interrupted_start);  // the attempt's start, not the resume's
  }
  SUBCASE("a start whose child id no longer reads as one fails the step and starts no child") {
    std::string id = interrupted_parent(fx, parent, "[REDACTED]");
    auto out = run_with_library(fx, lib, id);
    CHECK(out.status == "failed");
    CHECK(out.error.dump().find("does not name the child execution it started") != std::string::npos);
    CHECK(fx.counter->calls.empty());
    CHECK(fx.store->list_executions({}).size() == 1);
  }
  SUBCASE("the process stopped before the child was recorded") {
    std::string child_id = new_sortable_id();
    std::string id = interrupted_parent(fx, parent, child_id);
    auto out = run_with_library(fx, lib, id);
    CHECK(out.status == "succeeded");
    CHECK(out.outputs["a_attempt"] == 1);
    CHECK(fx.counter->calls["a"] == 1);
    CHECK(fx.counter->calls["b"] == 1);
    auto all = fx.store->list_executions({});
    CHECK(all.size() == 2);
    auto c = fx.store->get_execution(child_id);  // created under the id the journal gave it
    REQUIRE(c);
    CHECK(c->parent_id == id);
    CHECK(c->status == "succeeded");
    auto runs = fx.store->step_runs(id);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].status == "succeeded");
    CHECK(runs[0].inputs["execution_id"] == child_id);
  }
}

TEST_CASE("an email input of 60,000 characters is checked, not a crash (issue 16)") {
  Fixture fx;
  auto f = fx.load(R"(
name: in
inputs:
  email: { type: string, format: email, required: true }
steps:
  - action: core.noop
)");
  asio::io_context io;
  run::Engine engine(io.get_executor(), fx.registry, *fx.store, nullptr);
  const std::string local(60'000, 'a');
  CHECK(engine.check_inputs(*f, Json{{"email", local + "@example.com"}}, false).ok());
  auto bad = engine.check_inputs(*f, Json{{"email", local}}, false);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("input 'email' must be an email address") != std::string::npos);
  CHECK_FALSE(engine.check_inputs(*f, Json{{"email", local + "@example.com " + local}}, false).ok());
}

namespace {
// Reports one commit, the `fail_at`th, failed, as the PostgreSQL store does when the database
// restarts under it (the others pass through).
struct CommitFailsOnce final : spokeflow::test::ForwardingStore {
  int fail_at;
  int commits = 0;
  CommitFailsOnce(std::unique_ptr<store::ExecutionStore> s, int at) : ForwardingStore(std::move(s)), fail_at(at) {}
  void flush_async(std::function<void(store::CommitResult)> done) override {
    if (++commits != fail_at) return inner->flush_async(std::move(done));
    inner->flush_async([done = std::move(done)](store::CommitResult r) {
      r.failure = std::make_exception_ptr(std::runtime_error("cannot connect again: the database system is starting up"));
      done(std::move(r));
    });
  }
};
}  // namespace

// Issue 19: a commit lost to a database restart failed the step waiting for it, and with it the
// execution ("internal error: store ...: cannot connect again"). The run stops instead, writing
// nothing more, and a later claim resumes it from the journal.
TEST_CASE("a failed commit stops the run for a later resume; it does not fail the execution") {
  for (int fail_at : {1, 2, 3}) {
    CAPTURE(fail_at);
    Fixture fx;
    auto f = fx.load(R"(
name: three
steps:
  - { id: a, action: test.count }
  - { id: b, action: test.count }
  - { id: c, action: test.count }
)");
    std::string id = fx.create(f);
    auto failing = std::make_unique<CommitFailsOnce>(std::move(fx.store), fail_at);
    CommitFailsOnce* st = failing.get();
    fx.store = std::move(failing);
    auto out = fx.run_id(id);
    CHECK(out.status == "lost");
    auto rec = st->get_execution(id);
    REQUIRE(rec);
    CHECK(rec->status == "running");  // as the journal has it; its lease lapses
    for (const auto& run : st->step_runs(id)) CHECK(run.status != "failed");
    // Resumed once the lease has lapsed, it ends succeeded.
    st->fail_at = 0;
    store::ClaimOptions o;
    o.worker = "later";
    o.only_id = id;
    auto claims = st->claim(o, now_unix_ms() + 3'600'000);
    REQUIRE(claims.size() == 1);
    asio::io_context io;
    run::Engine engine(io.get_executor(), fx.registry, *st, nullptr, {});
    run::ExecutionOutcome again;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { again = co_await engine.run(claims[0]); }, asio::detached);
    io.run();
    CHECK(again.status == "succeeded");
  }
}
