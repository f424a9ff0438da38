#pragma once
// What a connection's client tells whoever counts its traffic (the service's metrics): one call
// per HTTP exchange, each attempt and retry included. The engine knows nothing of how it is
// counted; without an observer nothing is.
#include <cstdint>
#include <optional>
#include <string_view>

namespace spokeflow::http {

class CallObserver {
 public:
  virtual ~CallObserver() = default;
  // `connection`: the connections file's name for it; `bucket`: Okta's rate-limit bucket of the
  // request (okta_bucket); `status`: the answer's HTTP status, 0 when none came (network error,
  // timeout); `rate_remaining`: its X-Rate-Limit-Remaining when it had one. Called on the event
  // loop; must be cheap and must not throw.
  virtual void answered(std::string_view connection, std::string_view bucket, int status,
                        std::optional<std::int64_t> rate_remaining) noexcept = 0;
};

}  // namespace spokeflow::http
