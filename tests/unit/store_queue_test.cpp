// The store's work queue: enqueue with dedupe keys, claims under leases with fencing epochs,
// renewals, releases, cancel requests, reopening, and the strikes that stop a crash loop; on
// both stores (store_backends.hpp).
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "common/ids.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"
#include "test_util.hpp"

using namespace spokeflow;

namespace {

template <class Backend>
struct Queue {
  Backend backend;
  std::unique_ptr<store::ExecutionStore> st = backend.open();

  store::ExecutionRecord make(const std::string& flow = "f") {
    store::ExecutionRecord r;
    r.id = new_sortable_id();
    r.flow_name = flow;
    r.flow_file = "flows/" + flow + ".yaml";
    r.flow_source = "name: " + flow + "\n";
    r.flow_hash = "hash-" + flow;
    r.trigger = {{"type", "test"}};
    r.created_at = now_unix_ms();
    return r;
  }
  std::string enqueue(std::int64_t run_at = 1) {  // runnable from long ago: claims at any `now` find it
    auto r = make();
    r.run_at = run_at;
    return st->enqueue(r).id;
  }
  std::vector<store::Claim> claim(const std::string& worker, int limit = 10, std::int64_t lease_ms = 30'000,
                                  std::int64_t now = now_unix_ms(), int max_strikes = 3) {
    store::ClaimOptions o;
    o.worker = worker;
    o.limit = limit;
    o.lease_ms = lease_ms;
    o.max_strikes = max_strikes;
    return st->claim(o, now);
  }
  store::StepRun step(const std::string& id, const std::string& path, const std::string& status = "succeeded") {
    store::StepRun r;
    r.execution_id = id;
    r.path = path;
    r.kind = "core.noop";
    r.status = status;
    return r;
  }
};

}  // namespace

TEST_CASE_TEMPLATE("enqueue with a dedupe key returns the first execution and writes nothing more", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  auto a = q.make();
  a.dedupe_key = "okta-event:abc";
  auto first = q.st->enqueue(a);
  CHECK(first.created);
  CHECK(first.id == a.id);
  auto b = q.make();
  b.dedupe_key = "okta-event:abc";
  auto second = q.st->enqueue(b);
  CHECK_FALSE(second.created);
  CHECK(second.id == a.id);
  CHECK(q.st->list_executions({}).size() == 1);
  auto c = q.make();  // no key: always new
  CHECK(q.st->enqueue(c).created);
  CHECK(q.st->list_executions({}).size() == 2);
}

