#pragma once
// Five-field cron expressions (minute hour day-of-month month day-of-week), parsed into one
// bit set per field. Time zones and "when next" live in schedule.hpp; this is the syntax and
// the wall-clock match.
//
// Accepted: `*`, numbers, ranges `1-5`, steps `*/15` `1-30/5` `5/15` (= 5-last/15), lists
// `1,15,30`, month names JAN-DEC and day names SUN-SAT (any letter case, also in ranges and
// lists), 0 and 7 for Sunday, and the macros @yearly @annually @monthly @weekly @daily
// @midnight @hourly. A cron that can never fire (`0 0 30 2 *`) is refused.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace spokeflow::schedule {

struct Cron {
  std::uint64_t minutes = 0;   // bit m: minute m (0-59)
  std::uint32_t hours = 0;     // bit h: hour h (0-23)
  std::uint32_t days = 0;      // bit d: day of the month d (1-31)
  std::uint16_t months = 0;    // bit m: month m (1-12)
  std::uint8_t weekdays = 0;   // bit w: day of the week w (0-6, 0 = Sunday)
  // Whether day-of-month / day-of-week was written starting with `*` (`*` or `*/N`). Cron's rule:
  // when neither is, a day matches when EITHER field does; otherwise when both do.
  bool days_star = true;
  bool weekdays_star = true;
  std::string text;            // as written, trimmed

  // The calendar part: day of the month 1-31, day of the week 0-6 (0 = Sunday).
  bool day_matches(unsigned day, unsigned weekday) const;
  bool month_matches(unsigned month) const { return (months >> month) & 1u; }
  bool hour_matches(unsigned hour) const { return (hours >> hour) & 1u; }
  bool minute_matches(unsigned minute) const { return (minutes >> minute) & 1u; }
};

// Parses `text`. Errors (kind validation) say which field and why, e.g.
// "minute 99 is out of range 0-59"; details hold {"field": NAME} when one field is at fault.
Result<Cron> parse_cron(std::string_view text);

}  // namespace spokeflow::schedule
