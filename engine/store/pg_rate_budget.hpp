#pragma once
// One Okta rate budget for every process of a PostgreSQL store (docs/SCALE-OUT.md, "One Okta
// rate budget"). The table rate_budget holds a row per (org, bucket): the bucket's current
// window as the org announced it (its end, its limit, the lowest remaining it answered) and the
// permits processes have taken of it. A process takes a few permits in one statement, tells the
// table what each answer's headers said, and waits for the window's end when it is spent.
// Times are the org's clock in epoch milliseconds (what its Date and X-Rate-Limit-Reset say).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "store/pg_conn.hpp"

namespace spokeflow::store {

struct RateTake {
  bool known = false;              // false: no process has told the table of this bucket yet
  int granted = 0;                 // permits granted
  std::int64_t limit = 0;
  std::int64_t window_end_ms = 0;  // 0: a window was opened, its end is not known yet
  std::int64_t valid_until_ms = 0; // the permits are not to be used after this
  std::int64_t retry_at_ms = 0;    // none granted: ask again then
};

namespace pg {

// Permits stop being granted this long before a window's end: a request sent just before it
// could reach the org after it and count against the next window, which nobody took it from.
inline constexpr std::int64_t kBudgetGuardMs = 1000;
// A window opened whose end no answer ever told is given up after this (a new one is opened).
inline constexpr std::int64_t kBudgetOpenWindowMs = 60'000;

// Up to `want` permits of the current window of (org, bucket), at the org's time `now_ms`. A
// window that is over is replaced by a new one (its end learnt from the next answer). Never
// grants more than the limit less a small margin, counting what was taken (raised to what the
// org said was used when that was more). One statement, on its own (not inside a transaction).
RateTake take_permits(Conn& c, const std::string& org, const std::string& bucket, int want, std::int64_t now_ms);
// What an answer said of (org, bucket): its limit, what remains of the window ending at
// `reset_ms`. An answer of a newer window starts that window; one of an older window is ignored.
void learn_window(Conn& c, const std::string& org, const std::string& bucket, std::int64_t limit, std::int64_t remaining,
                  std::int64_t reset_ms);

}  // namespace pg

// A process's way to the table: a connection and a thread of its own, so that the event loop
// never waits on the database, and the budget's statements commit at once instead of waiting in
// the store's batch of journal writes (holding the row other processes need). Answers of the
// same bucket are merged while the thread is busy, so that busy buckets cost a write now and
// then, not one per answer. When the database cannot be reached, takes answer nullopt (callers
// pace on their own) and the log says so once; it connects again at most every 2 s.
class PgRateBudget {
 public:
  // Connects; throws std::runtime_error (naming the store without its password) when it cannot.
  explicit PgRateBudget(const std::string& url);
  ~PgRateBudget();
  PgRateBudget(const PgRateBudget&) = delete;
  PgRateBudget& operator=(const PgRateBudget&) = delete;

  // `done` runs on the budget's thread: nullopt when the database cannot be reached.
  void take(std::string org, std::string bucket, int want, std::int64_t now_ms,
            std::function<void(std::optional<RateTake>)> done);
  void learn(const std::string& org, const std::string& bucket, std::int64_t limit, std::int64_t remaining,
             std::int64_t reset_ms);

 private:
  struct Take {
    std::string org, bucket;
    int want = 0;
    std::int64_t now_ms = 0;
    std::function<void(std::optional<RateTake>)> done;
  };
  struct Learnt {
    std::int64_t limit = 0, remaining = 0, reset_ms = 0;
  };
  void serve();
  // Runs `fn` on the connection; false (logged once per outage) when the database is unreachable.
  template <class Fn>
  bool attempt(Fn&& fn);

  pg::Conn conn_;
  bool down_ = false;
  std::chrono::steady_clock::time_point next_reconnect_{};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Take> takes_;
  std::map<std::pair<std::string, std::string>, Learnt> learnt_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace spokeflow::store
