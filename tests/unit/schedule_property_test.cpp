// The field-skipping search of schedule::Schedule pinned to a naive reference, over 2,000
// random cron expressions (fixed seed) in UTC and in America/New_York.
//
// The reference knows nothing of the parser or the search: each random expression is built
// from parts whose allowed values the test itself lists, and the reference walks every local
// minute of every day, asking the zone database directly (date::time_zone::to_sys, earliest
// occurrence; a skipped time gives the end of its gap) when each matching minute happens.
// Half of the New York start points lie within a few days of a daylight-saving change.
#include <doctest/doctest.h>
#include <date/tz.h>

#include <array>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "schedule/schedule.hpp"

using namespace spokeflow;
using namespace spokeflow::schedule;
namespace chr = std::chrono;

namespace {

struct FieldRange {
  unsigned low;
  unsigned high;
};
constexpr std::array<FieldRange, 5> kRanges = {{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}};
constexpr std::array<const char*, 12> kMonths = {"jan", "FEB", "Mar", "apr", "MAY", "jun",
                                                 "JUL", "aug", "Sep", "oct", "NOV", "dec"};
constexpr std::array<const char*, 7> kDays = {"SUN", "mon", "Tue", "WED", "thu", "FRI", "sat"};

// A random expression and what each of its fields allows, listed by the test.
struct Spec {
  std::string text;
  std::array<std::array<bool, 64>, 5> allowed{};
  bool days_star = false;
  bool weekdays_star = false;
};

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}
  unsigned below(unsigned n) { return static_cast<unsigned>(rng_() % n); }
  unsigned between(unsigned a, unsigned b) { return a + below(b - a + 1); }

  Spec spec() {
    Spec s;
    for (std::size_t f = 0; f < 5; ++f) {
      std::string text = field(f, s.allowed[f]);
      if (f == 4 && s.allowed[4][7]) s.allowed[4][0] = true;  // 7 is Sunday
      if (f == 2) s.days_star = text.front() == '*';
      if (f == 4) s.weekdays_star = text.front() == '*';
      s.text += (f ? " " : "") + text;
    }
    return s;
  }

 private:
  std::string value_text(std::size_t f, unsigned v) {
    if (f == 3 && below(3) == 0) return kMonths[v - 1];
    if (f == 4 && v < 7 && below(3) == 0) return kDays[v];
    return std::to_string(v);
  }

  // One list item that is not `*`: a value, a range, a range with a step, or VALUE/STEP.
  std::string item(std::size_t f, std::array<bool, 64>& allowed) {
    const auto [low, high] = kRanges[f];
    const unsigned a = between(low, high);
    switch (below(4)) {
      case 0:
        allowed[a] = true;
        return value_text(f, a);
      case 1: {
        const unsigned b = between(a, high);
        for (unsigned v = a; v <= b; ++v) allowed[v] = true;
        return value_text(f, a) + "-" + value_text(f, b);
      }
      case 2: {
        const unsigned b = between(a, high);
        const unsigned step = between(1, high - low);
        for (unsigned v = a; v <= b; v += step) allowed[v] = true;
        return value_text(f, a) + "-" + value_text(f, b) + "/" + std::to_string(step);
      }
      default: {
        const unsigned step = between(1, high - low);
        for (unsigned v = a; v <= high; v += step) allowed[v] = true;
        return value_text(f, a) + "/" + std::to_string(step);
      }
    }
  }

  std::string field(std::size_t f, std::array<bool, 64>& allowed) {
    const auto [low, high] = kRanges[f];
    const unsigned kind = below(10);
    if (kind < 3) {
      for (unsigned v = low; v <= high; ++v) allowed[v] = true;
      return "*";
    }
    if (kind == 3) {
      const unsigned step = between(1, high - low);
      for (unsigned v = low; v <= high; v += step) allowed[v] = true;
      return "*/" + std::to_string(step);
    }
    if (kind < 7) return item(f, allowed);
    std::string out = item(f, allowed);
    const unsigned more = between(1, 2);
    for (unsigned i = 0; i < more; ++i) out += "," + item(f, allowed);
    return out;
  }

  std::mt19937_64 rng_;
};

constexpr std::array<unsigned, 13> kMaxDays = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

bool feasible(const Spec& s) {
  if (!s.days_star && !s.weekdays_star) return true;
  for (unsigned m = 1; m <= 12; ++m)
    for (unsigned d = 1; d <= kMaxDays[m]; ++d)
      if (s.allowed[3][m] && s.allowed[2][d]) return true;
  return false;
}

bool day_matches(const Spec& s, date::local_days day) {
  const date::year_month_day ymd{day};
  if (!s.allowed[3][static_cast<unsigned>(ymd.month())]) return false;
  const bool d = s.allowed[2][static_cast<unsigned>(ymd.day())];
  const bool w = s.allowed[4][date::weekday{day}.c_encoding()];
  return (s.days_star || s.weekdays_star) ? (d && w) : (d || w);
}

Instant reference_instant(const date::time_zone* zone, date::local_time<chr::minutes> w) {
  if (!zone) return Instant{w.time_since_epoch()};
  return Instant{zone->to_sys(w, date::choose::earliest).time_since_epoch()};
}

