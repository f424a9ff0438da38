#pragma once
// What an HTTP client did on its own during one step run: the requests it sent again (after a
// 429, a 5xx or a network error) and how long it waited, before them and for the rate limit.
// The engine records it with the step run: a slow step can then be told from a slow Okta.
#include <cstdint>
#include <string>

#include "common/json.hpp"

namespace spokeflow {

struct CallActivity {
  // Retries kept in the record; more are counted, not listed.
  static constexpr std::size_t kListed = 20;

  Json retries = Json::array();  // {method, path, attempt, status, kind, code, wait_ms}
  std::size_t retry_count = 0;
  std::int64_t retry_wait_ms = 0;  // slept before those retries
  std::int64_t rate_wait_ms = 0;   // waited for the rate limit's permits
  // Who the calls are for, as fields of the client's log lines (execution_id, flow, step,
  // attempt); set only when those (debug) lines are written.
  Json log_fields;

  bool empty() const { return retry_count == 0 && rate_wait_ms == 0; }

  // `status` 0 when no answer came (a network error, a timeout).
  void retried(const std::string& method, const std::string& path, int attempt, int status, std::string_view kind,
               const std::string& code, std::int64_t wait_ms) {
    ++retry_count;
    retry_wait_ms += wait_ms;
    if (retries.size() >= kListed) return;
    retries.push_back({{"method", method},
                       {"path", path},
                       {"attempt", attempt},
                       {"status", status ? Json(status) : Json()},
                       {"kind", kind},
                       {"code", code.empty() ? Json() : Json(code)},
                       {"wait_ms", wait_ms}});
  }

  Json to_json() const {
    return {{"retries", retry_count}, {"retry_wait_ms", retry_wait_ms}, {"rate_wait_ms", rate_wait_ms}, {"retried", retries}};
  }
};

}  // namespace spokeflow
