#include "serve/labels.hpp"

#include <array>
#include <optional>
#include <vector>

#include "serve/api.hpp"

namespace spokeflow::serve {
namespace {

// Every route the service has, as documented in schemas/api/openapi.json; "{...}" matches one
// segment. Literal routes come before templated ones of the same shape.
constexpr std::array kRoutes = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/flows",
    "/api/v1/flows/{name}",
    "/api/v1/flows/{name}/executions",
    "/api/v1/actions",
    "/api/v1/actions/{name}",
    "/api/v1/executions",
    "/api/v1/executions/{id}",
    "/api/v1/executions/{id}/events",
    "/api/v1/executions/{id}/cancel",
    "/api/v1/executions/{id}/retry",
    "/api/v1/executions/{id}/rerun",
    "/hooks/okta/{name}",
};

std::vector<std::string_view> split(std::string_view route) {
  std::vector<std::string_view> out;
  std::size_t i = 1;
  while (i < route.size()) {
    const std::size_t j = std::min(route.find('/', i), route.size());
    out.push_back(route.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool matches(std::string_view route, const std::vector<std::string>& seg) {
  const auto parts = split(route);
  if (parts.size() != seg.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool param = !parts[i].empty() && parts[i].front() == '{';
    if (!param && parts[i] != seg[i]) return false;
  }
  return true;
}

}  // namespace

std::string route_template(std::string_view path) {
  auto seg = path_segments(std::string(path));
  if (!seg) return "other";
  for (const char* route : kRoutes)
    if (matches(route, *seg)) return route;
  return "other";
}

std::string_view method_label(std::string_view method) {
  for (std::string_view m : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
    if (method == m) return m;
  return "other";
}

std::string_view trigger_label(const Json& trigger) {
  if (!trigger.is_object()) return "other";
  auto it = trigger.find("type");
  if (it == trigger.end() || !it->is_string()) return "other";
  const auto& type = it->get_ref<const std::string&>();
  for (std::string_view t : {"api", "rerun", "okta_event", "schedule", "cli"})
    if (type == t) return t;
  return "other";
}

std::string status_label(int status) {
  if (status == 0) return "none";
  if (status < 100 || status > 599) return "other";
  return std::to_string(status);
}

}  // namespace spokeflow::serve