TEST_CASE_TEMPLATE("queue depth counts top-level executions by state, for /metrics", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  using Depth = std::map<std::string, std::int64_t>;
  CHECK(q.st->queue_depth() == Depth{{"queued", 0}, {"running", 0}, {"waiting", 0}});
  q.enqueue();
  q.enqueue();
  q.enqueue();
  CHECK(q.st->queue_depth() == Depth{{"queued", 3}, {"running", 0}, {"waiting", 0}});
  const std::int64_t t0 = now_unix_ms();
  auto claimed = q.claim("w1", 1, 10'000, t0);
  REQUIRE(claimed.size() == 1);
  CHECK(q.st->queue_depth() == Depth{{"queued", 2}, {"running", 1}, {"waiting", 0}});
  CHECK(q.st->release(store::Fence{claimed[0].id, claimed[0].epoch}, t0 + 60'000, true));
  CHECK(q.st->queue_depth() == Depth{{"queued", 2}, {"running", 0}, {"waiting", 1}});
}

TEST_CASE_TEMPLATE("a dedupe key with a window holds within it and names a new execution after it", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  constexpr std::int64_t kDay = 24 * 3600 * 1000;
  const std::int64_t t0 = 1'800'000'000'000;  // the records' clock: created_at is what the window counts from
  auto at = [&](std::int64_t t, std::int64_t window) {
    auto r = q.make();
    r.created_at = t;
    r.dedupe_key = "api:hello:k1";
    r.dedupe_window_ms = window;
    return q.st->enqueue(r);
  };
  auto first = at(t0, kDay);
  REQUIRE(first.created);
  auto within = at(t0 + kDay - 1, kDay);
  CHECK_FALSE(within.created);
  CHECK(within.id == first.id);
  auto after = at(t0 + kDay, kDay);
  CHECK(after.created);
  CHECK(after.id != first.id);
  // From then on the key names the new one, for its own window.
  auto again = at(t0 + kDay + 5, kDay);
  CHECK_FALSE(again.created);
  CHECK(again.id == after.id);
  CHECK(q.st->list_executions({}).size() == 2);
  CHECK(q.st->get_execution(first.id).has_value());  // the first is kept, only its key is freed
  // Without a window a key holds for ever (schedule fires, Okta events).
  auto forever = q.make();
  forever.created_at = t0;
  forever.dedupe_key = "schedule:x";
  REQUIRE(q.st->enqueue(forever).created);
  auto years = q.make();
  years.created_at = t0 + 1000 * kDay;
  years.dedupe_key = "schedule:x";
  auto later = q.st->enqueue(years);
  CHECK_FALSE(later.created);
  CHECK(later.id == forever.id);
}

TEST_CASE_TEMPLATE("a claim leases an execution to one worker; an expired lease is anyone's, with a new epoch", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  const std::string id = q.enqueue();
  const std::int64_t t0 = now_unix_ms();
  auto first = q.claim("w1", 10, 1'000, t0);
  REQUIRE(first.size() == 1);
  CHECK(first[0].id == id);
  CHECK(first[0].epoch == 1);
  CHECK(first[0].was == "queued");
  CHECK(q.claim("w2", 10, 1'000, t0 + 500).empty());  // held
  auto rec = q.st->get_execution(id);
  CHECK(rec->status == "running");
  CHECK(rec->lease_owner == "w1");
  CHECK(rec->lease_until == t0 + 1'000);

  auto second = q.claim("w2", 10, 1'000, t0 + 1'001);  // w1 stopped renewing
  REQUIRE(second.size() == 1);
  CHECK(second[0].epoch == 2);
  CHECK(second[0].was == "running");
  CHECK(q.st->get_execution(id)->lease_owner == "w2");

  // w1 is fenced off: its durable writes are refused, its batched ones dropped and reported.
  const store::Fence old{id, 1}, current{id, 2};
  CHECK_THROWS_AS(q.st->record_step(q.step(id, "a"), old, store::Durability::now), store::LeaseLost);
  q.st->record_step(q.step(id, "b"), old, store::Durability::batched);
  q.st->record_step(q.step(id, "c"), current, store::Durability::batched);
  auto fenced = q.st->flush();
  REQUIRE(fenced.size() == 1);
  CHECK(fenced[0] == id);
  CHECK(q.st->flush().empty());  // reported once
  auto runs = q.st->step_runs(id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].path == "c");
  CHECK_THROWS_AS(q.st->finish_execution(id, "succeeded", Json::object(), nullptr, t0, old), store::LeaseLost);
  CHECK(q.st->get_execution(id)->status == "running");

  // Renewals: w1's lease is lost, w2's held.
  auto renewed = q.st->renew({old, current}, t0 + 5'000);
  REQUIRE(renewed.size() == 2);
  CHECK(renewed[0] == store::RenewStatus::lost);
  CHECK(renewed[1] == store::RenewStatus::held);
  CHECK(q.st->get_execution(id)->lease_until == t0 + 5'000);
}

TEST_CASE_TEMPLATE("many workers claiming at once on one store: each execution is claimed by exactly one", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  std::set<std::string> all;
  for (int i = 0; i < 200; ++i) all.insert(q.enqueue());
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      auto mine = q.backend.open();  // a connection of its own, as another process has
      store::ClaimOptions o;
      o.worker = "w" + std::to_string(w);
      o.limit = 7;
      for (;;) {
        auto got = mine->claim(o, now_unix_ms());
        if (got.empty()) break;
        std::lock_guard lock(mu);
        for (auto& c : got) claimed.insert(c.id);
      }
    });
  for (auto& t : workers) t.join();
  CHECK(claimed.size() == all.size());
  CHECK(std::set<std::string>(claimed.begin(), claimed.end()) == all);
}

TEST_CASE_TEMPLATE("a parked execution waits in the store until its time; a release makes it runnable again", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  const std::string id = q.enqueue();
  const std::int64_t t0 = now_unix_ms();
  auto c = q.claim("w1", 1, 30'000, t0);
  REQUIRE(c.size() == 1);
  CHECK(q.st->release({id, 1}, t0 + 60'000, true));
  auto rec = q.st->get_execution(id);
  CHECK(rec->status == "waiting");
  CHECK(rec->run_at == t0 + 60'000);
  CHECK(rec->lease_owner.empty());
  CHECK(q.st->next_runnable_at() == t0 + 60'000);
  CHECK(q.claim("w2", 1, 30'000, t0 + 59'999).empty());
  auto woken = q.claim("w2", 1, 30'000, t0 + 60'000);
  REQUIRE(woken.size() == 1);
  CHECK(woken[0].was == "waiting");
  CHECK(woken[0].epoch == 2);
  CHECK_FALSE(q.st->release({id, 1}, t0, false));  // not w1's any more
  CHECK(q.st->release({id, 2}, t0 + 60'001, false));
  CHECK(q.st->get_execution(id)->status == "queued");
  CHECK(q.st->next_runnable_at() == t0 + 60'001);
}

TEST_CASE_TEMPLATE("an execution whose runs keep stopping the process without progress fails after a few claims", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  const std::string id = q.enqueue();
  std::int64_t t = now_unix_ms();
  // Each claim's holder dies at once (its lease lapses with nothing done).
  for (int i = 0; i < 3; ++i) {
    auto c = q.claim("crashy", 1, 10, t);
    REQUIRE(c.size() == 1);
    t += 20;
  }
  CHECK(q.claim("next", 1, 10, t).empty());  // the third death was the last
  auto rec = q.st->get_execution(id);
  CHECK(rec->status == "failed");
  CHECK(rec->error["kind"] == "internal");
  CHECK(rec->error["message"].template get<std::string>().find("stopped the process running it 3 times") != std::string::npos);

  // With a step finished in between, a holder that died is no strike.
  const std::string other = q.enqueue();
  for (int i = 0; i < 6; ++i) {
    auto c = q.claim("crashy", 1, 10, t);
    REQUIRE(c.size() == 1);
    q.st->record_step(q.step(other, "s" + std::to_string(i)), {other, c[0].epoch});
    t += 20;
  }
  CHECK(q.st->get_execution(other)->status == "running");
  // A lease given back normally is no strike either.
  auto c = q.claim("w", 1, 10, t);
  REQUIRE(c.size() == 1);
  CHECK(q.st->release({other, c[0].epoch}, t, false));
  CHECK(q.st->get_execution(other)->strikes == 0);
}

TEST_CASE_TEMPLATE("an execution failed for its strikes leaves no step run or subflow execution running", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  const std::string id = q.enqueue();
  std::int64_t t = now_unix_ms();
  auto first = q.claim("crashy", 1, 10, t);
  REQUIRE(first.size() == 1);
  const store::Fence fence{id, first[0].epoch};
  // The first holder started a step and a subflow whose own step was in flight, then died.
  q.st->record_step(q.step(id, "call", "running"), fence);
  auto child = q.make("child");
  child.parent_id = id;
  child.parent_step = "sub";
  child.status = "running";
  q.st->create_execution(child, fence);
  q.st->record_step(q.step(child.id, "inner", "running"), fence);
  t += 20;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(q.claim("crashy", 1, 10, t).size() == 1);
    t += 20;
  }
  CHECK(q.claim("next", 1, 10, t).empty());
  CHECK(q.st->get_execution(id)->status == "failed");
  for (const auto& run : q.st->step_runs(id)) CHECK_MESSAGE(run.status == "interrupted", run.path);
  for (const auto& run : q.st->step_runs(child.id)) CHECK_MESSAGE(run.status == "interrupted", run.path);
  auto c = q.st->get_execution(child.id);
  REQUIRE(c);
  CHECK(c->status == "failed");
  CHECK(c->error["kind"] == "internal");
}

TEST_CASE_TEMPLATE("a cancel request: at once before the start, by the claimer of a queued or parked one, by the holder", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  const std::int64_t t0 = now_unix_ms();
  SUBCASE("never started") {
    const std::string id = q.enqueue(t0 + 60'000);
    auto r = q.st->request_cancel(id, t0);
    CHECK(r.found);
    CHECK(r.finished_now);
    auto rec = q.st->get_execution(id);
    CHECK(rec->status == "cancelled");
    CHECK(rec->error["kind"] == "cancelled");
    CHECK(q.claim("w", 1, 1'000, t0 + 120'000).empty());
  }
  SUBCASE("parked: runnable now, and the claim carries the request") {
    const std::string id = q.enqueue();
    REQUIRE(q.claim("w", 1, 1'000, t0).size() == 1);
    REQUIRE(q.st->release({id, 1}, t0 + 3'600'000, true));
    auto r = q.st->request_cancel(id, t0 + 10);
    CHECK_FALSE(r.finished_now);
    CHECK(r.status == "waiting");
    REQUIRE(q.claim("w2", 1, 1'000, t0 + 10).size() == 1);
    CHECK(q.st->get_execution(id)->cancel_requested);
  }
  SUBCASE("running: the holder hears of it when it renews") {
    const std::string id = q.enqueue();
    REQUIRE(q.claim("w", 1, 30'000, t0).size() == 1);
    auto r = q.st->request_cancel(id, t0 + 10);
    CHECK(r.status == "running");
    CHECK(r.lease_owner == "w");
    auto renewed = q.st->renew({{id, 1}}, t0 + 30'000);
    REQUIRE(renewed.size() == 1);
    CHECK(renewed[0] == store::RenewStatus::cancel_requested);
  }
  SUBCASE("unknown or finished") {
    CHECK_FALSE(q.st->request_cancel("01NOSUCHEXECUTION000000000", t0).found);
    const std::string id = q.enqueue(t0);
    REQUIRE(q.claim("w", 1, 30'000, t0).size() == 1);
    q.st->finish_execution(id, "succeeded", Json::object(), nullptr, t0, {id, 1});
    auto r = q.st->request_cancel(id, t0);
    CHECK(r.found);
    CHECK(r.status == "succeeded");
    CHECK_FALSE(q.st->get_execution(id)->cancel_requested);
  }
}

TEST_CASE_TEMPLATE("reopen: only a failed or cancelled top-level execution becomes runnable again", B, test::SqliteBackend, test::PgBackend) {
  Queue<B> q;
  const std::int64_t t0 = now_unix_ms();
  const std::string id = q.enqueue();
  REQUIRE(q.claim("w", 1, 30'000, t0).size() == 1);
  CHECK_FALSE(q.st->reopen(id, t0));  // running
  q.st->finish_execution(id, "failed", nullptr, Json{{"kind", "action"}}, t0, {id, 1});
  CHECK(q.st->reopen(id, t0 + 5));
  auto rec = q.st->get_execution(id);
  CHECK(rec->status == "queued");
  CHECK(rec->retried_at == t0 + 5);
  CHECK(rec->error.is_null());
  CHECK(rec->finished_at == 0);
  auto again = q.claim("w", 1, 30'000, t0 + 5);
  REQUIRE(again.size() == 1);
  CHECK(again[0].epoch == 2);
  q.st->finish_execution(id, "succeeded", Json::object(), nullptr, t0, {id, 2});
  CHECK_FALSE(q.st->reopen(id, t0 + 10));
}
