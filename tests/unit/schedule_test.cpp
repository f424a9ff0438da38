// Cron schedules: the syntax, the refusals, and fires at explicit instants (no real clock),
// across daylight-saving changes in America/New_York and Europe/Berlin, February 29, cron's
// day-of-month/day-of-week rule and catch-up counting. schedule_property_test.cpp pins the
// field-skipping search to a minute-by-minute reference over random expressions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/ids.hpp"
#include "schedule/cron.hpp"
#include "schedule/schedule.hpp"

using namespace spokeflow;
using namespace spokeflow::schedule;

namespace {

Instant at(const std::string& iso) {
  auto ms = parse_timestamp(iso);
  REQUIRE_MESSAGE(ms, iso);
  return Instant{std::chrono::milliseconds{*ms}};
}

std::string iso(Instant t) { return format_timestamp(t.time_since_epoch().count()); }
std::string iso(const std::optional<Instant>& t) { return t ? iso(*t) : "never"; }

Schedule make(const std::string& cron, const std::string& zone = "UTC") {
  auto s = Schedule::make(cron, zone);
  const std::string what = cron + " in " + zone + ": " + (s.ok() ? "" : s.error().message);
  REQUIRE_MESSAGE(s.ok(), what);
  return *s;
}

std::string error_of(const std::string& cron) {
  auto c = parse_cron(cron);
  if (c.ok()) return "(accepted)";
  CHECK(c.error().kind == ErrorKind::validation);
  return c.error().message;
}

// The next `n` fires after `from`, as RFC 3339 UTC text.
std::vector<std::string> next_fires(const Schedule& s, Instant from, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    auto f = s.next_after(from);
    if (!f) break;
    out.push_back(iso(*f));
    from = *f;
  }
  return out;
}

std::vector<std::string> texts(const std::vector<Instant>& v) {
  std::vector<std::string> out;
  for (auto t : v) out.push_back(iso(t));
  return out;
}

std::vector<unsigned> bits(std::uint64_t mask) {
  std::vector<unsigned> out;
  for (unsigned i = 0; i < 64; ++i)
    if ((mask >> i) & 1u) out.push_back(i);
  return out;
}

using V = std::vector<unsigned>;
using S = std::vector<std::string>;

}  // namespace

