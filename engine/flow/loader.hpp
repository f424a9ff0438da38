#pragma once
// Reads flow files: YAML -> checked, immutable Flow, or every problem found with file:line:col.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "action/action.hpp"
#include "common/diagnostics.hpp"
#include "flow/model.hpp"

namespace spokeflow::flow {

// Flow files larger than this are refused before parsing.
inline constexpr std::size_t kMaxFlowFileBytes = 4u << 20;

struct LoadResult {
  FlowPtr flow;              // null when there were errors
  Diagnostics diagnostics;   // every error found, sorted by position
  bool ok() const { return flow != nullptr && diagnostics.empty(); }
};

// Parses and checks one flow. `display_name` is used in diagnostics and kept as
// Flow::source_file. Checks: YAML syntax, UTF-8, schemas/flow-structure.schema.json (unknown keys,
// types), and the semantic rules (unique ids, unknown actions / inputs / steps / variables,
// references to steps that have not run yet, bad durations, `with:` against the action's
// input schema as far as it is known before running, `error` outside catch, ...).
// Does not look at subflows: see FlowLibrary::check_subflows.
LoadResult load_flow_text(std::string_view text, const std::string& display_name, const ActionRegistry& actions);
// Reads the file (refusing it when larger than kMaxFlowFileBytes) and calls load_flow_text.
LoadResult load_flow_file(const std::string& path, const ActionRegistry& actions);

// The flows of one directory, found by their `name:`.
class FlowLibrary {
 public:
  FlowLibrary(std::string dir, const ActionRegistry& actions);
  const std::string& dir() const { return dir_; }
  // Loads the flow named `name` (found as DIR/NAME.yaml or .yml, else by scanning DIR for a
  // file whose `name:` matches). A missing flow is a diagnostic saying where it looked.
  LoadResult load(const std::string& name);
  // Checks that every subflow `flow` calls exists in this library, is valid, and that the
  // calls form no cycle (reported at the `flow:` step that closes it, naming the cycle).
  void check_subflows(const Flow& flow, Diagnostics& diagnostics);

 private:
  std::string dir_;
  const ActionRegistry& actions_;
  std::map<std::string, FlowPtr, std::less<>> cache_;
};

// SHA-256 of text as lowercase hex.
std::string sha256_hex(std::string_view text);

}  // namespace spokeflow::flow
