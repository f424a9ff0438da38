#include "cli/schedule_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "flow/files.hpp"
#include <iostream>
#include <vector>

#include "common/ids.hpp"
#include "flow/loader.hpp"

namespace spokeflow::cli {
namespace fs = std::filesystem;

int cmd_schedules_list(const GlobalOptions& g, const SchedulesListOptions& o, const ExtraActions& extra) {
  std::int64_t from_ms = now_unix_ms();
  if (!o.from.empty()) {
    auto parsed = parse_timestamp(o.from);
    if (!parsed) {
      std::cerr << "error: --from '" << o.from << "' is not a point in time (RFC 3339, e.g. 2026-12-08T09:00:00Z)\n";
      return kExitInvalid;
    }
    from_ms = *parsed;
  }
  const std::string dir = flows_dir_or_default(o.flows_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "error: flows directory '" << dir << "' does not exist (give --flows-dir or set SPOKEFLOW_FLOWS_DIR)\n";
    return kExitInvalid;
  }
  const std::vector<std::string> files = flow::flow_files_in(dir, ec);

  Shell shell(g, extra);
  const schedule::Instant from{std::chrono::milliseconds{from_ms}};
  Json schedules = Json::array();
  Json invalid = Json::array();
  for (const auto& f : files) {
    flow::LoadResult r = flow::load_flow_file(f, shell.actions);
    if (!r.flow || !r.diagnostics.empty()) {
      invalid.push_back({{"file", f}, {"errors", diagnostics_json(r.diagnostics)}});
      continue;
    }
    for (std::size_t i = 0; i < r.flow->triggers.size(); ++i) {
      const flow::Trigger& t = r.flow->triggers[i];
      if (!t.schedule) continue;
      Json next = Json::array();
      schedule::Instant at = from;
      for (int n = 0; n < o.count; ++n) {
        auto fire = t.schedule->next_after(at);
        if (!fire) break;
        const schedule::WallTime wall = t.schedule->wall_time(*fire);
        next.push_back({{"at", format_timestamp(fire->time_since_epoch().count())}, {"local", wall.iso},
                        {"abbrev", wall.abbrev}});
        at = *fire;
      }
      schedules.push_back({{"flow", r.flow->name},
                           {"file", f},
                           {"trigger", i},
                           {"cron", t.schedule->cron().text},
                           {"timezone", t.schedule->time_zone()},
                           {"catchup", schedule::to_string(t.catchup)},
                           {"overlap", schedule::to_string(t.overlap)},
                           {"next", next}});
    }
  }

  if (o.json) {
    std::cout << Json{{"from", format_timestamp(from_ms)}, {"schedules", schedules}, {"invalid", invalid}}.dump(2) << "\n";
  } else {
    if (schedules.empty()) std::printf("no schedule triggers in %s\n", dir.c_str());
    for (const auto& s : schedules) {
      std::printf("%s triggers[%zu]: \"%s\" %s, catchup %s, overlap %s\n", s["flow"].get_ref<const std::string&>().c_str(),
                  s["trigger"].get<std::size_t>(), s["cron"].get_ref<const std::string&>().c_str(),
                  s["timezone"].get_ref<const std::string&>().c_str(), s["catchup"].get_ref<const std::string&>().c_str(),
                  s["overlap"].get_ref<const std::string&>().c_str());
      if (s["next"].empty()) std::printf("  (no fire after %s)\n", format_timestamp(from_ms).c_str());
      for (const auto& n : s["next"])
        std::printf("  %s  %s %s\n", n["at"].get_ref<const std::string&>().c_str(),
                    n["local"].get_ref<const std::string&>().c_str(), n["abbrev"].get_ref<const std::string&>().c_str());
    }
    for (const auto& bad : invalid)
      std::printf("%s: does not load (%zu errors; see `spokeflow validate %s`)\n",
                  fs::path(bad["file"].get<std::string>()).filename().c_str(), bad["errors"].size(),
                  bad["file"].get_ref<const std::string&>().c_str());
  }
  return invalid.empty() ? kExitOk : kExitInvalid;
}

}  // namespace spokeflow::cli
