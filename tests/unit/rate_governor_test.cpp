// The rate governor on its own: bucket names, pacing from synthetic rate-limit headers (Date
// and X-Rate-Limit-*), 429 holds, and the FIFO in-flight cap with cancelled waiters.
#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "http/rate_governor.hpp"

namespace asio = boost::asio;
using spokeflow::http::GovernorStats;
using spokeflow::http::HttpResponse;
using spokeflow::http::okta_bucket;
using spokeflow::http::RateGovernor;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string http_date(long long epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

HttpResponse answer(long status, long long limit, long long remaining, long long reset, long long date) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace("Date", http_date(date));
  r.headers.emplace("X-Rate-Limit-Limit", std::to_string(limit));
  r.headers.emplace("X-Rate-Limit-Remaining", std::to_string(remaining));
  r.headers.emplace("X-Rate-Limit-Reset", std::to_string(reset));
  return r;
}

long long now_epoch() { return static_cast<long long>(std::time(nullptr)); }

// One acquire in the background; records when it was granted (or that it was cancelled) and
// keeps the permit until told to drop it.
struct Acquirer {
  std::optional<RateGovernor::Permit> permit;
  std::optional<Clock::time_point> granted_at;
  bool cancelled = false;
  asio::cancellation_signal signal;
};

void start(asio::io_context& io, RateGovernor& g, Acquirer& a, std::string bucket, std::vector<int>* order = nullptr,
           int id = 0) {
  asio::co_spawn(
      io,
      [&g, &a, bucket, order, id]() -> asio::awaitable<void> {
        try {
          RateGovernor::Permit p = co_await g.acquire(bucket);
          a.permit.emplace(std::move(p));
          a.granted_at = Clock::now();
          if (order) order->push_back(id);
        } catch (const boost::system::system_error& e) {
          a.cancelled = e.code() == asio::error::operation_aborted;
        }
      },
      asio::bind_cancellation_slot(a.signal.slot(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      }));
}

// Runs the loop for a while; restart() first, as a loop that ran out of work stays stopped.
void run(asio::io_context& io, int ms) {
  io.restart();
  io.run_for(milliseconds(ms));
}

long long ms_since(Clock::time_point t0, Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t - t0).count();
}

}  // namespace

TEST_CASE("okta_bucket names Okta's rate-limit buckets like okta-sim does") {
  CHECK(okta_bucket("GET", "/api/v1/users") == "users");
  CHECK(okta_bucket("POST", "/api/v1/users?activate=false") == "users");
  CHECK(okta_bucket("GET", "/api/v1/users/00u1abc") == "user_get");
  CHECK(okta_bucket("get", "/api/v1/users/a%40b.com") == "user_get");
  CHECK(okta_bucket("POST", "/api/v1/users/00u1abc") == "user");
  CHECK(okta_bucket("DELETE", "/api/v1/users/00u1abc") == "user");
  CHECK(okta_bucket("POST", "/api/v1/users/00u1/lifecycle/activate") == "user");
  CHECK(okta_bucket("GET", "/api/v1/users/00u1/groups") == "user");
  CHECK(okta_bucket("GET", "/api/v1/groups") == "groups");
  CHECK(okta_bucket("PUT", "/api/v1/groups/00g1/users/00u1") == "groups");
  CHECK(okta_bucket("GET", "/api/v1/apps/0oa1/users") == "apps");
  CHECK(okta_bucket("GET", "/api/v1/logs?since=x") == "logs");
  CHECK(okta_bucket("POST", "/api/v1/eventHooks/who/lifecycle/verify") == "event_hooks");
  CHECK(okta_bucket("GET", "/api/v1/meta/schemas/user/default") == "schemas");
  CHECK(okta_bucket("POST", "/oauth2/v1/token") == "oauth_token");
  CHECK(okta_bucket("GET", "/api/v1/policies") == "default");
  CHECK(okta_bucket("GET", "/.well-known/okta-organization") == "default");
  CHECK(okta_bucket("GET", "/") == "default");
  // A `next` link is a full URL; its query does not change the bucket.
  CHECK(okta_bucket("GET", "https://x.okta.com/api/v1/users?after=00u1&limit=200") == "users");
  CHECK(okta_bucket("GET", "http://127.0.0.1:8080/api/v1/users/00u1") == "user_get");
}

