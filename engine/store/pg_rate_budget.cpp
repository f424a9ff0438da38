#include "store/pg_rate_budget.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace spokeflow::store {
namespace pg {
namespace {

// The row is locked (FOR UPDATE) and read once; what is written comes from what was read, so
// takers at the same moment queue on the row and each sees the one before. A window that is
// over (by the taker's reckoning of the org's clock) is replaced by an opened one: nothing
// taken, end unknown until an answer tells it. The margin is the rate governor's: 2 of a limit
// of 100 or more, else 1, never the whole window.
constexpr const char* kTake = R"sql(WITH cur AS (
  SELECT org, bucket, lim, taken, remaining, window_end, prev_end, opened_at,
         (window_end > 0 AND $4::bigint >= window_end) OR (window_end = 0 AND $4::bigint >= opened_at + $6::bigint) AS opening
  FROM rate_budget WHERE org = $1 AND bucket = $2 FOR UPDATE),
win AS (
  SELECT org, bucket, lim,
         CASE WHEN opening THEN 0 ELSE taken END AS taken,
         CASE WHEN opening THEN NULL ELSE remaining END AS remaining,
         CASE WHEN opening THEN 0 ELSE window_end END AS window_end,
         CASE WHEN opening AND window_end > 0 THEN window_end ELSE prev_end END AS prev_end,
         CASE WHEN opening THEN $4::bigint ELSE opened_at END AS opened_at
  FROM cur),
g AS (
  SELECT win.*,
         CASE WHEN window_end > 0 AND $4::bigint >= window_end - $5::bigint THEN 0
              ELSE GREATEST(0, LEAST($3::bigint, lim - LEAST(CASE WHEN lim >= 100 THEN 2 ELSE 1 END, GREATEST(lim - 1, 0))
                                                  - taken)) END AS granted
  FROM win)
UPDATE rate_budget r SET taken = g.taken + g.granted, remaining = g.remaining, window_end = g.window_end,
  prev_end = g.prev_end, opened_at = g.opened_at
FROM g WHERE r.org = g.org AND r.bucket = g.bucket
RETURNING g.granted, g.lim, g.window_end, g.opened_at
)sql";

// What the org said was used (limit - remaining) is folded into `taken` when it is more: it
// counts requests made outside the budget (and a probe's), and permits taken after the answer
// add to it. An answer of the current window lowers `remaining`; the first answer of an opened
// window tells its end; one of a newer window than the row's (nobody opened it: a request
// outside the budget, or a taker whose clock lags) starts that window with what the org said
// was used; an answer of an older window changes nothing.
constexpr const char* kLearn = R"sql(INSERT INTO rate_budget AS r (org, bucket, lim, window_end, prev_end, opened_at, taken, remaining)
VALUES($1, $2, $3::bigint, $5::bigint, 0, 0, GREATEST(0, $3::bigint - $4::bigint), $4::bigint)
ON CONFLICT(org, bucket) DO UPDATE SET
  lim = excluded.lim,
  remaining = CASE WHEN r.window_end > 0 AND excluded.window_end > r.window_end THEN excluded.remaining
                   ELSE LEAST(COALESCE(r.remaining, excluded.remaining), excluded.remaining) END,
  taken = CASE WHEN r.window_end > 0 AND excluded.window_end > r.window_end THEN excluded.taken
               ELSE GREATEST(r.taken, excluded.taken) END,
  prev_end = CASE WHEN r.window_end > 0 AND excluded.window_end > r.window_end THEN r.window_end ELSE r.prev_end END,
  window_end = excluded.window_end
WHERE (r.window_end > 0 AND excluded.window_end >= r.window_end) OR (r.window_end = 0 AND excluded.window_end > r.prev_end)
)sql";

}  // namespace

RateTake take_permits(Conn& c, const std::string& org, const std::string& bucket, int want, std::int64_t now_ms) {
  Params p;
  p.add(org).add(bucket).add(static_cast<std::int64_t>(std::max(0, want))).add(now_ms).add(kBudgetGuardMs).add(kBudgetOpenWindowMs);
  Result r = c.run("rate_take", kTake, p);
  RateTake out;
  if (r.rows() == 0) return out;
  out.known = true;
  out.granted = static_cast<int>(r.integer(0, 0));
  out.limit = r.integer(0, 1);
  out.window_end_ms = r.integer(0, 2);
  const std::int64_t opened_at = r.integer(0, 3);
  if (out.window_end_ms > 0) {
    out.valid_until_ms = out.window_end_ms - kBudgetGuardMs;
    out.retry_at_ms = out.window_end_ms;  // spent, or too close to its end: the next window
  } else {
    // Just opened: windows last a second at the very least, and the first answer tells its end.
    out.valid_until_ms = std::max(opened_at, now_ms) + kBudgetGuardMs;
    out.retry_at_ms = now_ms + 200;
  }
  return out;
}