date::local_days local_day(const date::time_zone* zone, Instant t) {
  const auto secs = date::floor<chr::seconds>(t);
  const auto offset = zone ? zone->get_info(secs).offset : chr::seconds{0};
  return date::floor<date::days>(date::local_seconds{secs.time_since_epoch() + offset});
}

// Every fire in (from, to], each instant once, by walking every minute of every local day.
std::set<Instant> reference_fires(const Spec& s, const date::time_zone* zone, Instant from, Instant to) {
  std::set<Instant> out;
  for (auto day = local_day(zone, from) - date::days{1}; day <= local_day(zone, to) + date::days{1}; day += date::days{1}) {
    if (!day_matches(s, day)) continue;
    for (unsigned h = 0; h < 24; ++h)
      for (unsigned m = 0; m < 60; ++m) {
        if (!s.allowed[1][h] || !s.allowed[0][m]) continue;
        const Instant f = reference_instant(zone, day + chr::hours{h} + chr::minutes{m});
        if (f > from && f <= to) out.insert(f);
      }
  }
  return out;
}

// The first fire after `from`, looking at most `years` ahead.
std::optional<Instant> reference_next(const Spec& s, const date::time_zone* zone, Instant from, int years) {
  const auto first = local_day(zone, from) - date::days{1};
  for (auto day = first; day < first + date::days{366 * years}; day += date::days{1}) {
    if (!day_matches(s, day)) continue;
    for (unsigned h = 0; h < 24; ++h)
      for (unsigned m = 0; m < 60; ++m) {
        if (!s.allowed[1][h] || !s.allowed[0][m]) continue;
        const Instant f = reference_instant(zone, day + chr::hours{h} + chr::minutes{m});
        if (f > from) return f;
      }
  }
  return std::nullopt;
}

std::string iso(const std::optional<Instant>& t) {
  return t ? format_timestamp(t->time_since_epoch().count()) : std::string("none");
}

// New York's changes in 2020-2035: second Sunday of March, first Sunday of November, 02:00.
Instant near_dst_change(Gen& g) {
  const date::year y{static_cast<int>(g.between(2020, 2035))};
  const date::local_days day = g.below(2) ? date::local_days{y / date::March / date::Sunday[2]}
                                          : date::local_days{y / date::November / date::Sunday[1]};
  const auto spread = chr::minutes{static_cast<long>(g.below(4 * 24 * 60)) - 2 * 24 * 60};
  return Instant{(day + chr::hours{7} + spread).time_since_epoch()};
}

Instant random_instant(Gen& g) {
  const auto start = date::sys_days{date::year{2020} / 1 / 1};
  return Instant{start + chr::minutes{g.below(16u * 366u * 24u * 60u)} + chr::seconds{g.below(3) * 30}};
}

}  // namespace

TEST_CASE("the search agrees with a minute-by-minute reference over 2,000 random expressions") {
  const date::time_zone* new_york = date::locate_zone("America/New_York");
  Gen g(20261207);
  int refused = 0, compared = 0, listed = 0;
  for (int i = 0; i < 2000; ++i) {
    const Spec spec = g.spec();
    CAPTURE(spec.text);
    auto parsed = parse_cron(spec.text);
    REQUIRE_MESSAGE(parsed.ok() == feasible(spec), (parsed.ok() ? std::string("accepted") : parsed.error().message));
    if (!parsed.ok()) {
      CHECK(parsed.error().message.starts_with("it never fires"));
      ++refused;
      continue;
    }
    for (const bool ny : {false, true}) {
      const std::string zone_name = ny ? "America/New_York" : "UTC";
      const date::time_zone* zone = ny ? new_york : nullptr;
      auto made = Schedule::make(spec.text, zone_name);
      REQUIRE(made.ok());
      const Instant from = (ny && g.below(2)) ? near_dst_change(g) : random_instant(g);
      CAPTURE(zone_name);
      CAPTURE(iso(from));

      // Before 2037 (what the zone files hold), 30 years reach the rarest fire (February 29
      // on one weekday comes back within 28 years unless a year like 2100 is crossed).
      CHECK(iso(made->next_after(from)) == iso(reference_next(spec, zone, from, 30)));

      const Instant to = from + chr::hours{g.below(2) ? 72 : 6};
      const std::set<Instant> expected = reference_fires(spec, zone, from, to);
      const std::size_t limit = g.below(3) == 0 ? 0 : g.between(1, 40);
      const Fires got = made->fires_between(from, to, limit);
      CHECK(got.total() == expected.size());
      const std::vector<Instant> want(expected.begin(), std::next(expected.begin(), std::min(limit, expected.size())));
      CHECK(got.instants == want);
      CHECK(iso(got.last) == iso(expected.empty() ? std::nullopt : std::optional<Instant>(*expected.rbegin())));
      ++compared;
      listed += static_cast<int>(expected.size());
    }
  }
  MESSAGE("random expressions: " << compared / 2 << " compared in 2 zones, " << refused << " refused as never firing, "
                                 << listed << " fires checked");
  CHECK(compared > 3000);
  CHECK(refused < 100);
}