TEST_CASE("pacing spends the remaining budget, then waits for the reset measured against Date") {
  for (long long skew : {0LL, -3600LL, 7200LL}) {
    CAPTURE(skew);
    asio::io_context io;
    RateGovernor g(io.get_executor(), 0);
    // The server's clock is `skew` seconds off ours: only Reset - Date may matter.
    const long long date = now_epoch() + skew;
    g.observe("users", answer(200, 10, 3, date + 1, date));
    const auto t0 = Clock::now();
    Acquirer a[3];
    for (auto& x : a) start(io, g, x, "users");
    run(io, 2500);
    // 3 remaining, 1 kept in reserve: two go now, the third after the window ends (~1 s).
    REQUIRE(a[0].granted_at);
    REQUIRE(a[1].granted_at);
    REQUIRE(a[2].granted_at);
    CHECK(ms_since(t0, *a[0].granted_at) < 100);
    CHECK(ms_since(t0, *a[1].granted_at) < 100);
    CHECK(ms_since(t0, *a[2].granted_at) >= 990);
    CHECK(ms_since(t0, *a[2].granted_at) < 1400);
    CHECK(g.stats().paced_waits == 1);
    CHECK(g.stats().requests == 3);
    CHECK(g.stats().waited >= milliseconds(900));
  }
}

TEST_CASE("requests in flight count against the remaining budget before their answers come back") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  const long long date = now_epoch();
  g.observe("groups", answer(200, 50, 10, date + 1, date));
  std::vector<Acquirer> a(12);
  for (auto& x : a) start(io, g, x, "groups");
  run(io, 200);
  int granted = 0;
  for (auto& x : a) granted += x.granted_at ? 1 : 0;
  CHECK(granted == 9);  // 10 remaining minus the reserve of 1
  // An answer from the same window with a lower count is the newer one; a higher one is stale.
  g.observe("groups", answer(200, 50, 12, date + 1, date));
  run(io, 50);
  granted = 0;
  for (auto& x : a) granted += x.granted_at ? 1 : 0;
  CHECK(granted == 9);
  // The nine answers come back counting themselves: the reserve is all that is left, so the
  // rest wait for the window to end, then go at once.
  g.observe("groups", answer(200, 50, 1, date + 1, date));
  for (auto& x : a) x.permit.reset();
  run(io, 50);
  granted = 0;
  for (auto& x : a) granted += x.granted_at ? 1 : 0;
  CHECK(granted == 9);
  run(io, 1500);
  granted = 0;
  for (auto& x : a) granted += x.granted_at ? 1 : 0;
  CHECK(granted == 12);
}

TEST_CASE("an unknown bucket sends one request first; an answer without rate headers lifts pacing") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  Acquirer a[3];
  for (auto& x : a) start(io, g, x, "default");
  run(io, 100);
  CHECK(a[0].granted_at);
  CHECK_FALSE(a[1].granted_at);
  HttpResponse plain;
  plain.status = 200;
  g.observe("default", plain);
  run(io, 50);
  CHECK(a[1].granted_at);
  CHECK(a[2].granted_at);

  // With headers, the answer to the probe tells how many may follow.
  Acquirer b[3];
  for (auto& x : b) start(io, g, x, "logs");
  run(io, 50);
  CHECK(b[0].granted_at);
  CHECK_FALSE(b[1].granted_at);
  const long long date = now_epoch();
  g.observe("logs", answer(200, 100, 99, date + 60, date));
  run(io, 50);
  CHECK(b[1].granted_at);
  CHECK(b[2].granted_at);
}

