#include "http/rate_governor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <vector>

namespace spokeflow::http {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::vector<std::string_view> split_segments(std::string_view path) {
  // A full URL names its path after the authority.
  if (auto scheme = path.find("://"); scheme != std::string_view::npos) {
    auto slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  std::vector<std::string_view> seg;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) seg.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return seg;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}


// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") to epoch seconds.
std::optional<long long> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return std::nullopt;
  return static_cast<long long>(timegm(&tm));
}

double seconds_of(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

Clock::time_point at_seconds(double s) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
}

}  // namespace

std::string okta_bucket(std::string_view method, std::string_view path) {
  // Mirrors okta-sim's bucket_for, which follows Okta's rate-limit documentation.
  const auto seg = split_segments(path);
  if (seg.size() >= 3 && seg[0] == "oauth2") return "oauth_token";
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1") return "default";
  const std::string_view r = seg[2];
  if (r == "users") {
    if (seg.size() == 3) return "users";
    if (seg.size() == 4 && iequal(method, "GET")) return "user_get";
    return "user";
  }
  if (r == "groups") return "groups";
  if (r == "apps") return "apps";
  if (r == "logs") return "logs";
  if (r == "eventHooks") return "event_hooks";
  if (r == "meta") return "schemas";
  return "default";
}

// One coroutine waiting in a queue. Woken by cancelling its timer after `granted` is set; a
// wake without `granted` is the awaiting operation being cancelled.
struct Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(std::move(ex), Clock::time_point::max()) {}
  asio::steady_timer timer;
  bool granted = false;
};

struct RateGovernor::Impl : std::enable_shared_from_this<RateGovernor::Impl> {
  struct Bucket {
    bool metered = false;    // rate headers seen at least once
    bool unmetered = false;  // answered without rate headers: nothing to pace
    long long limit = 0;
    long long remaining = 0;
    long long reset = 0;     // server epoch seconds of the window's end
    int in_flight = 0;       // permits granted (or reserved) and not yet released
    Clock::time_point hold_until{};  // after a 429
    Clock::time_point pace_until{};  // jittered end of the current window, once spent
    std::deque<Waiter*> queue;
    std::unique_ptr<asio::steady_timer> pump_timer;
    Clock::time_point pump_at = Clock::time_point::max();
    // With a shared budget: permits taken from it and not used yet, usable until
    // shared_valid_until; when it granted none, when to ask again.
    int shared_permits = 0;
    Clock::time_point shared_valid_until{};
    Clock::time_point shared_retry_at{};
    bool shared_asking = false;   // a take is under way (one at a time per bucket)
    bool shared_unknown = false;  // the budget knew nothing of the bucket when last asked
  };

  Impl(asio::any_io_executor e, int max) : ex(std::move(e)), max_in_flight(max), rng(std::random_device{}()) {}

  asio::any_io_executor ex;
  int max_in_flight;
  int in_flight = 0;
  std::deque<Waiter*> slot_queue;
  std::map<std::string, Bucket, std::less<>> buckets;
  // Server clock minus our steady clock, in seconds: the largest `Date - received` seen. The
  // server's time is at least its Date when it answers, so this never runs ahead of the truth;
  // reset times derived from it are never early.
  std::optional<double> offset;
  Clock::time_point concurrency_hold{};  // after a concurrency 429 (Limit: 0)
  // The org's concurrency limit as learned from concurrency 429s (0: none learned): each such
  // 429 means one request too many was in flight. It grows back by one after 4 x cap answers
  // without one, so a limit raised later is found again.
  int learned_cap = 0;
  int answers_since_429 = 0;
  std::shared_ptr<Impl> parent;           // an alias's extra cap over its connection's governor
  std::shared_ptr<SharedBudget> shared;   // null: this process's own view alone
  Clock::time_point shared_down_until{};  // the budget was unreachable: own view alone until then
  GovernorStats stats;
  std::mt19937_64 rng;

