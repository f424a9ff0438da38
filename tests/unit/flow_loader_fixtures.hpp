#pragma once
// What the flow loader's tests share: the core actions as the loader sees them (a name and an
// input schema), loading a fixture from tests/unit/flows/ or a text, and every diagnostic as
// the line an author reads.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "action/action.hpp"
#include "doctest_lines.hpp"
#include "flow/loader.hpp"
#include "schema_only_action.hpp"

namespace spokeflow::test::flow_fixtures {
using namespace spokeflow::flow;
using test::SchemaOnlyAction;

inline const ActionRegistry& core_actions() {
  static const ActionRegistry registry = [] {
    ActionRegistry r;
    for (const char* name : {"echo", "log", "noop", "wait", "fail"})
      r.add(std::make_unique<SchemaOnlyAction>(ActionInfo::from_embedded(std::string("actions/core/") + name + ".json")));
    return r;
  }();
  return registry;
}

inline std::string fixture(const std::string& name) { return std::string(SPOKEFLOW_TEST_DIR) + "/flows/" + name; }

inline LoadResult load_fixture(const std::string& name) { return load_flow_file(fixture(name), core_actions()); }

inline LoadResult load_text(const std::string& text) { return load_flow_text(text, "t.yaml", core_actions()); }

// Every diagnostic as "file:line:col: error: message", with the fixture directory shortened.
inline std::vector<std::string> lines(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  const std::string dir = std::string(SPOKEFLOW_TEST_DIR) + "/flows/";
  for (const auto& d : diagnostics.items()) {
    std::string text = d.format();
    for (auto at = text.find(dir); at != std::string::npos; at = text.find(dir)) text.replace(at, dir.size(), "");
    out.push_back(text);
  }
  return out;
}
inline std::vector<std::string> lines(const LoadResult& r) { return lines(r.diagnostics); }

}  // namespace spokeflow::test::flow_fixtures