TEST_CASE("a 429 holds the bucket until the reset; a concurrency 429 only briefly") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  long long date = now_epoch();
  g.observe("users", answer(200, 50, 40, date + 1, date));
  g.observe("users", answer(429, 50, 0, date + 1, date));
  CHECK(g.stats().throttled_429 == 1);
  const auto wait = g.retry_after("users");
  CHECK(wait >= milliseconds(1000));
  CHECK(wait <= milliseconds(1600));
  auto t0 = Clock::now();
  Acquirer a;
  start(io, g, a, "users");
  run(io, 2000);
  REQUIRE(a.granted_at);
  CHECK(ms_since(t0, *a.granted_at) >= 990);
  // Other buckets are not held by a bucket's 429.
  Acquirer other;
  g.observe("groups", answer(200, 50, 40, now_epoch() + 1, now_epoch()));
  t0 = Clock::now();
  start(io, g, other, "groups");
  run(io, 20);
  CHECK(other.granted_at);

  // Okta's concurrency limit answers 429 with Limit 0: back off 100-300 ms, not to the reset.
  a.permit.reset();
  other.permit.reset();
  date = now_epoch();
  g.observe("apps", answer(429, 0, 0, date + 1, date));
  CHECK(g.stats().throttled_429 == 2);
  const auto brief = g.retry_after("apps");
  CHECK(brief >= milliseconds(90));
  CHECK(brief <= milliseconds(310));
  t0 = Clock::now();
  Acquirer c;
  start(io, g, c, "apps");
  run(io, 600);
  REQUIRE(c.granted_at);
  CHECK(ms_since(t0, *c.granted_at) >= 80);
  CHECK(ms_since(t0, *c.granted_at) < 400);
}

TEST_CASE("the in-flight cap is a FIFO queue; a cancelled waiter gives its place back") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 2);
  HttpResponse plain;
  plain.status = 200;
  g.observe("default", plain);  // unmetered: only the cap applies
  std::vector<int> order;
  Acquirer a[6];
  for (int i = 0; i < 6; ++i) start(io, g, a[i], "default", &order, i);
  run(io, 50);
  CHECK(order == std::vector<int>{0, 1});
  // Waiter 2 is cancelled while queued: it leaves with operation_aborted and takes nothing.
  a[2].signal.emit(asio::cancellation_type::terminal);
  run(io, 20);
  CHECK(a[2].cancelled);
  a[0].permit.reset();
  run(io, 20);
  CHECK(order == std::vector<int>{0, 1, 3});
  // Waiter 4 is handed the slot and cancelled before it resumes: it must give the slot back,
  // so waiter 5 gets it.
  // (Both from inside the loop, as the engine would: co_spawn delivers a cancellation from
  // outside the loop's thread later, through the executor.)
  asio::post(io, [&a] {
    a[1].permit.reset();
    a[4].signal.emit(asio::cancellation_type::terminal);
  });
  run(io, 20);
  CHECK(a[4].cancelled);
  CHECK(order == std::vector<int>{0, 1, 3, 5});
  // Nothing leaked: with 3 and 5 done, two new requests go at once.
  a[3].permit.reset();
  a[5].permit.reset();
  Acquirer b[2];
  start(io, g, b[0], "default");
  start(io, g, b[1], "default");
  run(io, 20);
  CHECK(b[0].granted_at);
  CHECK(b[1].granted_at);
}

TEST_CASE("a cancelled wait for the rate limit leaves promptly and frees its reservation") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  const long long date = now_epoch();
  g.observe("users", answer(200, 10, 1, date + 30, date));  // spent for 30 s
  Acquirer a;
  start(io, g, a, "users");
  run(io, 30);
  CHECK_FALSE(a.granted_at);
  const auto t0 = Clock::now();
  a.signal.emit(asio::cancellation_type::terminal);
  run(io, 30);
  CHECK(a.cancelled);
  CHECK(Clock::now() - t0 < milliseconds(200));
}