  milliseconds jitter(int lo_ms, int hi_ms) { return milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng)); }

  Bucket& bucket(const std::string& name) { return buckets[name]; }

  // The in-flight cap: the configured one, or the org's limit learned from 429s when lower.
  int cap() const {
    if (learned_cap > 0 && (max_in_flight <= 0 || learned_cap < max_in_flight)) return learned_cap;
    return max_in_flight;
  }

  // Keeps a little of each window in reserve for what we cannot see (another process on the
  // same token, an answer lost in flight), but never the whole window: a bucket whose limit is
  // at most the reserve (a limit of 1) still gets one request per window, not a wait forever.
  static long long margin(long long limit) { return std::min(limit >= 100 ? 2LL : 1LL, std::max(0LL, limit - 1)); }

  std::optional<Clock::time_point> reset_local(const Bucket& b) const {
    if (!offset || b.reset == 0) return std::nullopt;
    return at_seconds(static_cast<double>(b.reset) - *offset);
  }

  // When may the next request of `b` go? nullopt: now. time_point::max(): when something
  // in flight comes back, or the shared budget answers (no deadline known).
  std::optional<Clock::time_point> next_go(const std::string& name, Bucket& b, Clock::time_point now) {
    Clock::time_point hold = std::max(b.hold_until, concurrency_hold);
    if (now < hold) return hold;
    if (b.unmetered) return std::nullopt;
    if (b.metered) {
      const auto reset_at = reset_local(b);
      const bool window_over = !reset_at || now >= *reset_at;
      if (window_over && now < b.pace_until) return b.pace_until;
      const long long remaining = window_over ? b.limit : b.remaining;
      if (remaining - b.in_flight - margin(b.limit) <= 0) {
        if (!window_over) {
          if (b.pace_until < *reset_at) b.pace_until = *reset_at + jitter(20, 120);
          return b.pace_until;
        }
        return Clock::time_point::max();  // the fresh window is fully taken by requests in flight
      }
    }
    if (shared && now >= shared_down_until) return shared_go(name, b, now);
    // Unknown bucket: one request first, to learn the limit, then pace.
    if (!b.metered && b.in_flight > 0) return Clock::time_point::max();
    return std::nullopt;
  }

  // The shared budget's part of next_go: a permit held, or one asked for.
  std::optional<Clock::time_point> shared_go(const std::string& name, Bucket& b, Clock::time_point now) {
    if (b.shared_permits > 0 && now < b.shared_valid_until) return std::nullopt;
    b.shared_permits = 0;  // the window they were for is (nearly) over
    if (b.shared_unknown && now < b.shared_retry_at) {
      // Nobody has told the budget of this bucket yet: one request at a time learns its limit,
      // and its answer tells the budget.
      return b.in_flight == 0 ? std::nullopt : std::optional(Clock::time_point::max());
    }
    if (now < b.shared_retry_at) return b.shared_retry_at;
    ask_shared(name, b, now);
    return Clock::time_point::max();
  }

  // The org's clock (epoch ms) at local time `t`: from the Date headers seen, else the local
  // wall clock stands in for it.
  std::int64_t org_ms(Clock::time_point t) const {
    if (offset) return static_cast<std::int64_t>((seconds_of(t) + *offset) * 1000.0);
    const auto wall = std::chrono::system_clock::now() + (t - Clock::now());
    return std::chrono::duration_cast<milliseconds>(wall.time_since_epoch()).count();
  }
  Clock::time_point local_at(std::int64_t org, Clock::time_point now) const {
    return now + milliseconds(org - org_ms(now));
  }

  void ask_shared(const std::string& name, Bucket& b, Clock::time_point now) {
    if (b.shared_asking) return;
    b.shared_asking = true;
    ++stats.shared_takes;
    // Enough for those waiting, but a small share of the window: permits
    // a process holds and does not use before the window ends are lost to the others.
    const long long cap = b.metered ? std::max(1LL, b.limit / 20) : 1;
    const int want = static_cast<int>(std::clamp<long long>(static_cast<long long>(b.queue.size()), 1, cap));
    shared->take(name, want, org_ms(now), [w = weak_from_this(), ex = ex, name](BudgetGrant g) {
      asio::post(ex, [w, name, g] {
        if (auto self = w.lock()) self->on_grant(name, g);
      });
    });
  }

  void on_grant(const std::string& name, const BudgetGrant& g) {
    Bucket& b = bucket(name);
    b.shared_asking = false;
    const auto now = Clock::now();
    switch (g.kind) {
      case BudgetGrant::Kind::unavailable:
        // Said in the log by the budget; paced from this process's own view meanwhile.
        shared_down_until = now + std::chrono::seconds(5);
        break;
      case BudgetGrant::Kind::unknown:
        if (b.metered) {
          // An answer of ours told it since we asked: its word is on the way.
          b.shared_retry_at = now + milliseconds(100);
        } else {
          b.shared_unknown = true;
          b.shared_retry_at = now + std::chrono::seconds(1);
        }
        break;
      case BudgetGrant::Kind::granted:
        b.shared_unknown = false;
        b.shared_permits = g.permits;
        b.shared_valid_until = local_at(g.valid_until_ms, now);
        b.shared_retry_at = g.permits > 0 ? Clock::time_point{} : local_at(g.retry_at_ms, now) + jitter(10, 60);
        break;
    }
    pump_bucket(name);
  }

  // A request of `b` goes now.
  static void granted(Bucket& b) {
    ++b.in_flight;
    if (b.shared_permits > 0) --b.shared_permits;
  }

  void wake(Waiter* w) {
    w->granted = true;
    w->timer.cancel();
  }

  void pump_bucket(const std::string& name) {
    auto it = buckets.find(name);
    if (it == buckets.end()) return;
    Bucket& b = it->second;
    const auto now = Clock::now();
    while (!b.queue.empty()) {
      auto go = next_go(name, b, now);
      if (go) {
        arm(name, b, *go);
        return;
      }
      Waiter* w = b.queue.front();
      b.queue.pop_front();
      granted(b);
      wake(w);
    }
  }

  void arm(const std::string& name, Bucket& b, Clock::time_point at) {
    if (at == Clock::time_point::max()) return;  // a release or an answer pumps again
    if (b.pump_timer && b.pump_at <= at && b.pump_at > Clock::now()) return;
    if (!b.pump_timer) b.pump_timer = std::make_unique<asio::steady_timer>(ex);
    b.pump_at = at;
    b.pump_timer->expires_at(at);
    b.pump_timer->async_wait([w = weak_from_this(), name](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = w.lock()) {
        auto it = self->buckets.find(name);
        if (it != self->buckets.end()) it->second.pump_at = Clock::time_point::max();
        self->pump_bucket(name);
      }
    });
  }

  void pump_slots() {
    while (!slot_queue.empty() && (cap() <= 0 || in_flight < cap())) {
      Waiter* w = slot_queue.front();
      slot_queue.pop_front();
      ++in_flight;
      wake(w);
    }
  }

  void release_slot() {
    --in_flight;
    pump_slots();
  }

  void release_bucket(const std::string& name) {
    auto it = buckets.find(name);
    if (it == buckets.end()) return;
    --it->second.in_flight;
    pump_bucket(name);
  }

  static void remove(std::deque<Waiter*>& q, const Waiter* w) {
    auto it = std::find(q.begin(), q.end(), w);
    if (it != q.end()) q.erase(it);
  }

  // Leaves the queue on any way out (cancelled before or while waiting) unless granted.
  struct QueueGuard {
    std::deque<Waiter*>& queue;
    Waiter& waiter;
    ~QueueGuard() {
      if (!waiter.granted) remove(queue, &waiter);
    }
  };

  static void throw_cancelled(const char* what) {
    throw boost::system::system_error(asio::error::operation_aborted, what);
  }

  // Takes a concurrency slot, waiting in FIFO order. Throws operation_aborted when cancelled;
  // a cancelled waiter leaves the queue, or gives back the slot it was just handed.
  asio::awaitable<void> take_slot() {
    if (slot_queue.empty() && (cap() <= 0 || in_flight < cap())) {
      ++in_flight;
      co_return;
    }
    auto self = shared_from_this();
    Waiter w(ex);
    {
      slot_queue.push_back(&w);
      QueueGuard guard{slot_queue, w};
      (void)co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!w.granted) throw_cancelled("waiting for a request slot");
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      release_slot();
      throw_cancelled("waiting for a request slot");
    }
  }

  // Reserves one request of `name`'s budget, waiting for pacing and holds.
  asio::awaitable<void> take_bucket(const std::string& name) {
    Bucket& b = bucket(name);  // map nodes are stable
    const auto start = Clock::now();
    if (b.queue.empty() && !next_go(name, b, start)) {
      granted(b);
      co_return;
    }
    auto self = shared_from_this();
    Waiter w(ex);
    ++stats.paced_waits;
    {
      b.queue.push_back(&w);
      QueueGuard guard{b.queue, w};
      pump_bucket(name);  // grants at once or arms the bucket's timer
      if (!w.granted) (void)co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    stats.waited += std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (!w.granted) throw_cancelled("waiting for the rate limit");
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      release_bucket(name);
      throw_cancelled("waiting for the rate limit");
    }
  }

  std::string last_date_text;
  std::optional<long long> last_date;

  void observe(const std::string& name, const HttpResponse& r) {
    const auto now = Clock::now();
    Bucket& b = bucket(name);
    const auto limit = header_integer(r, "X-Rate-Limit-Limit");
    const auto remaining = header_integer(r, "X-Rate-Limit-Remaining");
    const auto reset = header_integer(r, "X-Rate-Limit-Reset");
    std::optional<long long> date;
    if (const std::string* d = r.header("Date")) {
      // One-second resolution: most answers repeat the previous one's Date, and strptime is
      // a noticeable share of handling an answer.
      if (*d != last_date_text) {
        last_date_text = *d;
        last_date = parse_http_date(*d);
      }
      date = last_date;
    }

    if (date) {
      const double sample = static_cast<double>(*date) - seconds_of(now);
      // A server clock stepped backwards by more than our uncertainty: start again.
      if (!offset || sample > *offset || sample < *offset - 2.0) offset = sample;
    } else if (!offset && reset) {
      offset = static_cast<double>(std::time(nullptr)) - seconds_of(now);
    }

    if (r.status == 429) {
      ++stats.throttled_429;
      if (limit && *limit == 0) {
        // Okta's concurrency limit: too many in flight, not a spent window. Back off briefly.
        concurrency_hold = std::max(concurrency_hold, now + jitter(100, 300));
        learned_cap = std::max(1, (learned_cap > 0 ? std::min(learned_cap, in_flight) : in_flight) - 1);
        answers_since_429 = 0;
        for (auto& [n, bk] : buckets)
          if (!bk.queue.empty()) arm(n, bk, concurrency_hold);
        return;
      }
    }

    if (limit && remaining && reset && *limit > 0) {
      if (shared) {
        shared->learn(name, *limit, *remaining, *reset * 1000);
        if (b.shared_unknown) {
          // The budget knows the bucket from now on: ask it at once.
          b.shared_unknown = false;
          b.shared_retry_at = {};
        }
      }
      if (!b.metered || *reset > b.reset) {
        b.metered = true;
        b.unmetered = false;
        b.limit = *limit;
        b.remaining = *remaining;
        b.reset = *reset;
      } else if (*reset == b.reset) {
        // Answers arrive out of order: the lowest count is the latest.
        b.remaining = std::min(b.remaining, *remaining);
        b.limit = *limit;
      }
    } else if (!b.metered && r.status != 429) {
      b.unmetered = true;
    }

    if (learned_cap > 0 && r.status != 429 && ++answers_since_429 >= 4 * learned_cap) {
      answers_since_429 = 0;
      if (++learned_cap >= max_in_flight && max_in_flight > 0) learned_cap = 0;
      pump_slots();
    }

    if (r.status == 429) {
      Clock::time_point until = now + std::chrono::seconds(1);
      if (b.metered) {
        b.remaining = 0;
        if (auto at = reset_local(b)) until = std::max(now, *at);
      }
      b.hold_until = std::max(b.hold_until, until + jitter(0, 500));
    }
    pump_bucket(name);
  }

  milliseconds retry_after(const std::string& name) const {
    const auto now = Clock::now();
    if (now < concurrency_hold) return std::chrono::duration_cast<milliseconds>(concurrency_hold - now) + milliseconds(1);
    auto it = buckets.find(name);
    milliseconds wait(1000);
    if (it != buckets.end() && it->second.hold_until > now)
      wait = std::max(wait, std::chrono::duration_cast<milliseconds>(it->second.hold_until - now) + milliseconds(1));
    return wait;
  }
};

