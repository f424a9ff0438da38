#include "common/scrub.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <set>

#include "common/redact.hpp"

namespace spokeflow {
namespace {

struct Registry {
  mutable std::shared_mutex mu;
  // Longest first, so that a secret containing another is replaced whole.
  std::set<std::string, bool (*)(const std::string&, const std::string&)> secrets{
      [](const std::string& a, const std::string& b) { return a.size() != b.size() ? a.size() > b.size() : a < b; }};
  std::atomic<bool> any{false};
};

Registry& registry() {
  static Registry r;
  return r;
}

bool contains_any(const std::string& text, const Registry& r) {
  for (const auto& s : r.secrets)
    if (text.find(s) != std::string::npos) return true;
  return false;
}

std::string replace_all(std::string text, const Registry& r) {
  for (const auto& s : r.secrets) {
    std::size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), kRedacted);
      pos += std::char_traits<char>::length(kRedacted);
    }
  }
  return text;
}

void scrub_in_place(Json& v, const Registry& r) {
  if (v.is_string()) {
    auto& s = v.get_ref<std::string&>();
    if (contains_any(s, r)) s = replace_all(std::move(s), r);
  } else if (v.is_array()) {
    for (auto& item : v) scrub_in_place(item, r);
  } else if (v.is_object()) {
    for (auto& [_, item] : v.items()) scrub_in_place(item, r);
  }
}

bool json_has_secret(const Json& v, const Registry& r) {
  if (v.is_string()) return contains_any(v.get_ref<const std::string&>(), r);
  if (v.is_array() || v.is_object()) {
    for (const auto& item : v)
      if (json_has_secret(item, r)) return true;
  }
  return false;
}

}  // namespace

SecretScrubber& SecretScrubber::instance() {
  static SecretScrubber s;
  return s;
}

void SecretScrubber::add(std::string_view secret) {
  if (secret.size() < kMinLength || secret == kRedacted) return;
  auto& r = registry();
  std::unique_lock lock(r.mu);
  r.secrets.emplace(secret);
  r.any = true;
}

void SecretScrubber::add_all(const Json& value) {
  if (value.is_string()) add(value.get_ref<const std::string&>());
  else if (value.is_array() || value.is_object())
    for (const auto& item : value) add_all(item);
}

bool SecretScrubber::empty() const { return !registry().any; }

std::string SecretScrubber::scrub(std::string text) const {
  auto& r = registry();
  if (!r.any) return text;
  std::shared_lock lock(r.mu);
  if (!contains_any(text, r)) return text;
  return replace_all(std::move(text), r);
}

Json SecretScrubber::scrub(const Json& value) const {
  auto& r = registry();
  if (!r.any) return value;
  std::shared_lock lock(r.mu);
  if (!json_has_secret(value, r)) return value;
  Json copy = value;
  scrub_in_place(copy, r);
  return copy;
}

void SecretScrubber::clear() {
  auto& r = registry();
  std::unique_lock lock(r.mu);
  r.secrets.clear();
  r.any = false;
}

}  // namespace spokeflow
