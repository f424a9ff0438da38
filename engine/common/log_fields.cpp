#include "common/log_fields.hpp"

namespace spokeflow {
namespace {
thread_local const Json* t_fields = nullptr;
}  // namespace

const Json* current_log_fields() { return t_fields; }

namespace detail {
LogFieldsScope::LogFieldsScope(const Json* fields) : previous_(t_fields) { t_fields = fields; }
LogFieldsScope::~LogFieldsScope() { t_fields = previous_; }
}  // namespace detail

Json execution_fields(std::string_view execution_id, std::string_view flow, std::string_view step) {
  Json j = Json::object();
  if (!execution_id.empty()) j["execution_id"] = std::string(execution_id);
  if (!flow.empty()) j["flow"] = std::string(flow);
  if (!step.empty()) j["step"] = std::string(step);
  return j;
}

}  // namespace spokeflow
