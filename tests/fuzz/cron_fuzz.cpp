// Fuzz target: cron expressions (schedule::parse_cron), then "when next" and catch-up counting
// (Schedule::next_after, fires_between) in zones with daylight-saving changes of one hour,
// half an hour (Australia/Lord_Howe) and a skipped day (Pacific/Apia, 2011-12-30).
// Input: the cron text, optionally followed by a line "@<minutes>" choosing the start instant
// (minutes after 1970-01-01T00:00Z, taken modulo 70 years).
// Properties: no crash; an error is a validation error with a printable ASCII message; a parsed
// cron has a value in each field, only in range, and parses again to the same fields; a start
// before 2040 always has a next fire, later than the start and less than 41 years on (February
// 29 on a given weekday can take 28 years, 40 across a year like 2100); its wall time matches
// the cron unless it is the end of a daylight-saving gap; next fires strictly increase;
// fires_between lists exactly the chain of next_after, and counts the same total whatever
// its limit.
#include <chrono>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "schedule/schedule.hpp"

using namespace spokeflow;
using namespace spokeflow::schedule;

namespace {

constexpr const char* kZones[] = {"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia"};

bool printable_ascii(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Days since 1970-01-01 to a weekday, 0 = Sunday (1970-01-01 was a Thursday).
unsigned weekday_of(long days) { return static_cast<unsigned>(((days % 7) + 7 + 4) % 7); }

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

unsigned number(std::string_view s, std::size_t at, std::size_t len) {
  unsigned v = 0;
  std::from_chars(s.data() + at, s.data() + at + len, v);
  return v;
}

// Whether the wall time WallTime::iso shows ("2026-03-08T03:00:00-04:00") matches the cron.
bool wall_matches(const Cron& c, const std::string& iso) {
  if (iso.size() < 25) return false;
  const long year = static_cast<long>(number(iso, 0, 4));
  const unsigned month = number(iso, 5, 2), day = number(iso, 8, 2);
  const unsigned hour = number(iso, 11, 2), minute = number(iso, 14, 2);
  return c.month_matches(month) && c.day_matches(day, weekday_of(days_from_civil(year, month, day))) &&
         c.hour_matches(hour) && c.minute_matches(minute);
}

std::string offset_of(const std::string& iso) { return iso.size() >= 6 ? iso.substr(iso.size() - 6) : iso; }

void check_fields(const Cron& c, std::string_view text) {
  fuzz::check(c.minutes != 0 && (c.minutes >> 60) == 0, "minutes in 0-59", text);
  fuzz::check(c.hours != 0 && (c.hours >> 24) == 0, "hours in 0-23", text);
  fuzz::check(c.days != 0 && (c.days & 1u) == 0, "days of the month in 1-31", text);
  fuzz::check(c.months != 0 && (c.months & 1u) == 0 && (c.months >> 13) == 0, "months in 1-12", text);
  fuzz::check(c.weekdays != 0 && (c.weekdays >> 7) == 0, "days of the week in 0-6", text);
  auto again = parse_cron(c.text);
  fuzz::check(again.ok(), "a parsed cron's text parses again", c.text);
  fuzz::check(again->minutes == c.minutes && again->hours == c.hours && again->days == c.days &&
                  again->months == c.months && again->weekdays == c.weekdays && again->days_star == c.days_star &&
                  again->weekdays_star == c.weekdays_star,
              "parsing the text again gives the same fields", c.text);
}

void check_schedule(const Schedule& s, Instant start) {
  using namespace std::chrono;
  const auto next = s.next_after(start);
  fuzz::check(next.has_value(), "a cron that parses fires after a start before 2040", s.cron().text);
  fuzz::check(*next > start, "the next fire is after the start", s.cron().text);
  fuzz::check(*next - start < hours{24 * 366 * 41}, "the next fire is less than 41 years on", s.cron().text);
  const WallTime wall = s.wall_time(*next);
  if (!wall_matches(s.cron(), wall.iso))
    fuzz::check(offset_of(s.wall_time(*next - seconds{1}).iso) != offset_of(wall.iso),
                "a fire whose wall time does not match the cron ends a daylight-saving gap",
                s.cron().text + " in " + s.time_zone() + " at " + wall.iso);

  // Two days of fires: listed ones are the chain of next_after; the total never depends on the limit.
  const Instant to = *next + hours{48};
  const Fires few = s.fires_between(start, to, 5);
  const Fires none = s.fires_between(start, to, 0);
  const Fires many = s.fires_between(start, to, 64);
  fuzz::check(!few.instants.empty() && few.instants.front() == *next, "the first fire listed is the next one",
              s.cron().text);
  for (std::size_t i = 1; i < many.instants.size(); ++i) {
    const auto n = s.next_after(many.instants[i - 1]);
    fuzz::check(n && *n == many.instants[i], "listed fires follow next_after", s.cron().text + " in " + s.time_zone());
  }
  fuzz::check(few.total() == none.total() && none.total() == many.total(), "the count does not depend on the limit",
              s.cron().text + " in " + s.time_zone());
  fuzz::check(few.last == none.last && none.last == many.last, "the last fire does not depend on the limit",
              s.cron().text + " in " + s.time_zone());
  fuzz::check(!many.last || *many.last <= to, "the last fire is inside the interval", s.cron().text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  std::string_view cron = input;
  std::uint64_t minutes = 29'000'000;  // 2025-02-19
  if (auto nl = input.find("\n@"); nl != std::string_view::npos) {
    cron = input.substr(0, nl);
    std::string_view tail = input.substr(nl + 2);
    std::uint64_t v = 0;
    std::from_chars(tail.data(), tail.data() + tail.size(), v);
    minutes = v % (70ull * 365 * 24 * 60);  // up to 2040
  }
  auto parsed = parse_cron(cron);
  if (!parsed.ok()) {
    fuzz::check(parsed.error().kind == ErrorKind::validation, "a cron error is a validation error");
    fuzz::check(!parsed.error().message.empty(), "a cron error has a message");
    fuzz::check(printable_ascii(parsed.error().message), "a cron error is printable ASCII", parsed.error().message);
    return 0;
  }
  check_fields(*parsed, cron);
  const Instant start{std::chrono::minutes{minutes} + std::chrono::seconds{minutes % 60}};
  for (const char* zone : kZones) {
    auto s = Schedule::make(cron, zone);
    fuzz::check(s.ok(), "a cron that parses makes a schedule in every zone", cron);
    check_schedule(*s, start);
  }
  return 0;
}
