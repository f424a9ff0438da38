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
  // Each secret with the number of registrations that hold it (a credential's never ends).
  std::unordered_map<std::string, std::size_t> all;
  std::size_t removed_since_rebuild = 0;
  std::unordered_map<std::uint32_t, std::vector<Indexed>> by_window;
  // One bit per hashed window: most positions of most texts are rejected here.
  std::bitset<1 << 16> maybe;
  std::atomic<bool> any{false};

  static std::size_t bit(std::uint32_t window) { return (window * 2654435761u) >> 16; }

  void add(std::string_view secret) {
    auto [it_all, added] = all.try_emplace(std::string(secret), 0);
    ++it_all->second;
    if (!added) return;
    const std::string& stored = it_all->first;
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
    by_window[key].push_back({stored, best});
    maybe.set(bit(key));
  }

  void remove(std::string_view secret) {
    auto it_all = all.find(std::string(secret));
    if (it_all == all.end() || --it_all->second > 0) return;
    for (auto it = by_window.begin(); it != by_window.end(); ++it) {
      auto& list = it->second;
      auto found = std::find_if(list.begin(), list.end(), [&](const Indexed& e) { return e.secret.data() == it_all->first.data(); });
      if (found == list.end()) continue;
      list.erase(found);
      if (list.empty()) by_window.erase(it);
      break;
    }
    all.erase(it_all);
    // Bits of the filter may be shared: they are recomputed once removals have piled up.
    if (++removed_since_rebuild > 64 && removed_since_rebuild > by_window.size()) {
      maybe.reset();
      for (const auto& [key, _] : by_window) maybe.set(bit(key));
      removed_since_rebuild = 0;
    }
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

namespace {
template <class Add>
void each_string(const Json& value, Add&& add) {
  // Iterative: a sensitive value may come from outside and be deeply nested.
  std::vector<const Json*> todo{&value};
  while (!todo.empty()) {
    const Json* v = todo.back();
    todo.pop_back();
    if (v->is_string()) add(v->get_ref<const std::string&>());
    else if (v->is_array() || v->is_object())
      for (const auto& item : *v) todo.push_back(&item);
  }
}
}  // namespace

void SecretScrubber::add_all(const Json& value) {
  each_string(value, [this](const std::string& s) { add(s); });
}

SecretScrubber::Scope::~Scope() {
  if (added_.empty()) return;
  auto& r = registry();
  std::unique_lock lock(r.mu);
  for (const auto& s : added_) r.remove(s);
  r.any = !r.all.empty();
}

void SecretScrubber::Scope::add(std::string_view secret) {
  if (secret.size() < kMinLength || secret == kRedacted) return;
  auto& r = registry();
  std::unique_lock lock(r.mu);
  r.add(secret);
  r.any = true;
  added_.emplace_back(secret);
}

void SecretScrubber::Scope::add_all(const Json& value) {
  each_string(value, [this](const std::string& s) { add(s); });
}

std::size_t SecretScrubber::size() const {
  auto& r = registry();
  std::shared_lock lock(r.mu);
  return r.all.size();
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