TEST_CASE("every syntax form") {
  auto c = parse_cron("*/15 1-23/5 5/10 JAN-mar,dec mon-FRI");
  REQUIRE(c.ok());
  CHECK(bits(c->minutes) == V{0, 15, 30, 45});
  CHECK(bits(c->hours) == V{1, 6, 11, 16, 21});
  CHECK(bits(c->days) == V{5, 15, 25});
  CHECK(bits(c->months) == V{1, 2, 3, 12});
  CHECK(bits(c->weekdays) == V{1, 2, 3, 4, 5});
  CHECK_FALSE(c->days_star);
  CHECK_FALSE(c->weekdays_star);
  CHECK(c->text == "*/15 1-23/5 5/10 JAN-mar,dec mon-FRI");

  c = parse_cron("  0,7,59\t 0,23  1,31 *  *  ");
  REQUIRE(c.ok());
  CHECK(bits(c->minutes) == V{0, 7, 59});
  CHECK(bits(c->hours) == V{0, 23});
  CHECK(bits(c->days) == V{1, 31});
  CHECK(bits(c->months) == V{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(bits(c->weekdays) == V{0, 1, 2, 3, 4, 5, 6});
  CHECK(c->text == "0,7,59\t 0,23  1,31 *  *");
  CHECK_FALSE(c->days_star);
  CHECK(c->weekdays_star);

  // 0 and 7 are both Sunday, as numbers, in ranges and next to names.
  CHECK(bits(parse_cron("0 0 * * 7")->weekdays) == V{0});
  CHECK(bits(parse_cron("0 0 * * 0")->weekdays) == V{0});
  CHECK(bits(parse_cron("0 0 * * 5-7")->weekdays) == V{0, 5, 6});
  CHECK(bits(parse_cron("0 0 * * SAT-SUN")->weekdays) == V{0, 6});
  CHECK(bits(parse_cron("0 0 * * sun,Wed")->weekdays) == V{0, 3});
  CHECK(bits(parse_cron("0 0 * * */2")->weekdays) == V{0, 2, 4, 6});
  CHECK(parse_cron("0 0 * * */2")->weekdays_star);
  CHECK(bits(parse_cron("0 0 * Feb,aug,NOV *")->months) == V{2, 8, 11});
  CHECK(bits(parse_cron("0 0 * 10/2 *")->months) == V{10, 12});
  CHECK(bits(parse_cron("0 0 1-31/10 * *")->days) == V{1, 11, 21, 31});
  CHECK(bits(parse_cron("* * * * *")->minutes).size() == 60);
  CHECK(bits(parse_cron("*,5 * * * *")->minutes).size() == 60);

  // The macros are the five fields they stand for, in any letter case.
  struct Macro {
    const char* macro;
    const char* fields;
  };
  for (const auto& m : {Macro{"@yearly", "0 0 1 1 *"}, Macro{"@annually", "0 0 1 1 *"}, Macro{"@monthly", "0 0 1 * *"},
                        Macro{"@weekly", "0 0 * * 0"}, Macro{"@daily", "0 0 * * *"}, Macro{"@midnight", "0 0 * * *"},
                        Macro{"@hourly", "0 * * * *"}, Macro{"@DAILY", "0 0 * * *"}, Macro{" @Hourly ", "0 * * * *"}}) {
    CAPTURE(m.macro);
    auto a = parse_cron(m.macro);
    auto b = parse_cron(m.fields);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->minutes == b->minutes);
    CHECK(a->hours == b->hours);
    CHECK(a->days == b->days);
    CHECK(a->months == b->months);
    CHECK(a->weekdays == b->weekdays);
    CHECK(a->days_star == b->days_star);
    CHECK(a->weekdays_star == b->weekdays_star);
  }

  // What they mean in time (UTC): 2026-12-04 is a Friday.
  const Instant fri = at("2026-12-04T07:00:00Z");
  CHECK(next_fires(make("0 6 * * 1-5"), fri, 2) == S{"2026-12-07T06:00:00.000Z", "2026-12-08T06:00:00.000Z"});
  CHECK(next_fires(make("@hourly"), fri, 2) == S{"2026-12-04T08:00:00.000Z", "2026-12-04T09:00:00.000Z"});
  CHECK(next_fires(make("@daily"), fri, 1) == S{"2026-12-05T00:00:00.000Z"});
  CHECK(next_fires(make("@weekly"), fri, 1) == S{"2026-12-06T00:00:00.000Z"});
  CHECK(next_fires(make("@monthly"), fri, 1) == S{"2027-01-01T00:00:00.000Z"});
  CHECK(next_fires(make("@yearly"), fri, 2) == S{"2027-01-01T00:00:00.000Z", "2028-01-01T00:00:00.000Z"});
  CHECK(next_fires(make("1-30/5 7 * * *"), fri, 3) ==
        S{"2026-12-04T07:01:00.000Z", "2026-12-04T07:06:00.000Z", "2026-12-04T07:11:00.000Z"});
  CHECK(next_fires(make("59 23 31 DEC *"), fri, 1) == S{"2026-12-31T23:59:00.000Z"});
  CHECK(next_fires(make("0 0 * JAN,jul sun"), fri, 2) == S{"2027-01-03T00:00:00.000Z", "2027-01-10T00:00:00.000Z"});
  // Strictly after: a fire at the instant given is not "next"; seconds inside a minute are.
  CHECK(next_fires(make("0 6 * * *"), at("2026-12-07T06:00:00Z"), 1) == S{"2026-12-08T06:00:00.000Z"});
  CHECK(next_fires(make("0 6 * * *"), at("2026-12-07T05:59:59.999Z"), 1) == S{"2026-12-07T06:00:00.000Z"});
  CHECK(next_fires(make("* * * * *"), at("2026-12-07T05:59:30Z"), 1) == S{"2026-12-07T06:00:00.000Z"});
}

TEST_CASE("bad cron expressions are refused with the field and the reason") {
  CHECK(error_of("99 99 * * *") == "minute 99 is out of range 0-59");
  CHECK(error_of("0 24 * * *") == "hour 24 is out of range 0-23");
  CHECK(error_of("0 0 0 * *") == "day-of-month 0 is out of range 1-31");
  CHECK(error_of("0 0 32 * *") == "day-of-month 32 is out of range 1-31");
  CHECK(error_of("0 0 * 13 *") == "month 13 is out of range 1-12");
  CHECK(error_of("0 0 * 0 *") == "month 0 is out of range 1-12");
  CHECK(error_of("0 0 * * 8") == "day-of-week 8 is out of range 0-7");
  CHECK(error_of("0 0 * * 99999999999999999999") == "day-of-week 99999999999999999999 is out of range 0-7");
  CHECK(error_of("0 0 * FOO *") == "month 'FOO' is not a number 1-12 or a name JAN-DEC");
  CHECK(error_of("0 0 * MON *") == "month 'MON' is not a number 1-12 or a name JAN-DEC");
  CHECK(error_of("0 0 * * JAN") == "day-of-week 'JAN' is not a number 0-7 (0 and 7 are Sunday) or a name SUN-SAT");
  CHECK(error_of("0 0 * * MONDAY") ==
        "day-of-week 'MONDAY' is not a number 0-7 (0 and 7 are Sunday) or a name SUN-SAT");
  CHECK(error_of("MON 0 * * *") == "minute 'MON' is not a number 0-59");
  CHECK(error_of("-5 0 * * *") == "bad minute range '-5': write it as A-B, e.g. 1-5");
  CHECK(error_of("0 0 * * MON-") == "bad day-of-week range 'MON-': write it as A-B, e.g. MON-FRI");
  CHECK(error_of("*-5 0 * * *") == "bad minute range '*-5': write it as A-B, e.g. 1-5");
  CHECK(error_of("1-2-3 0 * * *") == "minute '2-3' is not a number 0-59");
  CHECK(error_of("0 22-2 * * *") == "hour range 22-2 goes backwards; write it as two ranges, e.g. 22-23,0-2");
  CHECK(error_of("*/0 * * * *") == "minute step 0 is out of range 1-59 (in '*/0')");
  CHECK(error_of("*/60 * * * *") == "minute step 60 is out of range 1-59 (in '*/60')");
  CHECK(error_of("0 */24 * * *") == "hour step 24 is out of range 1-23 (in '*/24')");
  CHECK(error_of("*/x * * * *") == "minute step 'x' is not a number (in '*/x')");
  CHECK(error_of("*/ * * * *") == "minute step '' is not a number (in '*/')");
  CHECK(error_of("/5 * * * *") ==
        "bad minute item '/5': expected *, a value, a range A-B, or one of them with a step (*/15, 1-30/5)");
  CHECK(error_of("1,,2 * * * *") == "minute '1,,2' has an empty item in its list");
  CHECK(error_of("1, * * * *") == "minute '1,' has an empty item in its list");
  CHECK(error_of("0 0 ? * *") == "day-of-month: '?' is not cron syntax here; write '*' for any");
  CHECK(error_of("0 6 * *") ==
        "cron needs five fields (minute hour day-of-month month day-of-week), e.g. \"0 6 * * 1-5\"; found 4");
  CHECK(error_of("0 0 6 * * *") == "cron needs five fields (minute hour day-of-month month day-of-week), e.g. "
                                   "\"0 6 * * 1-5\"; found 6 (seconds and years are not supported)");
  CHECK(error_of("") ==
        "the cron expression is empty; give five fields (minute hour day-of-month month day-of-week), e.g. \"0 6 * * 1-5\"");
  CHECK(error_of(" \t ") == error_of(""));
  CHECK(error_of("@reboot") == "@reboot is not supported: a schedule fires at times of day, not at start-up");
  CHECK(error_of("@often") ==
        "unknown cron macro '@often' (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
  CHECK(error_of("@daily 5") ==
        "unknown cron macro '@daily 5' (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
  CHECK(error_of("0 0 * * \x01\xff") == "day-of-week '?\?' is not a number 0-7 (0 and 7 are Sunday) or a name SUN-SAT");
  CHECK(error_of(std::string(1001, '1')) == "the cron expression is too long (1001 characters; the limit is 1000)");

  // The field at fault is also in the details, for programs.
  auto e = parse_cron("0 0 * 13 *");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().details == Json{{"field", "month"}});
}

TEST_CASE("a cron that can never fire is refused, quickly") {
  CHECK(error_of("0 0 30 2 *") == "it never fires: no day-of-month it allows (30) occurs in a month it allows (FEB)");
  CHECK(error_of("0 0 31 4,6,9,11 *") ==
        "it never fires: no day-of-month it allows (31) occurs in a month it allows (APR, JUN, SEP, NOV)");
  CHECK(error_of("0 0 30,31 FEB */2") ==
        "it never fires: no day-of-month it allows (30, 31) occurs in a month it allows (FEB)");
  CHECK(parse_cron("0 0 30 2 *").error().details == Json{{"field", "day-of-month"}});
  CHECK(Schedule::make("0 0 30 2 *").error().message.starts_with("it never fires"));
  // With a restricted day of the week too, cron's OR rule makes it fire on those weekdays.
  CHECK(parse_cron("0 0 30 2 MON").ok());
  CHECK(next_fires(make("0 0 30 2 MON"), at("2026-12-01T00:00:00Z"), 2) ==
        S{"2027-02-01T00:00:00.000Z", "2027-02-08T00:00:00.000Z"});
  // February 29 is possible: the search jumps by month and year, not by minute.
  CHECK(parse_cron("0 0 29 2 *").ok());
  CHECK(parse_cron("0 0 31 * *").ok());
}

TEST_CASE("February 29") {
  const Schedule utc = make("0 0 29 2 *");
  CHECK(iso(utc.next_after(at("2027-01-01T00:00:00Z"))) == "2028-02-29T00:00:00.000Z");
  CHECK(iso(utc.next_after(at("2028-02-29T00:00:00Z"))) == "2032-02-29T00:00:00.000Z");
  // 2100 is not a leap year (divisible by 100, not by 400): eight years to the next one.
  CHECK(iso(utc.next_after(at("2096-03-01T00:00:00Z"))) == "2104-02-29T00:00:00.000Z");
  // 2000 was one (divisible by 400).
  CHECK(iso(utc.next_after(at("1997-01-01T00:00:00Z"))) == "2000-02-29T00:00:00.000Z");
  CHECK(iso(make("0 0 29 2 *", "America/New_York").next_after(at("2027-01-01T00:00:00Z"))) ==
        "2028-02-29T05:00:00.000Z");
  // A February 29 on a weekend (a day-of-week written starting with * means AND): 2032 (Sunday).
  CHECK(iso(make("0 12 29 2 */6").next_after(at("2027-01-01T00:00:00Z"))) == "2032-02-29T12:00:00.000Z");
  // Written without *: February 29 OR any weekend day of February.
  CHECK(iso(make("0 12 29 2 6-6/1,0").next_after(at("2027-01-01T00:00:00Z"))) == "2027-02-06T12:00:00.000Z");
}

TEST_CASE("cron's day-of-month / day-of-week rule") {
  // November 2026: Sunday the 1st; Fridays 6, 13, 20, 27.
  const Instant nov = at("2026-11-01T00:00:00Z");
  // Both restricted: the 13th OR any Friday.
  CHECK(next_fires(make("0 0 13 * 5"), nov, 6) ==
        S{"2026-11-06T00:00:00.000Z", "2026-11-13T00:00:00.000Z", "2026-11-20T00:00:00.000Z", "2026-11-27T00:00:00.000Z",
          "2026-12-04T00:00:00.000Z", "2026-12-11T00:00:00.000Z"});
  CHECK(next_fires(make("0 0 1,15 * WED"), nov, 4) ==
        S{"2026-11-04T00:00:00.000Z", "2026-11-11T00:00:00.000Z", "2026-11-15T00:00:00.000Z", "2026-11-18T00:00:00.000Z"});
  // Day-of-week *: only the day of the month counts; and the other way round.
  CHECK(next_fires(make("0 0 13 * *"), nov, 2) == S{"2026-11-13T00:00:00.000Z", "2026-12-13T00:00:00.000Z"});
  CHECK(next_fires(make("0 0 * * FRI"), nov, 2) == S{"2026-11-06T00:00:00.000Z", "2026-11-13T00:00:00.000Z"});
  // A field written starting with * (*/2) counts as unrestricted, as in Vixie cron and cronie:
  // odd days that are Fridays (AND), not odd days or Fridays.
  CHECK(next_fires(make("0 0 */2 * 5"), nov, 3) ==
        S{"2026-11-13T00:00:00.000Z", "2026-11-27T00:00:00.000Z", "2026-12-11T00:00:00.000Z"});
  // The same days written as a range are restricted: odd days OR Fridays (after November 1st,
  // 00:00: "next" is strictly later).
  CHECK(next_fires(make("0 0 1-31/2 * 5"), nov, 4) ==
        S{"2026-11-03T00:00:00.000Z", "2026-11-05T00:00:00.000Z", "2026-11-06T00:00:00.000Z", "2026-11-07T00:00:00.000Z"});
}

TEST_CASE("America/New_York: spring forward") {
  // 2026-03-08: at 02:00 EST (07:00Z) clocks go to 03:00 EDT; 02:00-02:59 do not exist.
  const Schedule s = make("30 2 * * *", "America/New_York");
  CHECK(s.time_zone() == "America/New_York");
  CHECK(next_fires(s, at("2026-03-07T00:00:00Z"), 3) ==
        S{"2026-03-07T07:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"});
  const auto wall = s.wall_time(at("2026-03-08T07:00:00Z"));
  CHECK(wall.iso == "2026-03-08T03:00:00-04:00");
  CHECK(wall.abbrev == "EDT");
  CHECK(s.wall_time(at("2026-03-07T07:30:00Z")).iso == "2026-03-07T02:30:00-05:00");
  // Every skipped minute that matches, and 03:00 itself, fire once at 03:00 EDT.
  CHECK(texts(make("*/15 * * * *", "America/New_York")
                  .fires_between(at("2026-03-08T06:30:00Z"), at("2026-03-08T07:30:00Z"), 100)
                  .instants) == S{"2026-03-08T06:45:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-08T07:15:00.000Z",
                                  "2026-03-08T07:30:00.000Z"});
  CHECK(next_fires(make("0 2 8 3 *", "America/New_York"), at("2026-01-01T00:00:00Z"), 2) ==
        S{"2026-03-08T07:00:00.000Z", "2027-03-08T07:00:00.000Z"});
  // From inside the gap's instant: the fire at 07:00Z is not after 07:00Z.
  CHECK(next_fires(s, at("2026-03-08T07:00:00Z"), 1) == S{"2026-03-09T06:30:00.000Z"});
  CHECK(next_fires(s, at("2026-03-08T06:59:59Z"), 1) == S{"2026-03-08T07:00:00.000Z"});
}

TEST_CASE("America/New_York: fall back") {
  // 2026-11-01: at 02:00 EDT (06:00Z) clocks go back to 01:00 EST; 01:00-01:59 happen twice.
  const Schedule s = make("30 1 * * *", "America/New_York");
  CHECK(next_fires(s, at("2026-10-31T12:00:00Z"), 3) ==
        S{"2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z", "2026-11-03T06:30:00.000Z"});
  CHECK(s.wall_time(at("2026-11-01T05:30:00Z")).iso == "2026-11-01T01:30:00-04:00");
  // Asked during the second 01:00-01:59 (01:10 EST), or just before its 01:30: not again.
  CHECK(next_fires(s, at("2026-11-01T06:10:00Z"), 1) == S{"2026-11-02T06:30:00.000Z"});
  CHECK(next_fires(s, at("2026-11-01T06:29:00Z"), 1) == S{"2026-11-02T06:30:00.000Z"});
  const Fires f = make("*/30 * * * *", "America/New_York").fires_between(at("2026-11-01T04:00:00Z"), at("2026-11-01T08:00:00Z"), 100);
  CHECK(texts(f.instants) == S{"2026-11-01T04:30:00.000Z", "2026-11-01T05:00:00.000Z", "2026-11-01T05:30:00.000Z",
                               "2026-11-01T07:00:00.000Z", "2026-11-01T07:30:00.000Z", "2026-11-01T08:00:00.000Z"});
  CHECK(f.more == 0);
  CHECK(iso(f.last) == "2026-11-01T08:00:00.000Z");
  // 02:30 happens once (EST): no fire is lost either.
  CHECK(next_fires(make("30 2 * * *", "America/New_York"), at("2026-10-31T12:00:00Z"), 1) == S{"2026-11-01T07:30:00.000Z"});
}

TEST_CASE("Europe/Berlin: both changes") {
  // 2026-03-29: 02:00 CET (01:00Z) -> 03:00 CEST. 2026-10-25: 03:00 CEST (01:00Z) -> 02:00 CET.
  const Schedule s = make("30 2 * * *", "Europe/Berlin");
  CHECK(next_fires(s, at("2026-03-28T00:00:00Z"), 3) ==
        S{"2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"});
  CHECK(s.wall_time(at("2026-03-29T01:00:00Z")).iso == "2026-03-29T03:00:00+02:00");
  CHECK(s.wall_time(at("2026-03-29T01:00:00Z")).abbrev == "CEST");
  CHECK(next_fires(s, at("2026-10-24T12:00:00Z"), 3) ==
        S{"2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z", "2026-10-27T01:30:00.000Z"});
  CHECK(s.wall_time(at("2026-10-25T00:30:00Z")).iso == "2026-10-25T02:30:00+02:00");
  CHECK(s.wall_time(at("2026-10-26T01:30:00Z")).abbrev == "CET");
  // Counted across both changes: 365 wall-clock days of 2026, one fire each.
  const Fires year = s.fires_between(at("2025-12-31T23:00:00Z"), at("2026-12-31T23:00:00Z"), 0);
  CHECK(year.total() == 365);
  CHECK(iso(year.last) == "2026-12-31T01:30:00.000Z");
}

TEST_CASE("catch-up: fires between two instants, listed up to a limit and counted") {
  const Schedule s = make("*/15 * * * *");
  const Instant down = at("2026-12-07T09:00:00Z");
  const Instant up = at("2026-12-07T12:00:00Z");
  Fires all = s.fires_between(down, up, 100);
  CHECK(all.total() == 12);
  CHECK(all.more == 0);
  CHECK(iso(all.instants.front()) == "2026-12-07T09:15:00.000Z");
  CHECK(iso(all.instants.back()) == "2026-12-07T12:00:00.000Z");
  CHECK(iso(all.last) == "2026-12-07T12:00:00.000Z");

  Fires one = s.fires_between(down, up, 1);
  CHECK(texts(one.instants) == S{"2026-12-07T09:15:00.000Z"});
  CHECK(one.more == 11);
  CHECK(one.total() == 12);
  CHECK(iso(one.last) == "2026-12-07T12:00:00.000Z");

  Fires none = s.fires_between(down, up, 0);
  CHECK(none.instants.empty());
  CHECK(none.more == 12);
  CHECK(iso(none.last) == "2026-12-07T12:00:00.000Z");

  // Down from 09:07 to 12:07: the same 12. Empty and backwards intervals have none.
  CHECK(s.fires_between(at("2026-12-07T09:07:00Z"), at("2026-12-07T12:07:00Z"), 5).total() == 12);
  CHECK(s.fires_between(up, up, 5).total() == 0);
  CHECK_FALSE(s.fires_between(up, down, 5).last);

  // A long downtime is counted by whole days: every minute of 2026 in New York is 525,600
  // wall-clock minutes, less the 60 of the spring-forward gap (they fire once, with 03:00).
  const Schedule minutely = make("* * * * *", "America/New_York");
  Fires year = minutely.fires_between(at("2026-01-01T04:59:59.999Z"), at("2027-01-01T04:59:59.999Z"), 3);
  CHECK(year.total() == 525'540);
  CHECK(texts(year.instants) == S{"2026-01-01T05:00:00.000Z", "2026-01-01T05:01:00.000Z", "2026-01-01T05:02:00.000Z"});
  CHECK(iso(year.last) == "2027-01-01T04:59:00.000Z");
  // Sparse: the 29ths of February of this century.
  Fires leap = make("0 0 29 2 *").fires_between(at("2000-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"), 2);
  CHECK(leap.total() == 25);
  CHECK(iso(leap.last) == "2096-02-29T00:00:00.000Z");
}

TEST_CASE("time zones") {
  CHECK(make("0 6 * * *").time_zone() == "UTC");
  CHECK(make("0 6 * * *", "UTC").time_zone() == "UTC");
  CHECK(iso(make("0 6 * * *", "Asia/Kolkata").next_after(at("2026-12-07T00:00:00Z"))) == "2026-12-07T00:30:00.000Z");
  CHECK(iso(make("0 6 * * *", "Etc/UTC").next_after(at("2026-12-07T00:00:00Z"))) == "2026-12-07T06:00:00.000Z");
  auto bad = Schedule::make("0 6 * * *", "Europe/Berln");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::validation);
  CHECK(bad.error().message ==
        "unknown time zone 'Europe/Berln' (give an IANA name such as Europe/Berlin or America/New_York)");
  CHECK(check_time_zone("UTC").ok());
  CHECK(check_time_zone("Europe/Berlin").ok());
  CHECK(check_time_zone("Europe/Berln").error().message == bad.error().message);
  CHECK(check_time_zone("").error().message ==
        "unknown time zone '' (give an IANA name such as Europe/Berlin or America/New_York)");
  CHECK_FALSE(Schedule::make("0 6 * * *", "../../etc/passwd").ok());
  CHECK_FALSE(Schedule::make("0 6 * * *", "/usr/share/zoneinfo/UTC").ok());
  const auto names = time_zone_names();
  CHECK(std::find(names.begin(), names.end(), "Europe/Berlin") != names.end());
  CHECK(std::find(names.begin(), names.end(), "America/New_York") != names.end());
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(make("0 6 * * *").wall_time(at("2026-12-07T06:00:00Z")).iso == "2026-12-07T06:00:00+00:00");
  CHECK(make("0 6 * * *", "Asia/Kolkata").wall_time(at("2026-12-07T00:30:00Z")).iso == "2026-12-07T06:00:00+05:30");
}

TEST_CASE("the ends of time") {
  const Schedule s = make("* * * * *");
  CHECK_FALSE(s.next_after(at("9999-12-31T23:59:30Z")));
  CHECK_FALSE(s.next_after(Instant::max()));
  CHECK(iso(s.next_after(Instant::min())) == "0001-01-01T00:00:00.000Z");
  CHECK(iso(make("0 0 1 1 *", "America/New_York").next_after(at("9998-06-01T00:00:00Z"))) == "9999-01-01T05:00:00.000Z");
  CHECK_FALSE(make("0 0 1 1 *", "America/New_York").next_after(at("9999-06-01T00:00:00Z")));
  CHECK(make("0 0 * * *").fires_between(at("9999-12-30T12:00:00Z"), Instant::max(), 10).total() == 1);
  // Counting by whole days stops at the end too.
  const Fires end = make("0 0 * * *", "Europe/Berlin").fires_between(at("9999-12-20T12:00:00Z"), Instant::max(), 0);
  CHECK(end.total() == 11);
  CHECK(iso(end.last) == "9999-12-30T23:00:00.000Z");
}

TEST_CASE("catchup and overlap names") {
  CHECK(catchup_from_string("none") == Catchup::none);
  CHECK(catchup_from_string("last") == Catchup::last);
  CHECK(catchup_from_string("all") == Catchup::all);
  CHECK_FALSE(catchup_from_string("some"));
  CHECK(overlap_from_string("skip") == Overlap::skip);
  CHECK(overlap_from_string("queue") == Overlap::queue);
  CHECK(overlap_from_string("allow") == Overlap::allow);
  CHECK_FALSE(overlap_from_string("Skip"));
  for (auto c : {Catchup::none, Catchup::last, Catchup::all}) CHECK(catchup_from_string(to_string(c)) == c);
  for (auto o : {Overlap::skip, Overlap::queue, Overlap::allow}) CHECK(overlap_from_string(to_string(o)) == o);
}