namespace {

// What a Permit holds: the bucket reservation and the concurrency slot(s), given back once.
struct Slot {
  std::weak_ptr<RateGovernor::Impl> impl;
  std::string bucket;
  bool has_bucket = false;
  bool has_slot = false;
  std::shared_ptr<Slot> parent;  // the connection governor's part, for an alias-capped governor
  Slot() = default;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    auto s = impl.lock();
    if (!s) return;
    if (has_slot) s->release_slot();
    if (has_bucket) s->release_bucket(bucket);
  }
};

asio::awaitable<std::shared_ptr<Slot>> acquire_slot(std::shared_ptr<RateGovernor::Impl> impl, std::string bucket) {
  auto slot = std::make_shared<Slot>();
  slot->impl = impl;
  slot->bucket = bucket;
  if (impl->parent) {
    // The alias's own cap first, then the connection's pacing and cap.
    co_await impl->take_slot();
    slot->has_slot = true;
    auto parent = co_await acquire_slot(impl->parent, bucket);
    slot->parent = std::move(parent);
    co_return slot;
  }
  for (;;) {
    co_await impl->take_bucket(bucket);
    slot->has_bucket = true;
    co_await impl->take_slot();
    slot->has_slot = true;
    // A 429 may have arrived while this waited for a slot: go back in line for the bucket.
    const auto& b = impl->bucket(bucket);
    if (Clock::now() < std::max(b.hold_until, impl->concurrency_hold)) {
      slot->has_slot = false;
      slot->has_bucket = false;
      impl->release_slot();
      impl->release_bucket(bucket);
      continue;
    }
    break;
  }
  ++impl->stats.requests;
  co_return slot;
}

}  // namespace

