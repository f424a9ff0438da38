#include "common/error.hpp"

#include <array>

namespace spokeflow {
namespace {
constexpr std::array<std::pair<ErrorKind, std::string_view>, 11> kNames{{
    {ErrorKind::validation, "validation"},
    {ErrorKind::network, "network"},
    {ErrorKind::timeout, "timeout"},
    {ErrorKind::rate_limited, "rate_limited"},
    {ErrorKind::server, "server"},
    {ErrorKind::auth, "auth"},
    {ErrorKind::okta, "okta"},
    {ErrorKind::http, "http"},
    {ErrorKind::action, "action"},
    {ErrorKind::cancelled, "cancelled"},
    {ErrorKind::internal, "internal"},
}};
}  // namespace

std::string_view to_string(ErrorKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "internal";
}

std::optional<ErrorKind> error_kind_from_string(std::string_view text) {
  for (const auto& [k, name] : kNames)
    if (name == text) return k;
  return std::nullopt;
}

bool is_transient(ErrorKind kind) {
  return kind == ErrorKind::network || kind == ErrorKind::timeout || kind == ErrorKind::rate_limited ||
         kind == ErrorKind::server;
}

Json Error::to_json() const {
  Json j = Json::object();
  j["kind"] = std::string(to_string(kind));
  j["message"] = message;
  j["code"] = code.empty() ? Json(nullptr) : Json(code);
  j["step"] = step.empty() ? Json(nullptr) : Json(step);
  j["http_status"] = http_status == 0 ? Json(nullptr) : Json(http_status);
  if (!details.is_null()) j["details"] = details;
  return j;
}

Error Error::from_json(const Json& j) {
  Error e;
  if (!j.is_object()) {
    e.message = j.is_string() ? j.get<std::string>() : j.dump();
    return e;
  }
  if (auto it = j.find("kind"); it != j.end() && it->is_string())
    e.kind = error_kind_from_string(it->get<std::string>()).value_or(ErrorKind::internal);
  if (auto it = j.find("message"); it != j.end() && it->is_string()) e.message = it->get<std::string>();
  if (auto it = j.find("code"); it != j.end() && it->is_string()) e.code = it->get<std::string>();
  if (auto it = j.find("step"); it != j.end() && it->is_string()) e.step = it->get<std::string>();
  if (auto it = j.find("http_status"); it != j.end() && it->is_number_integer()) e.http_status = it->get<int>();
  if (auto it = j.find("details"); it != j.end()) e.details = *it;
  return e;
}

}  // namespace spokeflow
