#pragma once
// A rate budget that several processes calling one org share (docs/SCALE-OUT.md, "One Okta
// rate budget"): the rate governor asks it for a few permits of a bucket's current window at a
// time and tells it what each answer's rate headers said. Times are the org's clock (epoch
// milliseconds, as its Date and X-Rate-Limit-Reset headers tell it). One instance serves one
// org. The PostgreSQL store implements it; without one (SQLite, one process) the governor
// paces from its own view alone.
#include <cstdint>
#include <functional>
#include <string>

namespace spokeflow::http {

struct BudgetGrant {
  enum class Kind {
    granted,      // `permits` (maybe 0) of the bucket's current window
    unknown,      // nothing is known of the bucket yet: one request may go to learn its limit
    unavailable,  // the budget cannot be reached: pace from this process's own view for now
  };
  Kind kind = Kind::granted;
  int permits = 0;
  std::int64_t valid_until_ms = 0;  // the permits are not used after this (org clock)
  std::int64_t retry_at_ms = 0;     // none granted: ask again then (org clock)
};

class SharedBudget {
 public:
  virtual ~SharedBudget() = default;
  // Asks for up to `want` permits of `bucket`, `now_ms` being the org's time as the caller
  // reckons it. `done` is called once, on any thread, and must not call the budget.
  virtual void take(const std::string& bucket, int want, std::int64_t now_ms, std::function<void(BudgetGrant)> done) = 0;
  // What an answer said: the bucket's limit, what remains of the window ending at `reset_ms`.
  virtual void learn(const std::string& bucket, long long limit, long long remaining, std::int64_t reset_ms) = 0;
};

}  // namespace spokeflow::http
