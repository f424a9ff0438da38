#include "schedule/schedule.hpp"

#include <date/tz.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <exception>

namespace spokeflow::schedule {
namespace {

namespace chr = std::chrono;
using Ms = chr::milliseconds;
using LocalMs = date::local_time<Ms>;
using LocalMinutes = date::local_time<chr::minutes>;

// The instants handled: years 1 to 9999.
const Instant kEarliest{date::sys_days{date::year{1} / 1 / 1}};
const Instant kLatest{date::sys_days{date::year{10000} / 1 / 1}};
// How far "when next" looks: the Gregorian calendar repeats every 400 years.
constexpr date::years kHorizon{401};

// The lowest set bit of `mask` at `from` or above, or -1.
int next_bit(std::uint64_t mask, unsigned from) {
  if (from >= 64) return -1;
  const std::uint64_t m = mask & (~std::uint64_t{0} << from);
  return m ? std::countr_zero(m) : -1;
}

int highest_bit(std::uint64_t mask) { return static_cast<int>(std::bit_width(mask)) - 1; }

// The first wall-clock minute at or after `w` (and before `end`) that the cron matches.
std::optional<LocalMinutes> next_match(const Cron& c, LocalMinutes w, LocalMinutes end) {
  while (w < end) {
    const auto day = date::floor<date::days>(w);
    const date::year_month_day ymd{day};
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!c.month_matches(month)) {
      const int next = next_bit(c.months, month + 1);
      w = next > 0 ? LocalMinutes{date::local_days{ymd.year() / date::month(static_cast<unsigned>(next)) / 1}}
                   : LocalMinutes{date::local_days{(ymd.year() + date::years{1}) /
                                                   date::month(static_cast<unsigned>(next_bit(c.months, 1))) / 1}};
      continue;
    }
    if (!c.day_matches(static_cast<unsigned>(ymd.day()), date::weekday{day}.c_encoding())) {
      w = day + date::days{1};
      continue;
    }
    const auto minute_of_day = static_cast<unsigned>((w - day).count());
    const unsigned hour = minute_of_day / 60;
    const unsigned minute = minute_of_day % 60;
    if (!c.hour_matches(hour)) {
      const int next = next_bit(c.hours, hour + 1);
      w = next >= 0 ? LocalMinutes{day + chr::hours{next}} : LocalMinutes{day + date::days{1}};
      continue;
    }
    if (!c.minute_matches(minute)) {
      if (const int next = next_bit(c.minutes, minute + 1); next >= 0) {
        w = day + chr::hours{hour} + chr::minutes{next};
        continue;
      }
      const int next_hour = next_bit(c.hours, hour + 1);
      w = next_hour >= 0 ? LocalMinutes{day + chr::hours{next_hour}} : LocalMinutes{day + date::days{1}};
      continue;
    }
    return w;
  }
  return std::nullopt;
}

// The instant a matching wall-clock minute fires at: its only occurrence, the first of two
// (fall-back), or the end of the gap it falls in (spring-forward).
Instant instant_of(const date::time_zone* zone, LocalMinutes w) {
  if (!zone) return Instant{w.time_since_epoch()};
  const date::local_seconds ls{w.time_since_epoch()};
  const date::local_info info = zone->get_info(ls);
  if (info.result == date::local_info::nonexistent) return Instant{info.second.begin.time_since_epoch()};
  return Instant{(ls - info.first.offset).time_since_epoch()};
}

LocalMs local_of(const date::time_zone* zone, Instant t) {
  if (!zone) return LocalMs{t.time_since_epoch()};
  const date::sys_info info = zone->get_info(date::floor<chr::seconds>(t));
  return LocalMs{t.time_since_epoch() + info.offset};
}

// Whether the zone's offset stays the same from `a` to `b` (inclusive), with no change at `a`.
bool steady(const date::time_zone* zone, Instant a, Instant b) {
  if (!zone) return true;
  const date::sys_info info = zone->get_info(date::floor<chr::seconds>(a));
  return info.begin < a && info.end > b;
}

std::string two(long v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02ld", v);
  return buf;
}

}  // namespace

std::string_view to_string(Catchup c) {
  switch (c) {
    case Catchup::none: return "none";
    case Catchup::last: return "last";
    case Catchup::all: return "all";
  }
  return "last";
}

std::string_view to_string(Overlap o) {
  switch (o) {
    case Overlap::skip: return "skip";
    case Overlap::queue: return "queue";
    case Overlap::allow: return "allow";
  }
  return "skip";
}

std::optional<Catchup> catchup_from_string(std::string_view text) {
  if (text == "none") return Catchup::none;
  if (text == "last") return Catchup::last;
  if (text == "all") return Catchup::all;
  return std::nullopt;
}

std::optional<Overlap> overlap_from_string(std::string_view text) {
  if (text == "skip") return Overlap::skip;
  if (text == "queue") return Overlap::queue;
  if (text == "allow") return Overlap::allow;
  return std::nullopt;
}

namespace {

// The zone for a name: null for UTC (no database needed).
Result<const date::time_zone*> find_zone(std::string_view name) {
  if (name == "UTC") return static_cast<const date::time_zone*>(nullptr);
  try {
    return date::locate_zone(std::string(name));
  } catch (const std::exception&) {
    // locate_zone says "not found" by throwing; it also throws when the database is missing.
  }
  if (time_zone_names().empty())
    return Error::make(ErrorKind::validation, "time zone '" + std::string(name) +
                                                  "' cannot be checked: the system's time zone database "
                                                  "(/usr/share/zoneinfo, Debian package tzdata) cannot be read");
  return Error::make(ErrorKind::validation, "unknown time zone '" + std::string(name) +
                                                "' (give an IANA name such as Europe/Berlin or America/New_York)");
}

}  // namespace

