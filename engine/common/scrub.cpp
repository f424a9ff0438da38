#include "common/scrub.hpp"

#include <algorithm>
#include <atomic>
#include <bitset>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/json_text.hpp"
#include "common/redact.hpp"
#include "common/url_encode.hpp"

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
  struct Entry {
    std::size_t holders = 0;  // registrations that hold it (a credential's never ends)
    std::uint32_t key = 0;    // its window in by_window
  };
  std::unordered_map<std::string, Entry> all;
  std::size_t removed_since_rebuild = 0;
  std::unordered_map<std::uint32_t, std::vector<Indexed>> by_window;
  // One bit per hashed window: most positions of most texts are rejected here.
  std::bitset<1 << 16> maybe;
  std::atomic<bool> any{false};
  // Secrets that read like a number: while there are none, numbers in records are not looked at.
  std::size_t numeric = 0;

  static std::size_t bit(std::uint32_t window) { return (window * 2654435761u) >> 16; }

  static bool looks_numeric(std::string_view s) {
    bool digit = false;
    for (char c : s) {
      if (c >= '0' && c <= '9') digit = true;
      else if (c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E') return false;
    }
    return digit;
  }

  void add(std::string_view secret) {
    auto [it_all, added] = all.try_emplace(std::string(secret));
    ++it_all->second.holders;
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
    it_all->second.key = key;
    by_window[key].push_back({stored, best});
    maybe.set(bit(key));
    if (looks_numeric(stored)) ++numeric;
  }

  void remove(const std::string& secret) {
    auto it_all = all.find(secret);
    if (it_all == all.end() || --it_all->second.holders > 0) return;
    if (auto it = by_window.find(it_all->second.key); it != by_window.end()) {
      auto& list = it->second;
      auto found = std::find_if(list.begin(), list.end(), [&](const Indexed& e) { return e.secret.data() == it_all->first.data(); });
      if (found != list.end()) list.erase(found);
      if (list.empty()) by_window.erase(it);
    }
    if (looks_numeric(it_all->first)) --numeric;
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

// A number's text as a record shows it.
std::string number_text(const Json& v) {
  char buf[32];
  switch (v.type()) {
    case Json::value_t::number_integer: {
      auto r = std::to_chars(buf, buf + sizeof buf, *v.get_ptr<const Json::number_integer_t*>());
      return std::string(buf, r.ptr);
    }
    case Json::value_t::number_unsigned: {
      auto r = std::to_chars(buf, buf + sizeof buf, *v.get_ptr<const Json::number_unsigned_t*>());
      return std::string(buf, r.ptr);
    }
    default: return v.dump();
  }
}

void scrub_in_place(Json& v, const Registry& r);

// Keys that hold a secret are scrubbed like values; two keys that then read alike are told
// apart (" #2") rather than merged.
void scrub_object(Json& v, const Registry& r) {
  auto& obj = *v.get_ptr<Json::object_t*>();
  bool keys = false;
  for (const auto& [k, _] : obj)
    if (contains_any(k, r)) {
      keys = true;
      break;
    }
  if (!keys) {
    for (auto& [_, item] : obj) scrub_in_place(item, r);
    return;
  }
  Json::object_t out;
  for (auto& [k, item] : obj) {
    const std::string base = contains_any(k, r) ? replace_all(k, r) : k;
    std::string key = base;
    for (int n = 2; out.contains(key); ++n) key = base + " #" + std::to_string(n);
    scrub_in_place(item, r);
    out.emplace(std::move(key), std::move(item));
  }
  obj = std::move(out);
}

void scrub_in_place(Json& v, const Registry& r) {
  switch (v.type()) {
    case Json::value_t::string: {
      auto& s = v.get_ref<std::string&>();
      if (contains_any(s, r)) s = replace_all(s, r);
      return;
    }
    case Json::value_t::array:
      for (auto& item : *v.get_ptr<Json::array_t*>()) scrub_in_place(item, r);
      return;
    case Json::value_t::object: scrub_object(v, r); return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      if (r.numeric > 0 && contains_any(number_text(v), r)) v = kRedacted;
      return;
    default: return;
  }
}

// The forms in which the engine or a flow may write a secret (see scrub.hpp), each registered
// on its own: scrubbing looks for exact bytes.
template <class Each>
void each_form(std::string_view secret, Each&& each) {
  if (secret.size() < SecretScrubber::kMinLength || secret == kRedacted) return;
  std::string forms[5];
  forms[0] = secret;
  forms[1] = forms[2] = secret;
  for (char& c : forms[1])
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (char& c : forms[2])
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  forms[3] = dump_json(Json(forms[0]));  // "..." with the escapes of a JSON string
  forms[3] = forms[3].substr(1, forms[3].size() - 2);
  forms[4] = percent_encode(secret);
  for (std::size_t i = 0; i < std::size(forms); ++i) {
    if (forms[i] == kRedacted || std::find(forms, forms + i, forms[i]) != forms + i) continue;
    each(forms[i]);
  }
}

template <class Add>
void each_string(const Json& value, Add&& add) {
  // Iterative: a sensitive value may come from outside and be deeply nested.
  std::vector<const Json*> todo{&value};
  while (!todo.empty()) {
    const Json* v = todo.back();
    todo.pop_back();
    if (v->is_string()) {
      add(v->get_ref<const std::string&>());
    } else if (v->is_number()) {
      // Interpolation writes a double in its shortest form, a record as nlohmann does.
      add(number_text(*v));
      if (v->is_number_float()) {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, v->get<double>());
        add(std::string(buf, r.ptr));
      }
    } else if (v->is_array() || v->is_object()) {
      for (const auto& item : *v) todo.push_back(&item);
    }
  }
}

}  // namespace

