#pragma once
// `spokeflow schedules list`: each flow's schedule triggers with their next fire times.
#include <string>

#include "cli/shell.hpp"

namespace spokeflow::cli {

struct SchedulesListOptions {
  std::string flows_dir;   // "" = $SPOKEFLOW_FLOWS_DIR or ./flows
  int count = 5;           // fires shown per trigger
  std::string from;        // list fires after this instant (RFC 3339); "" = now
  bool json = false;
};

int cmd_schedules_list(const GlobalOptions& g, const SchedulesListOptions& o, const ExtraActions& extra);

}  // namespace spokeflow::cli
