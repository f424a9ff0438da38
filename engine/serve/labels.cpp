#include "serve/labels.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "common/embedded_schemas.hpp"
#include "serve/api.hpp"

namespace spokeflow::serve {
namespace {

// Every route the service has: the paths of its OpenAPI document (a test checks that they are
// the routes it answers), each split once; "{...}" matches one segment. Literal routes come
// before templated ones, so that a literal one wins a tie.
struct Route {
  std::string text;
  std::vector<std::string> parts;
};

std::vector<std::string> split(std::string_view route) {
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i < route.size()) {
    const std::size_t j = std::min(route.find('/', i), route.size());
    out.emplace_back(route.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

const std::vector<Route>& routes() {
  static const std::vector<Route> all = [] {
    std::vector<Route> out;
    const auto& schemas = embedded_schemas();
    auto doc = schemas.find("api/openapi.json");
    if (doc == schemas.end()) return out;
    const Json parsed = Json::parse(doc->second);  // a range-for over a temporary's member would dangle
    for (const auto& [path, _] : parsed.at("paths").items()) out.push_back({path, split(path)});
    std::stable_sort(out.begin(), out.end(), [](const Route& a, const Route& b) {
      return std::count(a.text.begin(), a.text.end(), '{') < std::count(b.text.begin(), b.text.end(), '{');
    });
    return out;
  }();
  return all;
}

bool matches(const Route& route, const std::vector<std::string>& seg) {
  const auto& parts = route.parts;
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
  for (const Route& route : routes())
    if (matches(route, *seg)) return route.text;
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
