#pragma once
// What `run`, `resume`, `worker`, `retry` and `rerun` print while executions run.
#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <map>
#include <string>

#include "common/json.hpp"
#include "run/engine.hpp"

namespace spokeflow::cli {

enum class StepOutput {
  none,      // nothing until the end (-q, --json)
  lines,     // a line per finished step (not a terminal, or --verbose)
  progress,  // on a terminal: steps outside loops as lines, a live line for loops (nested ones
             // too), failures in full
  events,    // JSON lines of step and loop events (--events)
};

// The mode for flags and stdout: --events wins, then -q/--json, then --verbose; on a terminal
// a progress line, elsewhere lines.
StepOutput choose_step_output(bool events, bool quiet_or_json, bool verbose, bool stdout_is_terminal);

// The full path of a step as a person reads it: a subflow's steps under the calling step.
std::string full_path(std::string_view outer_path, std::string_view path);

class StepPrinter {
 public:
  using Clock = std::chrono::steady_clock;
  // `width`: columns of the terminal (the progress line is cut to fit).
  StepPrinter(std::ostream& out, StepOutput mode, std::size_t width = 100);
  void step(const run::StepEvent& ev);
  void loop(const run::LoopProgress& p, Clock::time_point now = Clock::now());
  // Prints the final event of --events (the outcome), or clears the progress line.
  void end(const Json* outcome);

  // The text of the live line for what is running now ("" when no loop is): each outermost loop
  // (done/total, failed, rate, time left), then the loops running inside their iterations.
  std::string progress_text(Clock::time_point now) const;

 private:
  struct Loop {
    std::string path;
    std::size_t done = 0, failed = 0, total = 0;
    bool total_known = true;
    Clock::time_point started;
  };
  static std::string loop_text(const Loop& l, Clock::time_point now);
  void line(const std::string& text);
  // `full` lies in an iteration of a loop the progress line shows.
  bool inside_shown_loop(const std::string& full) const;
  void redraw(Clock::time_point now, bool force);

  std::ostream& out_;
  StepOutput mode_;
  std::size_t width_;
  std::map<std::string, Loop> loops_;  // by execution id and full path
  bool drawn_ = false;
  Clock::time_point last_draw_{};
};

// Columns of the terminal on stdout, or `fallback`.
std::size_t terminal_width(std::size_t fallback = 100);
bool stdout_is_terminal();

}  // namespace spokeflow::cli