TEST_CASE("an alias's own cap applies on top of its connection's governor") {
  asio::io_context io;
  auto conn = std::make_shared<RateGovernor>(io.get_executor(), 3);
  RateGovernor alias(conn, 1);
  HttpResponse plain;
  plain.status = 200;
  alias.observe("default", plain);  // shared buckets: the connection learns it
  Acquirer a[2], c[3];
  start(io, alias, a[0], "default");
  start(io, alias, a[1], "default");
  run(io, 20);
  CHECK(a[0].granted_at);
  CHECK_FALSE(a[1].granted_at);  // the alias's cap of 1
  for (auto& x : c) start(io, *conn, x, "default");
  run(io, 20);
  CHECK(c[0].granted_at);
  CHECK(c[1].granted_at);
  CHECK_FALSE(c[2].granted_at);  // the connection's cap of 3, the alias holding one
  a[0].permit.reset();
  run(io, 20);
  // The freed connection slot goes to the first in the connection's queue.
  CHECK(c[2].granted_at);
  CHECK_FALSE(a[1].granted_at);
  c[0].permit.reset();
  run(io, 20);
  CHECK(a[1].granted_at);
  CHECK(alias.stats().requests == conn->stats().requests);
}

TEST_CASE("concurrency 429s teach the governor the org's concurrency limit") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  HttpResponse plain;
  plain.status = 200;
  g.observe("default", plain);
  std::vector<Acquirer> a(6);
  for (auto& x : a) start(io, g, x, "default");
  run(io, 20);
  for (auto& x : a) CHECK(x.granted_at);
  // Two of the six in flight were refused as too many: four at once is what the org allows.
  const long long date = now_epoch();
  g.observe("default", answer(429, 0, 0, date + 1, date));
  g.observe("default", answer(429, 0, 0, date + 1, date));
  for (auto& x : a) x.permit.reset();
  std::vector<Acquirer> b(6);
  for (auto& x : b) start(io, g, x, "default");
  run(io, 450);  // past the brief hold
  int granted = 0;
  for (auto& x : b) granted += x.granted_at ? 1 : 0;
  CHECK(granted == 4);
  // Answers without a 429 raise the cap again, one at a time.
  for (int i = 0; i < 16; ++i) g.observe("default", plain);
  run(io, 20);
  granted = 0;
  for (auto& x : b) granted += x.granted_at ? 1 : 0;
  CHECK(granted == 5);
}

namespace {

// Runs the loop until `done` holds or `max_ms` passed (a bound that only a hang reaches).
template <class Pred>
bool run_until(asio::io_context& io, Pred done, int max_ms) {
  const auto deadline = Clock::now() + milliseconds(max_ms);
  while (!done() && Clock::now() < deadline) run(io, 20);
  return done();
}

}  // namespace

TEST_CASE("a bucket whose limit is 1 still lets one request through per window, after a 429 too") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  long long date = now_epoch();
  // The window's one request is spent and a second was refused with a 429 (the reset is 1-2 s
  // away, so the "not yet" below cannot race it).
  g.observe("logs", answer(200, 1, 0, date + 2, date));
  g.observe("logs", answer(429, 1, 0, date + 2, date));
  Acquirer a, b;
  start(io, g, a, "logs");
  // Not before the reset, but once it has passed (no reserve can be kept out of a budget of one).
  run(io, 20);
  CHECK_FALSE(a.granted_at);
  REQUIRE(run_until(io, [&] { return a.granted_at.has_value(); }, 10000));
  // One per window: the next waits for the first's answer and then for that window's end.
  start(io, g, b, "logs");
  run(io, 100);
  CHECK_FALSE(b.granted_at);
  date = now_epoch();
  g.observe("logs", answer(200, 1, 0, date + 2, date));
  a.permit.reset();
  run(io, 20);
  CHECK_FALSE(b.granted_at);
  REQUIRE(run_until(io, [&] { return b.granted_at.has_value(); }, 10000));
  CHECK(g.stats().requests == 2);
}

TEST_CASE("a bucket whose limit is 1 with budget left in a fresh window sends at once") {
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  const long long date = now_epoch();
  g.observe("schemas", answer(200, 1, 1, date + 60, date));
  Acquirer a;
  start(io, g, a, "schemas");
  CHECK(run_until(io, [&] { return a.granted_at.has_value(); }, 10000));
}