RateGovernor::RateGovernor(asio::any_io_executor executor, int max_in_flight)
    : impl_(std::make_shared<Impl>(std::move(executor), max_in_flight)) {}

RateGovernor::RateGovernor(const std::shared_ptr<RateGovernor>& parent, int max_in_flight)
    : impl_(std::make_shared<Impl>(parent->impl_->ex, max_in_flight)) {
  impl_->parent = parent->impl_;
}

RateGovernor::~RateGovernor() = default;

void RateGovernor::share_budget(std::shared_ptr<SharedBudget> budget) {
  (impl_->parent ? *impl_->parent : *impl_).shared = std::move(budget);
}

RateGovernor::Permit::Permit(Permit&&) noexcept = default;
RateGovernor::Permit& RateGovernor::Permit::operator=(Permit&&) noexcept = default;
RateGovernor::Permit::~Permit() = default;

asio::awaitable<RateGovernor::Permit> RateGovernor::acquire(const std::string& bucket) {
  // The coroutine holds the state, not the governor: a governor may go while requests wait.
  std::shared_ptr<Slot> slot = co_await acquire_slot(impl_, bucket);
  Permit out;
  out.slot_ = std::move(slot);
  co_return out;
}

void RateGovernor::observe(const std::string& bucket, const HttpResponse& response) {
  (impl_->parent ? *impl_->parent : *impl_).observe(bucket, response);
}

std::chrono::milliseconds RateGovernor::retry_after(const std::string& bucket) const {
  if (impl_->parent) return impl_->parent->retry_after(bucket);
  return impl_->retry_after(bucket);
}

// An alias-capped governor reports its connection's numbers: the buckets are shared.
const GovernorStats& RateGovernor::stats() const { return (impl_->parent ? *impl_->parent : *impl_).stats; }

std::optional<long long> header_integer(const HttpResponse& r, std::string_view name) {
  const std::string* v = r.header(name);
  if (v == nullptr) return std::nullopt;
  std::string_view s(*v);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  long long out = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return out;
}

}  // namespace spokeflow::http