SecretScrubber& SecretScrubber::instance() {
  static SecretScrubber s;
  return s;
}

void SecretScrubber::add(std::string_view secret) {
  auto& r = registry();
  std::unique_lock lock(r.mu);
  each_form(secret, [&](const std::string& form) { r.add(form); });
  r.any = !r.all.empty();
}

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
  if (secret.size() < kMinLength || added_.contains(std::string(secret))) return;
  auto& r = registry();
  std::unique_lock lock(r.mu);
  each_form(secret, [&](const std::string& form) {
    if (added_.insert(form).second) r.add(form);
  });
  r.any = !r.all.empty();
}

void SecretScrubber::Scope::add_all(const Json& value) {
  each_string(value, [this](const std::string& s) { add(s); });
}

void SecretScrubber::Scope::add_hidden(const Json& shown, const Json& clear) {
  // Iterative, like each_string: the pairs still to compare (no shown part: all of it was hidden).
  std::vector<std::pair<const Json*, const Json*>> todo{{&shown, &clear}};
  while (!todo.empty()) {
    auto [s, c] = todo.back();
    todo.pop_back();
    if (s == nullptr) {
      add_all(*c);
    } else if (c->is_string() || c->is_number()) {
      if (*s != *c) add_all(*c);
    } else if (c->is_object()) {
      if (!s->is_object()) {
        add_all(*c);
        continue;
      }
      for (auto it = c->begin(); it != c->end(); ++it) {
        auto found = s->find(it.key());
        if (found == s->end()) add(it.key());  // the key itself was scrubbed
        todo.emplace_back(found == s->end() ? nullptr : &*found, &it.value());
      }
    } else if (c->is_array()) {
      if (!s->is_array() || s->size() != c->size()) {
        add_all(*c);
        continue;
      }
      for (std::size_t i = 0; i < c->size(); ++i) todo.emplace_back(&(*s)[i], &(*c)[i]);
    }
  }
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

void SecretScrubber::find(std::string_view text, std::vector<Span>& out) const {
  auto& r = registry();
  if (!r.any) return;
  std::shared_lock lock(r.mu);
  r.scan(text, [&](Match m) {
    out.push_back(Span{m.begin, m.end});
    return true;
  });
}

bool SecretScrubber::holds_secret(std::string_view text) const {
  auto& r = registry();
  if (!r.any) return false;
  std::shared_lock lock(r.mu);
  return contains_any(text, r);
}

void SecretScrubber::clear() {
  auto& r = registry();
  std::unique_lock lock(r.mu);
  r.by_window.clear();  // first: it points into `all`
  r.all.clear();
  r.maybe.reset();
  r.numeric = 0;
  r.any = false;
}

}  // namespace spokeflow
