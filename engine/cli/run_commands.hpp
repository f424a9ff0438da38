#pragma once
// `spokeflow run`, `resume`, `worker` and `flows list`.
#include <string>
#include <vector>

#include "cli/shell.hpp"

namespace spokeflow::cli {

struct RunOptions {
  std::string flow_ref;
  std::vector<std::string> inputs;
  std::string inputs_file;
  bool json = false;
  bool quiet = false;
  bool verbose = false;        // a line per step even on a terminal
  bool events = false;         // JSON lines of step and loop events, then the outcome
  bool resume_others = false;  // also run what other processes left runnable
  bool detach = false;         // only enqueue: a worker runs it
  bool reveal = false;         // print its sensitive outputs in clear at the end (a terminal only)
  QueueOptions queue;
};

int cmd_run(const GlobalOptions& g, const RunOptions& o, const ExtraActions& extra);
int cmd_resume(const GlobalOptions& g, const QueueOptions& q, bool json, bool quiet, const ExtraActions& extra);
int cmd_worker(const GlobalOptions& g, const QueueOptions& q, bool quiet, const ExtraActions& extra);
int cmd_flows_list(const GlobalOptions& g, const std::string& flows_dir, bool json, const ExtraActions& extra);

}  // namespace spokeflow::cli
