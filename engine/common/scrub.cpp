#include "common/scrub.hpp"

#include <algorithm>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "common/redact.hpp"

namespace spokeflow {
namespace {

// Secrets are indexed by their first kMinLength bytes, so that a text is scanned once whatever
// the number of secrets: a long run registers a few per execution (activation tokens, reset
// links), and checking each one against every journaled string made scrubbing quadratic.
constexpr std::size_t kPrefix = SecretScrubber::kMinLength;
static_assert(kPrefix == sizeof(std::uint32_t));

std::uint32_t prefix_at(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct Registry {
  mutable std::shared_mutex mu;
  // prefix -> secrets starting with it, longest first, so that a secret containing another
  // is replaced whole.
  std::unordered_map<std::uint32_t, std::vector<std::string>> by_prefix;
  // One bit per hashed prefix: most positions of most texts are rejected here.
  std::bitset<1 << 16> maybe;
  std::atomic<bool> any{false};

  static std::size_t bit(std::uint32_t prefix) { return (prefix * 2654435761u) >> 16; }

  void add(std::string_view secret) {
    const std::uint32_t key = prefix_at(secret.data());
    auto& list = by_prefix[key];
    if (std::find(list.begin(), list.end(), secret) != list.end()) return;
    auto at = std::find_if(list.begin(), list.end(), [&](const std::string& s) { return s.size() < secret.size(); });
    list.emplace(at, secret);
    maybe.set(bit(key));
  }

  // The longest secret that starts at text[i], or nullptr.
  const std::string* match_at(std::string_view text, std::size_t i) const {
    const std::uint32_t key = prefix_at(text.data() + i);
    if (!maybe.test(bit(key))) return nullptr;
    auto it = by_prefix.find(key);
    if (it == by_prefix.end()) return nullptr;
    for (const auto& s : it->second)
      if (text.size() - i >= s.size() && text.compare(i, s.size(), s) == 0) return &s;
    return nullptr;
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

bool contains_any(std::string_view text, const Registry& r) {
  for (std::size_t i = 0; i + kPrefix <= text.size(); ++i)
    if (r.match_at(text, i)) return true;
  return false;
}

// Leftmost-longest: scanning left to right, each registered secret found becomes kRedacted.
std::string replace_all(std::string_view text, const Registry& r) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i + kPrefix <= text.size()) {
    if (const std::string* s = r.match_at(text, i)) {
      out += kRedacted;
      i += s->size();
    } else {
      out += text[i++];
    }
  }
  out.append(text.substr(i));
  return out;
}

void scrub_in_place(Json& v, const Registry& r) {
  if (v.is_string()) {
    auto& s = v.get_ref<std::string&>();
    if (contains_any(s, r)) s = replace_all(s, r);
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
  r.add(secret);
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
  return replace_all(text, r);
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
  r.by_prefix.clear();
  r.maybe.reset();
  r.any = false;
}

}  // namespace spokeflow
