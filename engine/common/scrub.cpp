#include "common/scrub.hpp"

#include <algorithm>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/redact.hpp"

namespace spokeflow {
namespace {

// Each secret is indexed by one of its 4-byte windows, so that a text is scanned once whatever
// the number of secrets: a long run registers a few per execution (activation tokens, reset
// links), and checking each one against every journaled string made scrubbing quadratic.
// The window is the one shared with the fewest secrets so far: many secrets start alike
// (every activation link starts with the org's URL), their random parts tell them apart.
constexpr std::size_t kWindow = SecretScrubber::kMinLength;
static_assert(kWindow == sizeof(std::uint32_t));

std::uint32_t window_at(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct Indexed {
  std::string_view secret;  // a key of Registry::all (set nodes do not move)
  std::size_t offset;       // where the indexed window sits in the secret
};

struct Match {
  std::size_t begin, end;
};

struct Registry {
  mutable std::shared_mutex mu;
  std::unordered_set<std::string> all;
  std::unordered_map<std::uint32_t, std::vector<Indexed>> by_window;
  // One bit per hashed window: most positions of most texts are rejected here.
  std::bitset<1 << 16> maybe;
  std::atomic<bool> any{false};

  static std::size_t bit(std::uint32_t window) { return (window * 2654435761u) >> 16; }

  void add(std::string_view secret) {
    auto [stored, added] = all.emplace(secret);
    if (!added) return;
    std::size_t best = secret.size() - kWindow;  // ties go to the end: endings are the random part
    std::size_t best_load = SIZE_MAX;
    for (std::size_t k = secret.size() - kWindow + 1; k-- > 0;) {
      auto it = by_window.find(window_at(secret.data() + k));
      std::size_t load = it == by_window.end() ? 0 : it->second.size();
      if (load < best_load) {
        best = k;
        best_load = load;
        if (load == 0) break;
      }
    }
    const std::uint32_t key = window_at(secret.data() + best);
    by_window[key].push_back({*stored, best});
    maybe.set(bit(key));
  }

  // Calls found(match) for each occurrence of a secret in text (in order of their indexed
  // windows) until found returns false.
  template <class Found>
  void scan(std::string_view text, Found&& found) const {
    for (std::size_t i = 0; i + kWindow <= text.size(); ++i) {
      const std::uint32_t key = window_at(text.data() + i);
      if (!maybe.test(bit(key))) continue;
      auto it = by_window.find(key);
      if (it == by_window.end()) continue;
      for (const auto& e : it->second) {
        if (i < e.offset) continue;
        const std::size_t begin = i - e.offset;
        if (text.size() - begin < e.secret.size() || text.compare(begin, e.secret.size(), e.secret) != 0) continue;
        if (!found(Match{begin, begin + e.secret.size()})) return;
      }
    }
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

bool contains_any(std::string_view text, const Registry& r) {
  bool any = false;
  r.scan(text, [&](Match) { return !(any = true); });
  return any;
}

// Every occurrence becomes kRedacted; occurrences that overlap become one, so that no part
// of any secret survives.
std::string replace_all(std::string_view text, const Registry& r) {
  std::vector<Match> found;
  r.scan(text, [&](Match m) {
    found.push_back(m);
    return true;
  });
  std::sort(found.begin(), found.end(), [](const Match& a, const Match& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(text.size());
  std::size_t done = 0;
  for (std::size_t i = 0; i < found.size();) {
    Match span = found[i++];
    while (i < found.size() && found[i].begin < span.end) span.end = std::max(span.end, found[i++].end);
    out.append(text.substr(done, span.begin - done));
    out += kRedacted;
    done = span.end;
  }
  out.append(text.substr(done));
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

Json SecretScrubber::scrub(Json value) const {
  auto& r = registry();
  if (!r.any) return value;
  std::shared_lock lock(r.mu);
  scrub_in_place(value, r);
  return value;
}

void SecretScrubber::clear() {
  auto& r = registry();
  std::unique_lock lock(r.mu);
  r.by_window.clear();  // first: it points into `all`
  r.all.clear();
  r.maybe.reset();
  r.any = false;
}

}  // namespace spokeflow
