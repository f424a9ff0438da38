#pragma once
// How `executions show` prints an execution's step runs for people: a tree, readable values,
// loops summarised, and the --failed / --step selections (the JSON output uses the same ones).
#include <iosfwd>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "store/store.hpp"

namespace spokeflow::cli {

struct StepSelection {
  bool failed_only = false;     // failed or interrupted runs, under the steps that hold them
  std::string step;             // "" = all; else this step (every attempt) and what ran inside it
  bool all_iterations = false;  // print every iteration of a loop, not a summary and its failures
};

// `value` as JSON for a terminal: on one line when it fits in `width` columns from `column`,
// else one member or item per line (each again on one line when it fits), later lines
// indented by `indent` spaces.
std::string readable_json(const Json& value, std::size_t column, std::size_t indent, std::size_t width = 100);

// The runs the selection keeps, in the store's order. An empty result for a `step` that no run
// has is the caller's to report (see `unknown_step_message`).
std::vector<const store::StepRun*> select_runs(const std::vector<store::StepRun>& runs, const StepSelection& sel);
// "no step 'x' ran in this execution; did you mean 'y'?"
std::string unknown_step_message(const std::vector<store::StepRun>& runs, const std::string& step);

// The tree of the selected runs: each under the nearest enclosing step that has a record, in
// start order, with its inputs, outputs and error. A loop with more than a few iterations shows
// a summary (count, failed, slowest) and only its failed iterations, unless all_iterations.
void print_step_tree(std::ostream& out, const std::vector<store::StepRun>& runs, const StepSelection& sel);

}  // namespace spokeflow::cli
