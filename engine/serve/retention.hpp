#pragma once
// Retention for the service: `retention:` in serve.yaml, applied by `serve` at start and then
// every `interval`. Finished executions only (the store never purges queued, running or
// waiting ones, nor a subflow's execution without its top-level one); a pass deletes in small
// batches, each its own short transaction on the store's thread, with a pause after each so
// that the queue's own writes go first.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/duration.hpp"
#include "store/store.hpp"

namespace spokeflow::serve {

// Either bound removes what it names: older than max_age, or beyond the newest keep_last of
// the flow. 0 = no such bound.
struct RetentionRule {
  Millis max_age{0};
  int keep_last = 0;
  bool empty() const { return max_age.count() <= 0 && keep_last <= 0; }
};

struct RetentionConfig {
  bool enabled = false;               // a `retention:` section was given
  Millis interval{3'600'000};         // between passes
  int batch = 100;                    // top-level executions per transaction
  RetentionRule all;                  // every flow without a rule of its own
  std::map<std::string, RetentionRule> flows;  // per flow: replaces `all` for that flow
};

// The purges one pass makes, in order (each run until the store says there is no more).
std::vector<store::PurgeFilter> retention_filters(const RetentionConfig& config, std::int64_t now_ms);

class Retention {
 public:
  Retention(store::ExecutionStore& store, RetentionConfig config, std::function<std::int64_t()> clock);
  ~Retention();
  // One pass; the number of executions deleted (subflows' included).
  boost::asio::awaitable<std::int64_t> pass();
  // A pass at once, then one every interval, until stop().
  boost::asio::awaitable<void> run();
  void stop();

 private:
  store::ExecutionStore& store_;
  RetentionConfig config_;
  std::function<std::int64_t()> clock_;
  bool stopping_ = false;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace spokeflow::serve