Result<Unit> check_time_zone(std::string_view name) {
  auto zone = find_zone(name);
  if (!zone) return std::move(zone).error();
  return Unit{};
}

Result<Schedule> Schedule::make(std::string_view cron, std::string_view time_zone) {
  auto parsed = parse_cron(cron);
  if (!parsed) return std::move(parsed).error();
  auto zone = find_zone(time_zone);
  if (!zone) return std::move(zone).error();
  Schedule s;
  s.cron_ = std::move(*parsed);
  s.zone_ = *zone;
  s.zone_name_ = std::string(time_zone);
  return s;
}

std::vector<std::string> time_zone_names() {
  std::vector<std::string> names;
  try {
    const date::tzdb& db = date::get_tzdb();
    for (const auto& z : db.zones) names.push_back(z.name());
  } catch (const std::exception&) {
    return {};
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<Instant> Schedule::next_after(Instant t) const {
  if (t >= kLatest) return std::nullopt;
  if (t < kEarliest) t = kEarliest - Ms{1};
  LocalMinutes w = date::floor<chr::minutes>(local_of(zone_, t)) + chr::minutes{1};
  const date::year start_year = date::year_month_day{date::floor<date::days>(w)}.year();
  const date::year end_year = std::min(start_year + kHorizon, date::year{10000});
  const LocalMinutes end{date::local_days{end_year / 1 / 1}};
  // A minute whose fire is not after `t` lies in a repeated (fall-back) hour that `t` is in the
  // second pass of: go on to the next one.
  while (true) {
    const auto m = next_match(cron_, w, end);
    if (!m) return std::nullopt;
    const Instant f = instant_of(zone_, *m);
    if (f > t) return f < kLatest ? std::optional<Instant>(f) : std::nullopt;
    w = *m + chr::minutes{1};
  }
}

Fires Schedule::fires_between(Instant from, Instant to, std::size_t limit) const {
  Fires out;
  if (to <= from) return out;
  const std::uint64_t per_day = static_cast<std::uint64_t>(std::popcount(cron_.hours)) *
                                static_cast<std::uint64_t>(std::popcount(cron_.minutes));
  const chr::minutes last_in_day = chr::hours{highest_bit(cron_.hours)} + chr::minutes{highest_bit(cron_.minutes)};
  std::optional<Instant> next = next_after(from);
  while (next && *next <= to) {
    const Instant f = *next;
    if (out.instants.size() < limit) out.instants.push_back(f);
    else ++out.more;
    out.last = f;
    next = next_after(f);
    if (out.instants.size() < limit) continue;
    // Only counting now. Once nothing fires between `f` and the start of the next local day,
    // count each following day at once whose wall times all map one to one (no offset change
    // from its first instant to the next day's) and that lies inside (f, to]. No fire lies
    // between such a day's last minute and the next day's start, so the days chain up.
    Instant cur = f;
    bool counted = false;
    for (auto day = date::floor<date::days>(local_of(zone_, f)) + date::days{1};; day += date::days{1}) {
      const Instant start = instant_of(zone_, LocalMinutes{day});
      const Instant next_start = instant_of(zone_, LocalMinutes{day + date::days{1}});
      if (!counted && (!next || *next < start)) break;
      if (start <= cur || next_start > to || next_start >= kLatest || !steady(zone_, start, next_start)) break;
      const date::year_month_day ymd{day};
      if (cron_.month_matches(static_cast<unsigned>(ymd.month())) &&
          cron_.day_matches(static_cast<unsigned>(ymd.day()), date::weekday{day}.c_encoding())) {
        out.more += per_day;
        out.last = instant_of(zone_, LocalMinutes{day + last_in_day});
      }
      cur = next_start - Ms{1};
      counted = true;
    }
    if (counted) next = next_after(cur);
  }
  return out;
}

WallTime Schedule::wall_time(Instant t) const {
  WallTime out;
  chr::seconds offset{0};
  out.abbrev = "UTC";
  if (zone_) {
    const date::sys_info info = zone_->get_info(date::floor<chr::seconds>(t));
    offset = info.offset;
    out.abbrev = info.abbrev;
  }
  const auto local = date::floor<chr::seconds>(LocalMs{t.time_since_epoch()} + offset);
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<chr::seconds> tod{local - day};
  const long off_min = static_cast<long>(offset.count() / 60);
  const long abs_off = off_min < 0 ? -off_min : off_min;
  out.iso = std::to_string(static_cast<int>(ymd.year()));
  while (out.iso.size() < 4) out.iso.insert(out.iso.begin(), '0');
  out.iso += "-" + two(static_cast<long>(static_cast<unsigned>(ymd.month()))) + "-" +
             two(static_cast<long>(static_cast<unsigned>(ymd.day()))) + "T" + two(tod.hours().count()) + ":" +
             two(tod.minutes().count()) + ":" + two(static_cast<long>(tod.seconds().count()));
  out.iso += (off_min < 0 ? "-" : "+") + two(abs_off / 60) + ":" + two(abs_off % 60);
  return out;
}

}  // namespace spokeflow::schedule