void learn_window(Conn& c, const std::string& org, const std::string& bucket, std::int64_t limit, std::int64_t remaining,
                  std::int64_t reset_ms) {
  Params p;
  p.add(org).add(bucket).add(limit).add(remaining).add(reset_ms);
  c.run("rate_learn", kLearn, p);
}

}  // namespace pg

namespace {
// How the budget's connection shows in pg_stat_activity.
void name_connection(pg::Conn& c) { c.exec("SET application_name = 'spokeflow rate budget'"); }
}  // namespace

PgRateBudget::PgRateBudget(const std::string& url) : conn_(url) {
  name_connection(conn_);
  thread_ = std::thread([this] { serve(); });
}

PgRateBudget::~PgRateBudget() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void PgRateBudget::take(std::string org, std::string bucket, int want, std::int64_t now_ms,
                        std::function<void(std::optional<RateTake>)> done) {
  {
    std::lock_guard lock(mutex_);
    takes_.push_back(Take{std::move(org), std::move(bucket), want, now_ms, std::move(done)});
  }
  wake_.notify_one();
}

void PgRateBudget::learn(const std::string& org, const std::string& bucket, std::int64_t limit, std::int64_t remaining,
                         std::int64_t reset_ms) {
  {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = learnt_.try_emplace({org, bucket}, Learnt{limit, remaining, reset_ms});
    Learnt& l = it->second;
    if (!fresh) {
      // Of one window the lowest remaining is the latest word; of two, the newer window's.
      if (reset_ms > l.reset_ms) l = Learnt{limit, remaining, reset_ms};
      else if (reset_ms == l.reset_ms) l.remaining = std::min(l.remaining, remaining), l.limit = limit;
    }
  }
  wake_.notify_one();
}

template <class Fn>
bool PgRateBudget::attempt(Fn&& fn) {
  const auto now = std::chrono::steady_clock::now();
  if (down_) {
    if (now < next_reconnect_) return false;
    next_reconnect_ = now + std::chrono::seconds(2);
    try {
      conn_.reconnect();
      name_connection(conn_);
    } catch (const std::exception&) {
      return false;
    }
    down_ = false;
    spdlog::info("rate budget: the database is reachable again; the Okta rate budget is shared again");
  }
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    if (conn_.ok()) {
      // The statement failed, not the connection: said, and this take answered unavailable.
      spdlog::warn("rate budget: {}; this request is paced by this process alone", e.what());
      return false;
    }
    down_ = true;
    next_reconnect_ = now + std::chrono::seconds(2);
    spdlog::warn("rate budget: lost the database ({}); each process paces its Okta calls on its own until it is back",
                 e.what());
    return false;
  }
}

void PgRateBudget::serve() {
  pthread_setname_np(pthread_self(), "spokeflow-rate");
  for (;;) {
    std::map<std::pair<std::string, std::string>, Learnt> learnt;
    std::optional<Take> take;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !takes_.empty() || !learnt_.empty(); });
      if (stopping_) {
        // Nobody waits long for these: the process is stopping.
        for (auto& t : takes_) t.done(std::nullopt);
        return;
      }
      learnt.swap(learnt_);
      if (!takes_.empty()) {
        take.emplace(std::move(takes_.front()));
        takes_.pop_front();
      }
    }
    // What answers said first: a take after them sees it.
    for (const auto& entry : learnt) {  // not a structured binding: clang 15 refuses capturing one
      const auto& key = entry.first;
      const auto& l = entry.second;
      attempt([&] { pg::learn_window(conn_, key.first, key.second, l.limit, l.remaining, l.reset_ms); });
    }
    if (!take) continue;
    std::optional<RateTake> result;
    if (!attempt([&] { result = pg::take_permits(conn_, take->org, take->bucket, take->want, take->now_ms); }))
      result.reset();
    take->done(std::move(result));
  }
}

}  // namespace spokeflow::store