namespace {

// A shared budget the test answers by hand: it records what was asked and learnt.
struct FakeBudget final : spokeflow::http::SharedBudget {
  struct Ask {
    std::string bucket;
    int want;
    std::int64_t now_ms;
    std::function<void(spokeflow::http::BudgetGrant)> done;
  };
  std::vector<Ask> asks;
  std::vector<std::pair<std::string, long long>> learnt;  // bucket, remaining
  void take(const std::string& bucket, int want, std::int64_t now_ms,
            std::function<void(spokeflow::http::BudgetGrant)> done) override {
    asks.push_back(Ask{bucket, want, now_ms, std::move(done)});
  }
  void learn(const std::string& bucket, long long, long long remaining, std::int64_t) override {
    learnt.emplace_back(bucket, remaining);
  }
  // Answers the oldest open ask.
  void answer(spokeflow::http::BudgetGrant g) {
    REQUIRE_FALSE(asks.empty());
    auto done = std::move(asks.front().done);
    asks.erase(asks.begin());
    done(g);
  }
};

int granted_count(const std::vector<Acquirer>& a) {
  int n = 0;
  for (const auto& x : a) n += x.granted_at ? 1 : 0;
  return n;
}

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("with a shared budget, requests of a metered bucket go only on its permits; a spent one is asked again when it says") {
  using spokeflow::http::BudgetGrant;
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  auto budget = std::make_shared<FakeBudget>();
  g.share_budget(budget);
  const long long date = now_epoch();
  // Plenty left as far as this process can see: only the budget holds them back.
  g.observe("users", answer(200, 600, 599, date + 60, date));
  REQUIRE(budget->learnt.size() == 1);  // the answer was told to the budget
  CHECK(budget->learnt[0].second == 599);
  std::vector<Acquirer> a(8);
  for (auto& x : a) start(io, g, x, "users");
  run(io, 30);
  CHECK(granted_count(a) == 0);
  REQUIRE(budget->asks.size() == 1);  // one ask at a time
  CHECK(budget->asks[0].bucket == "users");
  CHECK(budget->asks[0].want == 1);  // the first came alone
  CHECK(std::llabs(budget->asks[0].now_ms - epoch_ms()) < 5000);  // the org's clock, from Date
  const std::int64_t now = epoch_ms();
  BudgetGrant three;
  three.permits = 3;
  three.valid_until_ms = now + 60'000;
  budget->answer(three);
  run(io, 30);
  CHECK(granted_count(a) == 3);
  // The permits are used up: it asks again, for the five waiting; spent, retry in 300 ms.
  REQUIRE(budget->asks.size() == 1);
  CHECK(budget->asks[0].want == 5);
  BudgetGrant spent;
  spent.retry_at_ms = now + 300;
  budget->answer(spent);
  run(io, 100);
  CHECK(budget->asks.empty());
  CHECK(granted_count(a) == 3);
  REQUIRE(run_until(io, [&] { return !budget->asks.empty(); }, 5000));
  budget->answer(three);
  run(io, 30);
  CHECK(granted_count(a) == 6);
  CHECK(g.stats().shared_takes == 4);  // and it asks for the two still waiting
}

TEST_CASE("with a shared budget: an unknown bucket probes once; an unreachable budget leaves pacing to the governor alone") {
  using spokeflow::http::BudgetGrant;
  asio::io_context io;
  RateGovernor g(io.get_executor(), 0);
  auto budget = std::make_shared<FakeBudget>();
  g.share_budget(budget);
  std::vector<Acquirer> a(3);
  for (auto& x : a) start(io, g, x, "logs");
  run(io, 30);
  REQUIRE(budget->asks.size() == 1);
  BudgetGrant unknown;
  unknown.kind = BudgetGrant::Kind::unknown;
  budget->answer(unknown);
  run(io, 30);
  CHECK(granted_count(a) == 1);  // the probe
  // Its answer tells the budget, and the others wait for permits from it.
  const long long date = now_epoch();
  g.observe("logs", answer(200, 100, 99, date + 60, date));
  a[0].permit.reset();
  run(io, 30);
  CHECK(granted_count(a) == 1);
  REQUIRE(budget->asks.size() == 1);
  // The database is gone: the governor's own pacing (99 left) lets them go.
  BudgetGrant gone;
  gone.kind = BudgetGrant::Kind::unavailable;
  budget->answer(gone);
  run(io, 30);
  CHECK(granted_count(a) == 3);
  CHECK(budget->asks.empty());
}
