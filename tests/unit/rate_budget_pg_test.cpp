// The shared Okta rate budget's table on PostgreSQL (store/pg_rate_budget.hpp): takers on
// connections of their own (as processes would be) never get more than the limit less the
// margin of a window between them; a window that is over is opened anew and learns its end from
// the next answer; late answers of an older window change nothing; what the org says was used
// counts when it is more than what was taken; and the threaded client answers asynchronously.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "store/pg_conn.hpp"
#include "store/pg_rate_budget.hpp"
#include "store_backends.hpp"

using namespace spokeflow;
using store::pg::learn_window;
using store::pg::take_permits;
using test::PgBackend;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A store (so that its tables exist) and a connection to it.
struct Budget {
  PgBackend b;
  std::unique_ptr<store::ExecutionStore> st = b.open();
  store::pg::Conn conn{b.location};
};

}  // namespace

TEST_CASE("a bucket nobody told the table of is unknown; the first answer makes it known") {
  Budget t;
  const auto now = wall_ms();
  CHECK_FALSE(take_permits(t.conn, "org.example", "users", 5, now).known);
  learn_window(t.conn, "org.example", "users", 600, 599, now + 60'000);
  auto r = take_permits(t.conn, "org.example", "users", 5, now);
  CHECK(r.known);
  CHECK(r.granted == 5);
  CHECK(r.limit == 600);
  CHECK(r.window_end_ms == now + 60'000);
  CHECK(r.valid_until_ms == now + 60'000 - store::pg::kBudgetGuardMs);
  // Another org and another bucket are rows of their own.
  CHECK_FALSE(take_permits(t.conn, "other.example", "users", 5, now).known);
  CHECK_FALSE(take_permits(t.conn, "org.example", "groups", 5, now).known);
}

TEST_CASE("concurrent takers on their own connections never exceed the limit less the margin, and get all of it") {
  Budget t;
  const auto now = wall_ms();
  const std::int64_t limit = 100;
  learn_window(t.conn, "org.example", "user_get", limit, limit - 1, now + 60'000);  // one probe used one
  constexpr int kTakers = 8;
  std::vector<std::unique_ptr<store::pg::Conn>> conns;
  for (int i = 0; i < kTakers; ++i) conns.push_back(std::make_unique<store::pg::Conn>(t.b.location));
  std::atomic<int> ready{0};
  std::atomic<int> total{0};
  std::atomic<int> takes{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kTakers; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kTakers) std::this_thread::yield();
      // Until the window is spent: a few permits per statement, as a process takes them.
      for (;;) {
        auto r = take_permits(*conns[i], "org.example", "user_get", 3, now);
        ++takes;
        if (r.granted == 0) break;
        total += r.granted;
      }
    });
  for (auto& th : threads) th.join();
  // 100 less the probe's 1 (the org said 99 remain) less the margin of 2.
  CHECK(total.load() == 97);
  CHECK(takes.load() > kTakers);  // they did take turns
  store::pg::Conn admin(t.b.location);
  // The 97 granted and the one the org said was used before.
  CHECK(admin.exec("SELECT taken FROM rate_budget WHERE bucket = 'user_get'").integer(0, 0) == 98);
}

TEST_CASE("a spent window is waited out; then a new one opens, learns its end, and ignores late answers of the old") {
  Budget t;
  const auto now = wall_ms();
  const std::int64_t end1 = now + 10'000;
  learn_window(t.conn, "org", "users", 10, 10, end1);
  auto r = take_permits(t.conn, "org", "users", 20, now);
  CHECK(r.granted == 9);  // 10 less the margin of 1
  r = take_permits(t.conn, "org", "users", 1, now);
  CHECK(r.granted == 0);
  CHECK(r.retry_at_ms == end1);  // ask again when the window ends
  // Within the guard before the end nothing is granted, even with budget left.
  learn_window(t.conn, "org", "groups", 10, 10, end1);
  r = take_permits(t.conn, "org", "groups", 1, end1 - store::pg::kBudgetGuardMs + 1);
  CHECK(r.granted == 0);
  CHECK(r.retry_at_ms == end1);

  // The window is over: the first taker opens the next one, its end not known yet.
  r = take_permits(t.conn, "org", "users", 4, end1 + 5);
  CHECK(r.granted == 4);
  CHECK(r.window_end_ms == 0);
  CHECK(r.valid_until_ms > end1);
  // A late answer of the old window (its reset) changes nothing.
  learn_window(t.conn, "org", "users", 10, 0, end1);
  r = take_permits(t.conn, "org", "users", 3, end1 + 10);
  CHECK(r.granted == 3);
  CHECK(r.window_end_ms == 0);
  // The first answer of the new window tells its end; what was taken of it is kept.
  const std::int64_t end2 = end1 + 10'000;
  learn_window(t.conn, "org", "users", 10, 9, end2);
  r = take_permits(t.conn, "org", "users", 10, end1 + 20);
  CHECK(r.window_end_ms == end2);
  CHECK(r.granted == 2);  // 9 grantable, 7 taken already
}

TEST_CASE("what the org says was used counts when it is more than what was taken; a newer window starts afresh") {
  Budget t;
  const auto now = wall_ms();
  const std::int64_t end1 = now + 60'000;
  learn_window(t.conn, "org", "apps", 100, 100, end1);
  CHECK(take_permits(t.conn, "org", "apps", 10, now).granted == 10);
  // Someone outside the budget (another tool on the same org) used more: 20 remain, 80 used.
  learn_window(t.conn, "org", "apps", 100, 20, end1);
  // A higher remaining of the same window is an older answer: the lowest stands.
  learn_window(t.conn, "org", "apps", 100, 60, end1);
  CHECK(take_permits(t.conn, "org", "apps", 100, now).granted == 18);  // 100 - 2 - 80 used
  // Permits taken after an answer add to what it said was used: 98 are gone.
  CHECK(take_permits(t.conn, "org", "apps", 5, now).granted == 0);
  // An answer of a window nobody opened (a request outside the budget) starts that window.
  const std::int64_t end2 = end1 + 60'000;
  learn_window(t.conn, "org", "apps", 100, 95, end2);
  auto r = take_permits(t.conn, "org", "apps", 100, end1 + 1);
  CHECK(r.window_end_ms == end2);
  CHECK(r.granted == 93);  // 100 - 2 - 5 used
}

TEST_CASE("the threaded client answers takes off the caller's thread, applies answers first, and merges them") {
  Budget t;
  store::PgRateBudget budget(t.b.location);
  const auto now = wall_ms();
  auto take = [&](int want) {
    std::promise<std::optional<store::RateTake>> p;
    auto f = p.get_future();
    budget.take("org", "logs", want, now, [&p](std::optional<store::RateTake> r) { p.set_value(r); });
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return f.get();
  };
  auto r = take(5);
  REQUIRE(r);
  CHECK_FALSE(r->known);
  // Several answers of one window: the lowest remaining is written (maybe merged into one write).
  budget.learn("org", "logs", 120, 119, now + 60'000);
  budget.learn("org", "logs", 120, 100, now + 60'000);
  budget.learn("org", "logs", 120, 110, now + 60'000);
  r = take(100);
  REQUIRE(r);
  CHECK(r->known);
  CHECK(r->granted == 98);  // 120 - 2 - 20 used (not 118: the answers were written first)
}

TEST_CASE("a budget whose database is gone answers unavailable at once, and works again once it is back") {
  Budget t;
  store::PgRateBudget budget(t.b.location);
  store::pg::Conn admin(t.b.base);
  const auto now = wall_ms();
  auto take = [&] {
    std::promise<std::optional<store::RateTake>> p;
    auto f = p.get_future();
    budget.take("org", "logs", 1, now, [&p](std::optional<store::RateTake> r) { p.set_value(r); });
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return f.get();
  };
  REQUIRE(take());
  // The server drops the budget's connection (as a restart would).
  auto ended = admin.exec("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE "
                          "application_name = 'spokeflow rate budget'");
  REQUIRE(ended.rows() == 1);
  CHECK_FALSE(take());
  // It connects again (at most every 2 s) and answers as before.
  bool back = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!back && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    back = take().has_value();
  }
  CHECK(back);
}
