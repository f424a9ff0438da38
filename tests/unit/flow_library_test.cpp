// The FlowLibrary (engine/flow): flows found by name in a directory (tests/unit/flows/lib/),
// and subflow checks: existence, inputs against the subflow's, and cycles.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/loader.hpp"
#include "flow/model.hpp"
#include "flow_loader_fixtures.hpp"

using namespace spokeflow;
using namespace spokeflow::flow;
using namespace spokeflow::test::flow_fixtures;
using namespace std::string_literals;

TEST_CASE("the flow library finds flows by name") {
  FlowLibrary lib(fixture("lib"), core_actions());
  LoadResult child = lib.load("child");
  REQUIRE(child.ok());
  CHECK(child.flow->name == "child");
  CHECK(lib.load("child").flow == child.flow);  // cached

  // Not under its own file name: found by scanning the directory.
  LoadResult scanned = lib.load("scanned_flow");
  REQUIRE(scanned.ok());
  CHECK(scanned.flow->source_file == fixture("lib") + "/holds_other.yaml");

  // A file named after the flow but holding another one.
  CHECK(lines(lib.load("holds_other").diagnostics) ==
        std::vector<std::string>{
            "lib/holds_other.yaml: error: this file holds flow 'scanned_flow', not 'holds_other' (a flow file is best "
            "named after its flow)"});

  CHECK(lines(lib.load("nothing_here").diagnostics) ==
        std::vector<std::string>{"lib: error: no flow named 'nothing_here' (looked for nothing_here.yaml and "
                                 "nothing_here.yml, and at the name: of every .yaml/.yml file in lib)"});
  // A broken flow's own errors.
  CHECK(lines(lib.load("broken").diagnostics) ==
        std::vector<std::string>{"lib/broken.yaml:3:13: error: unknown action 'core.nothing'"});
}

TEST_CASE("subflow checks: existence, inputs, cycles") {
  FlowLibrary lib(fixture("lib"), core_actions());
  SUBCASE("a two-flow cycle is reported at the step that closes it") {
    LoadResult a = lib.load("cycle_a");
    REQUIRE(a.ok());
    Diagnostics d(a.flow->source_file);
    lib.check_subflows(*a.flow, d);
    CHECK(lines(d) == std::vector<std::string>{"lib/cycle_b.yaml:4:5: error: subflow cycle: cycle_a -> cycle_b -> cycle_a"});
  }
  SUBCASE("a flow calling itself") {
    LoadResult s = lib.load("self_loop");
    REQUIRE(s.ok());
    Diagnostics d(s.flow->source_file);
    lib.check_subflows(*s.flow, d);
    CHECK(lines(d) == std::vector<std::string>{"lib/self_loop.yaml:5:9: error: subflow cycle: self_loop -> self_loop"});
  }
  SUBCASE("missing and broken subflows, and with: against the subflow's inputs") {
    LoadResult c = lib.load("caller");
    REQUIRE(c.ok());
    Diagnostics d(c.flow->source_file);
    lib.check_subflows(*c.flow, d);
    CHECK(lines(d) ==
          std::vector<std::string>{
              "lib/broken.yaml:3:13: error: unknown action 'core.nothing'",
              "lib/caller.yaml:6:5: error: flow 'child' needs input 'user'",
              "lib/caller.yaml:8:18: error: flow 'child' has no input 'usr' (inputs: user, count, mode); did you mean 'user'?",
              "lib/caller.yaml:8:30: error: input 'count' of flow 'child' should be an integer, not a string ('many')",
              "lib/caller.yaml:8:42: error: input 'mode' of flow 'child' must be one of its enum values (got 'medium')",
              "lib/caller.yaml:9:5: error: no flow named 'missing_flow' (looked for missing_flow.yaml and "
              "missing_flow.yml, and at the name: of every .yaml/.yml file in lib)",
              "lib/caller.yaml:11:5: error: subflow 'broken' has errors (in lib/broken.yaml)"});
  }
  SUBCASE("a valid flow without subflows") {
    LoadResult child = lib.load("child");
    REQUIRE(child.ok());
    Diagnostics d(child.flow->source_file);
    lib.check_subflows(*child.flow, d);
    CHECK(d.empty());
  }
}
