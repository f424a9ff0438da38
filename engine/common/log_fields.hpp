#pragma once
// Log lines with structured fields (execution_id, flow, step, request_id, ...). The fields ride
// beside spdlog's message: log_with() makes them the current thread's fields for the one call,
// and the sinks (engine/cli/logging.cpp) read them back: the JSON format writes each as a key of
// the line's object, the text format as "[execution_id step] message key=value ...". spdlog's
// sinks run synchronously on the calling thread, so no other line can see them.
#include <spdlog/spdlog.h>

#include <utility>

#include "common/json.hpp"

namespace spokeflow {

// The fields of the line being written on this thread (null outside log_with()).
const Json* current_log_fields();

namespace detail {
class LogFieldsScope {
 public:
  explicit LogFieldsScope(const Json* fields);
  ~LogFieldsScope();
  LogFieldsScope(const LogFieldsScope&) = delete;
  LogFieldsScope& operator=(const LogFieldsScope&) = delete;

 private:
  const Json* previous_;
};
}  // namespace detail

// Logs `fmt` with `fields` (a JSON object; strings are scrubbed of secrets like the message).
template <class... Args>
void log_with(spdlog::level::level_enum level, const Json& fields, spdlog::format_string_t<Args...> fmt,
              Args&&... args) {
  if (!spdlog::should_log(level)) return;
  detail::LogFieldsScope scope(&fields);
  spdlog::log(level, fmt, std::forward<Args>(args)...);
}

// The fields of a line about one execution (and one of its steps when `step` is not empty).
Json execution_fields(std::string_view execution_id, std::string_view flow = {}, std::string_view step = {});

}  // namespace spokeflow
