#pragma once
// A schedule: a cron expression read in an IANA time zone (default UTC), and the instants it
// fires at. The zone database is the system's tzdata, through Debian's libhowardhinnant-date
// (GCC 12's <chrono> has none).
//
// Each wall-clock minute the cron matches fires once:
// - a wall time skipped by a spring-forward (02:30 in New York on its DST day) fires at the first
//   instant after the gap (03:00 EDT); several skipped times that match fire once there;
// - a wall time repeated by a fall-back (01:30 in New York in November) fires at its first
//   occurrence only.
// So a fire is never repeated and never lost, and fires are strictly increasing instants.
//
// "When next" skips by fields (month, then day, hour, minute), never minute by minute, and
// looks at most 401 years ahead (the Gregorian calendar repeats every 400): a cron that could
// never fire is refused by parse_cron already. Instants from year 1 to year 9999 are handled.
//
// Known limit: libhowardhinnant-date 3.0.1 reads the transitions stored in the zoneinfo files,
// which Debian writes up to 2037, and not the rule for later years: from 2038 on, zones keep the
// offset of their last stored transition (standard time).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "schedule/cron.hpp"

namespace date {
class time_zone;
}

namespace spokeflow::schedule {

using Instant = std::chrono::sys_time<std::chrono::milliseconds>;

// After downtime, what happens to the fires that were missed (the service applies it):
// none: start none of them, only count them as skipped; last: start one execution for the
// latest missed fire (the others are counted as skipped); all: start one per missed fire, at
// most kMaxCatchupFires (the oldest first), the rest counted as skipped.
enum class Catchup { none, last, all };
// When a fire comes while the previous execution of the same trigger is still going:
// skip: count it as skipped and start nothing; queue: enqueue it, to start when the previous one
// has ended; allow: start it at once.
enum class Overlap { skip, queue, allow };

inline constexpr Catchup kDefaultCatchup = Catchup::last;
inline constexpr Overlap kDefaultOverlap = Overlap::skip;
inline constexpr std::size_t kMaxCatchupFires = 100;

std::string_view to_string(Catchup c);
std::string_view to_string(Overlap o);
std::optional<Catchup> catchup_from_string(std::string_view text);
std::optional<Overlap> overlap_from_string(std::string_view text);

// Fires in an interval: the first `limit` listed, the others counted.
struct Fires {
  std::vector<Instant> instants;   // in increasing order
  std::uint64_t more = 0;          // fires after the listed ones
  std::optional<Instant> last;     // the latest fire, listed or not (none when there are none)
  std::uint64_t total() const { return instants.size() + more; }
};

// An instant as a wall clock in the schedule's zone shows it.
struct WallTime {
  std::string iso;                 // 2026-03-08T03:00:00-04:00 (ISO 8601 with the UTC offset)
  std::string abbrev;              // EDT
};

class Schedule {
 public:
  // The zone is an IANA name (Europe/Berlin); "UTC" needs no database. Errors (kind
  // validation) say what is wrong with the cron or that the zone is unknown.
  static Result<Schedule> make(std::string_view cron, std::string_view time_zone = "UTC");

  // The first fire strictly after `t`; nullopt when there is none before year 10000.
  std::optional<Instant> next_after(Instant t) const;
  // The fires in (from, to], for catch-up: the first `limit` listed, the others counted (whole
  // days at a time where the zone's offset does not change, so a long downtime costs little).
  Fires fires_between(Instant from, Instant to, std::size_t limit) const;

  WallTime wall_time(Instant t) const;
  const Cron& cron() const { return cron_; }
  const std::string& time_zone() const { return zone_name_; }

 private:
  Schedule() = default;

  Cron cron_;
  std::string zone_name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // null: UTC
};

// Whether `name` is a zone the schedule can use ("UTC" or a name of the system's database);
// the error is the one Schedule::make gives.
Result<Unit> check_time_zone(std::string_view name);

// Every zone name (links included: the zoneinfo files of both are read as zones) of the system's database (sorted), for "did you mean"; empty when
// the database cannot be read.
std::vector<std::string> time_zone_names();

}  // namespace spokeflow::schedule
