#pragma once
// The rate governor: one per org (connection), paces requests per endpoint bucket so that
// Okta's X-Rate-Limit-Remaining never reaches zero, caps requests in flight, and after a 429
// holds the bucket until X-Rate-Limit-Reset (measured against the answer's Date header, so a
// skewed local clock does not matter) plus a little jitter.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_client.hpp"
#include "http/shared_budget.hpp"

namespace spokeflow::http {

// Okta's rate-limit bucket of a request ("users", "user_get", "groups", "apps", "logs", ...):
// the same buckets okta-sim and Okta's rate-limit documentation use; "default" otherwise.
std::string okta_bucket(std::string_view method, std::string_view path);
// A header holding a whole number (X-Rate-Limit-Remaining, ...); nullopt when absent or not one.
std::optional<long long> header_integer(const HttpResponse& response, std::string_view name);

struct GovernorStats {
  std::uint64_t requests = 0;
  std::uint64_t throttled_429 = 0;     // answers with status 429
  std::uint64_t paced_waits = 0;       // times a request waited for pacing
  std::chrono::milliseconds waited{0}; // total time spent waiting for pacing / resets
  std::uint64_t shared_takes = 0;      // times permits were asked of the shared budget
};

class RateGovernor {
 public:
  // max_in_flight 0 = no cap.
  RateGovernor(boost::asio::any_io_executor executor, int max_in_flight);
  // An alias's extra cap: at most `max_in_flight` of its requests at once, paced and capped
  // by the connection's governor `parent` as well (whose buckets and stats it shares).
  RateGovernor(const std::shared_ptr<RateGovernor>& parent, int max_in_flight);
  ~RateGovernor();

  // From now on a request of a metered bucket also needs a permit of `budget`, which other
  // processes calling the same org share (taken a few at a time; see shared_budget.hpp). While
  // the budget cannot be reached the governor paces from its own view alone, as without one.
  // On an alias's governor it is its connection's governor that consults it.
  void share_budget(std::shared_ptr<SharedBudget> budget);

  // Held while one request is in flight; releases its concurrency slot on destruction.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&&) noexcept;
    Permit& operator=(Permit&&) noexcept;
    ~Permit();

   private:
    friend class RateGovernor;
    std::shared_ptr<void> slot_;
  };

  // Waits (cancellably) until a request to `bucket` may go: a concurrency slot is free, the
  // bucket is not held after a 429, and the pacing for the bucket's remaining budget allows.
  boost::asio::awaitable<Permit> acquire(const std::string& bucket);
  // Learns from an answer's X-Rate-Limit-Limit/Remaining/Reset and Date headers; a 429 holds
  // the bucket until the reset.
  void observe(const std::string& bucket, const HttpResponse& response);
  // The wait before retrying after a 429 on `bucket` (reset - date + jitter, at least 1 s).
  std::chrono::milliseconds retry_after(const std::string& bucket) const;
  const GovernorStats& stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace spokeflow::http
