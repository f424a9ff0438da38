// The flow loader's diagnostics (engine/flow), exactly as an author reads them: every problem
// with file:line:col, sorted by position, and hostile or oversized input refused without a crash.
// Fixtures live in tests/unit/flows/.
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

TEST_CASE("malformed YAML is reported at yaml-cpp's mark") {
  LoadResult r = load_fixture("malformed.yaml");
  CHECK_FALSE(r.flow);
  CHECK(lines(r) ==
        std::vector<std::string>{"malformed.yaml:6:6: error: invalid YAML: end of map not found (check the indentation)"});
}

TEST_CASE("unknown keys") {
  CHECK(lines(load_fixture("unknown_key.yaml")) ==
        std::vector<std::string>{
            "unknown_key.yaml:4:5: error: unknown key 'acton' in step (expected one of: action, as, catch, collect, "
            "concurrency, connection, continue_on_error, delay, else, end, finally, flow, for_each, id, if, "
            "max_iterations, name, parallel, retry, set, steps, timeout, try, until, wait, with); did you mean 'action'?",
            "unknown_key.yaml:7:31: error: unknown key 'backof' in retry policy (expected one of: backoff, "
            "initial_interval, jitter, max_attempts, max_interval, multiplier, on); did you mean 'backoff'?"});
}

TEST_CASE("duplicate ids") {
  CHECK(lines(load_fixture("duplicate_id.yaml")) ==
        std::vector<std::string>{"duplicate_id.yaml:7:13: error: duplicate step id 'notify' (first used at line 3)"});
  CHECK(lines(load_text("name: d\nsteps:\n  - id: a\n    parallel:\n      - id: a\n        steps: [{action: core.noop}]\n")) ==
        std::vector<std::string>{"t.yaml:5:13: error: duplicate branch id 'a' (first used at line 3)"});
  CHECK(lines(load_text("name: d\nname: e\nsteps: [{action: core.noop}]\n")) ==
        std::vector<std::string>{"t.yaml:2:1: error: duplicate key 'name' (first at line 1)"});
}

TEST_CASE("unknown actions") {
  CHECK(lines(load_fixture("unknown_action.yaml")) ==
        std::vector<std::string>{"unknown_action.yaml:3:13: error: unknown action 'core.ech'; did you mean 'core.echo'?",
                                 "unknown_action.yaml:5:13: error: unknown action 'okta.activate_user'"});
}

TEST_CASE("unknown steps") {
  CHECK(lines(load_fixture("unknown_step.yaml")) ==
        std::vector<std::string>{"unknown_step.yaml:7:29: error: unknown step 'creat'; did you mean 'create'?",
                                 "unknown_step.yaml:9:11: error: unknown step 'missing'"});
}

TEST_CASE("steps that have not run yet") {
  CHECK(lines(load_fixture("not_run_yet.yaml")) ==
        std::vector<std::string>{
            "not_run_yet.yaml:5:27: error: step 'second' has not run yet at this point (it runs later)",
            "not_run_yet.yaml:8:27: error: step 'second' has not run yet at this point (a step cannot use its own results)",
            "not_run_yet.yaml:15:27: error: step 'inside' is inside for_each step 'loop' and is visible only inside it",
            "not_run_yet.yaml:22:35: error: step 'left' is inside branch 1 of parallel step at line 16 and is visible "
            "only inside it"});
}

TEST_CASE("what each place of a flow can see") {
  SUBCASE("blocks and try steps share their steps; catch sees try, finally sees both") {
    LoadResult r = load_text(R"(name: v
steps:
  - if: true
    steps: [{ id: a, action: core.noop }]
    else: [{ id: b, action: core.noop }]
  - try: [{ id: c, action: core.noop }]
    catch: [{ id: d, action: core.log, with: { message: "${{ steps.c.status }} ${{ error.kind }}" } }]
    finally: [{ id: e, action: core.log, with: { message: "${{ steps.c.status }} ${{ steps.d.status }}" } }]
  - action: core.log
    with: { message: "${{ steps.a.status }} ${{ steps.b.status }} ${{ steps.d.status }} ${{ steps.e.status }}" }
outputs:
  all: ${{ [steps.a.status, steps.e.status] }}
)");
    // `[...]` is not an expression literal: only the outputs line fails, nothing about visibility.
    CHECK(lines(r).size() == 1);
    CHECK(lines(r)[0] == "t.yaml:12:12: error: invalid expression: expected an expression, found '['");
  }
  SUBCASE("else does not see the then-block; finally has no error") {
    CHECK(lines(load_text(R"(name: v
steps:
  - if: true
    steps: [{ id: a, action: core.noop }]
    else: [{ action: core.log, with: { message: "${{ steps.a.status }}" } }]
  - try: [{ action: core.noop }]
    finally: [{ action: core.log, with: { message: "${{ error.message }}" } }]
)")) == std::vector<std::string>{"t.yaml:5:54: error: step 'a' has not run yet at this point",
                                 "t.yaml:7:57: error: 'error' is only available in a catch block"});
  }
  SUBCASE("loops: the body, until and collect see the body's steps; item and index inside only") {
    CHECK(lines(load_text(R"(name: v
steps:
  - id: outer
    for_each: ${{ fromJSON('[[1], [2]]') }}
    as: row
    collect: ${{ steps.cell.outputs }}
    steps:
      - for_each: row
        steps:
          - id: cell
            action: core.echo
            with: { r: "${{ row }}", c: "${{ item }}", i: "${{ index }}", o: "${{ steps.outer.status }}" }
  - until: steps.body.outputs.done
    steps: [{ id: body, action: core.echo, with: { d: "${{ steps.body.outputs }}" } }]
  - action: core.echo
    with: { a: "${{ row }}", b: "${{ index }}", c: "${{ item }}" }
)")) == std::vector<std::string>{
                 "t.yaml:6:18: error: step 'cell' is inside for_each step at line 8 and is visible only inside it",
                 "t.yaml:12:83: error: step 'outer' has not run yet at this point (this expression is inside it)",
                 "t.yaml:14:60: error: step 'body' has not run yet at this point (a step cannot use its own results)",
                 "t.yaml:16:21: error: 'row' is only available inside the for_each that names it (as: row)",
                 "t.yaml:16:38: error: 'index' is only available inside a for_each",
                 "t.yaml:16:57: error: 'item' is only available inside a for_each"});
  }
  SUBCASE("vars and triggers see what exists before any step") {
    CHECK(lines(load_text(R"(name: v
inputs: { n: { type: integer } }
vars: { a: "${{ inputs.n }}", b: "${{ steps.x.outputs }}" }
triggers:
  - okta_event: user.lifecycle.create
    if: event.target[0].type == 'User' && inputs.n > 1
    inputs: { n: "${{ event.count }}", m: 1 }
steps:
  - id: x
    action: core.noop
)")) == std::vector<std::string>{
                 "t.yaml:3:39: error: 'steps' is not available in vars: (initial values are set before any step runs)",
                 "t.yaml:6:43: error: 'inputs' is not available in a trigger (only event and execution are)",
                 "t.yaml:7:40: error: the trigger gives input 'm', which the flow does not declare (inputs: n)"});
  }
  SUBCASE("vars assigned anywhere by set: are known everywhere") {
    LoadResult r = load_text(R"(name: v
steps:
  - action: core.log
    with: { message: "${{ vars.later }}" }
  - set: { later: 1 }
)");
    CHECK(r.ok());
  }
}

TEST_CASE("bad durations") {
  CHECK(lines(load_fixture("bad_duration.yaml")) ==
        std::vector<std::string>{
            "bad_duration.yaml:4:11: error: bad duration '5 minutes' (use 250ms, 10s, 5m, 2h, 1d or sums like 1h30m)",
            "bad_duration.yaml:6:14: error: 'timeout' should be a duration such as 30s or 1h30m, not an integer (10)",
            "bad_duration.yaml:7:67: error: bad duration '2m30x' (use 250ms, 10s, 5m, 2h, 1d or sums like 1h30m)"});
}

TEST_CASE("broken expressions point into the expression") {
  CHECK(lines(load_fixture("broken_expression.yaml")) ==
        std::vector<std::string>{
            "broken_expression.yaml:5:41: error: invalid expression: expected an identifier after '.'",
            "broken_expression.yaml:7:20: error: invalid expression: expected an expression, found the end of the "
            "expression"});
  // In a block scalar, the line and column of the expression inside the block.
  CHECK(lines(load_text("name: b\nsteps:\n  - action: core.log\n    with:\n      message: |\n        first line\n"
                        "        second ${{ inputs. }}\n")) ==
        std::vector<std::string>{"t.yaml:7:28: error: invalid expression: expected an identifier after '.'"});
}

TEST_CASE("files that are not UTF-8") {
  CHECK(lines(load_fixture("not_utf8.yaml")) ==
        std::vector<std::string>{"not_utf8.yaml:2:17: error: the file is not valid UTF-8 (byte 0xE9 here); save it as UTF-8"});
  // Columns count characters: two 2-byte characters before the bad byte.
  CHECK(lines(load_text("name: x\ndescription: \xc3\xa9\xc3\xa9\xff\n")) ==
        std::vector<std::string>{"t.yaml:2:16: error: the file is not valid UTF-8 (byte 0xFF here); save it as UTF-8"});
}

TEST_CASE("with: against the action's input schema") {
  CHECK(lines(load_fixture("with_schema.yaml")) ==
        std::vector<std::string>{
            "with_schema.yaml:6:11: error: action core.log needs input 'message'",
            "with_schema.yaml:6:13: error: action core.log has no input 'msg' (inputs: fields, level, message)",
            "with_schema.yaml:8:22: error: input 'message' of core.log should be a string, not an integer (42)",
            "with_schema.yaml:8:33: error: input 'level' of core.log must be one of: debug, info, warn, error (got 'loud')",
            "with_schema.yaml:12:13: error: action core.noop takes no inputs, but 'with' gives 'x'",
            "with_schema.yaml:14:23: error: input 'duration' of core.wait ('5 minutes') does not match the pattern "
            "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"});
  // No `with:` at all: the missing input is reported at the step.
  CHECK(lines(load_text("name: w\nsteps:\n  - action: core.log\n")) ==
        std::vector<std::string>{"t.yaml:3:5: error: action core.log needs input 'message'"});
}

TEST_CASE("several errors are reported together, sorted by position") {
  CHECK(lines(load_fixture("many_errors.yaml")) ==
        std::vector<std::string>{
            "many_errors.yaml:1:7: error: bad name 'Many-Errors': use lowercase letters, digits and _, starting with a letter",
            "many_errors.yaml:3:36: error: the default of input 'count' should be an integer, not a string ('two')",
            "many_errors.yaml:7:27: error: unknown input 'cuont' (inputs: count); did you mean 'count'?",
            "many_errors.yaml:8:9: error: duplicate step id 'start' (first used at line 5)",
            "many_errors.yaml:9:11: error: bad duration 'soon' (use 250ms, 10s, 5m, 2h, 1d or sums like 1h30m)",
            "many_errors.yaml:11:21: error: unknown variable 'nothing' (neither in vars: nor assigned by a set: step)",
            "many_errors.yaml:11:41: error: 'error' is only available in a catch block",
            "many_errors.yaml:12:5: error: unknown key 'colour' in step (expected one of: action, as, catch, collect, "
            "concurrency, connection, continue_on_error, delay, else, end, finally, flow, for_each, id, if, "
            "max_iterations, name, parallel, retry, set, steps, timeout, try, until, wait, with)"});
}

TEST_CASE("step shapes") {
  CHECK(lines(load_text(R"(name: s
steps:
  - action: core.noop
    wait: 1s
  - {}
  - just text
  - wait: 1s
    with: { a: 1 }
  - try: [{ action: core.noop }]
  - for_each: x
    concurrency: 0
  - end: { status: crashed }
  - steps: [{ action: core.noop }]
    else: [{ action: core.noop }]
)")) == std::vector<std::string>{
               "t.yaml:3:5: error: a step needs exactly one of: action, steps, for_each, parallel, try, until, wait, set, "
               "flow, end (found action and wait)",
               "t.yaml:5:5: error: a step needs exactly one of: action, steps, for_each, parallel, try, until, wait, set, "
               "flow, end (found none)",
               "t.yaml:6:5: error: step 3 of 'steps' should be a mapping, not a string ('just text')",
               "t.yaml:8:5: error: 'with' has no meaning in a wait step (it belongs to action and flow steps)",
               "t.yaml:9:5: error: a try step needs 'catch' and/or 'finally'",
               "t.yaml:10:5: error: a for_each step needs 'steps' (the loop body)",
               "t.yaml:10:15: error: unknown name 'x' in expression (available here: inputs, vars, steps, event, execution)",
               "t.yaml:11:18: error: 'concurrency' must be at least 1 (got 0)",
               "t.yaml:12:20: error: 'status' must be one of: succeeded, failed (got 'crashed')",
               "t.yaml:14:5: error: 'else' needs an 'if' on the same step"});
}

TEST_CASE("inputs, triggers and references") {
  CHECK(lines(load_text(R"(name: i
inputs:
  mode: { type: string, enum: [a, b], default: c }
  mail: { type: string, format: email, default: nope }
  count: { type: integer, format: email }
triggers:
  - schedule: "0 6 * *"
  - schedule: "0 6 * * *"
    okta_event: x
steps:
  - action: core.log
    with: { message: "${{ inputs.mdoe }} ${{ steps }} ${{ stepz.a }} ${{ steps.x }}" }
  - id: x
    action: core.noop
  - action: core.log
    with: { message: "${{ steps.x.output }}" }
)")) == std::vector<std::string>{
               "t.yaml:3:48: error: the default of input 'mode' is not one of its enum values ('a', 'b')",
               "t.yaml:4:49: error: the default of input 'mail' is not an email address",
               "t.yaml:5:35: error: format 'email' applies to string inputs only",
               "t.yaml:7:15: error: bad schedule '0 6 * *': cron needs five fields (minute hour day-of-month month "
               "day-of-week), e.g. \"0 6 * * 1-5\"; found 4",
               "t.yaml:8:5: error: a trigger needs exactly one of: schedule, okta_event (found schedule and okta_event)",
               "t.yaml:12:27: error: unknown input 'mdoe' (inputs: mode, mail, count); did you mean 'mode'?",
               "t.yaml:12:59: error: unknown name 'stepz' in expression (available here: inputs, vars, steps, event, "
               "execution); did you mean 'steps'?",
               "t.yaml:12:74: error: step 'x' has not run yet at this point (it runs later)",
               "t.yaml:16:27: error: steps.x has no field 'output' (use status, outputs or error); did you mean 'outputs'?"});
}

TEST_CASE("schedule triggers are checked by meaning, with file:line:col") {
  CHECK(lines(load_text(R"(name: s
inputs:
  dry_run: { type: boolean }
triggers:
  - schedule: "99 99 * * *"
  - schedule: { cron: "0 0 30 2 *", timezone: Mars/Olympus }
  - schedule:
      cron: "0 6 * * MON-FOO"
      timezone: Europe/Berln
      catchup: some
      overlap: never
      jitter: 5m
  - schedule: { cron: "@daily", inputs: { dry_run: true } }
    inputs: { dry_run: false }
    timezone: UTC
  - schedule: { timezone: UTC }
  - schedule: 5
  - schedule: "0 6 * * *"
    timezone: Nowhere/Special
  - schedule: { cron: "0 6 * * *", inputs: { dry_rn: 1, dry_run: "yes" } }
  - schedule: "0 25 * * *"
    timezone: ""
  - schedule: "@reboot"
    okta_event: user.lifecycle.create
steps:
  - action: core.noop
)")) == std::vector<std::string>{
               "t.yaml:5:15: error: bad schedule '99 99 * * *': minute 99 is out of range 0-59",
               "t.yaml:6:23: error: bad schedule '0 0 30 2 *': it never fires: no day-of-month it allows (30) occurs "
               "in a month it allows (FEB)",
               "t.yaml:6:47: error: unknown time zone 'Mars/Olympus' (give an IANA name such as Europe/Berlin or "
               "America/New_York)",
               "t.yaml:8:13: error: bad schedule '0 6 * * MON-FOO': day-of-week 'FOO' is not a number 0-7 (0 and 7 "
               "are Sunday) or a name SUN-SAT",
               "t.yaml:9:17: error: unknown time zone 'Europe/Berln' (give an IANA name such as Europe/Berlin or "
               "America/New_York); did you mean 'Europe/Berlin'?",
               "t.yaml:10:16: error: 'catchup' must be one of: none, last, all (got 'some')",
               "t.yaml:11:16: error: 'overlap' must be one of: skip, queue, allow (got 'never')",
               "t.yaml:12:7: error: unknown key 'jitter' in schedule (expected one of: catchup, cron, inputs, "
               "overlap, timezone)",
               "t.yaml:13:33: error: the trigger gives 'inputs' twice (inside 'schedule:' and beside it); keep one",
               "t.yaml:15:5: error: 'timezone' goes inside 'schedule:' when it is a mapping (next to 'cron')",
               "t.yaml:16:15: error: missing required key 'cron' in schedule",
               "t.yaml:17:15: error: 'schedule' should be a string or a mapping, not an integer (5)",
               "t.yaml:19:15: error: unknown time zone 'Nowhere/Special' (give an IANA name such as Europe/Berlin or "
               "America/New_York)",
               "t.yaml:20:46: error: the trigger gives input 'dry_rn', which the flow does not declare (inputs: "
               "dry_run); did you mean 'dry_run'?",
               "t.yaml:20:66: error: input 'dry_run' should be true or false, not a string ('yes')",
               "t.yaml:21:15: error: bad schedule '0 25 * * *': hour 25 is out of range 0-23",
               "t.yaml:22:15: error: 'timezone' must not be empty",
               "t.yaml:23:5: error: a trigger needs exactly one of: schedule, okta_event (found schedule and okta_event)",
               "t.yaml:23:15: error: bad schedule '@reboot': @reboot is not supported: a schedule fires at times of "
               "day, not at start-up"});
}

TEST_CASE("inputs that cannot hold a flow") {
  CHECK(lines(load_text("")) == std::vector<std::string>{"t.yaml:1:1: error: the flow file is empty (it needs at least name: and steps:)"});
  CHECK(lines(load_text("- a\n- b\n")) ==
        std::vector<std::string>{"t.yaml:1:1: error: a flow file is a mapping with name:, steps: and more, not a list"});
  CHECK(lines(load_text("name: x\n")) ==
        std::vector<std::string>{"t.yaml:1:1: error: the flow has no 'steps' (every flow needs name: and steps:)"});
  CHECK(lines(load_text("name: x\nsteps: [{action: core.noop}]\n---\nname: y\n")) ==
        std::vector<std::string>{"t.yaml:3:1: error: a flow file holds one YAML document; remove the '---' separator and what follows"});
  // yaml-cpp 0.7's LoadAll would loop forever on this one (jbeder/yaml-cpp#1040).
  CHECK(lines(load_text(",name: x\nsteps: [{action: core.noop}]\n")) ==
        std::vector<std::string>{"t.yaml:1:1: error: invalid YAML: unexpected ','"});
  CHECK(lines(load_text("name: x\nsteps:\n\t- action: core.noop\n")) ==
        std::vector<std::string>{"t.yaml:3:2: error: invalid YAML: illegal block entry (YAML does not allow tabs for indentation)"});
  CHECK(lines(load_text("name: x\nsteps: [{action: core.noop, with: !custom 1}]\n")) ==
        std::vector<std::string>{"t.yaml:2:35: error: 'with' should be a mapping, not a string ('1')",
                                 "t.yaml:2:35: error: unsupported YAML tag '!custom' (flow files use plain YAML values)"});

  std::string big(kMaxFlowFileBytes + 1, '#');
  CHECK(lines(load_text(big)) ==
        std::vector<std::string>{"t.yaml: error: the flow file is too large (4194305 bytes; the limit is 4 MiB)"});
}

TEST_CASE("hostile YAML does not crash the loader") {
  // Nesting deeper than the cap.
  std::string deep = "name: x\nsteps: [{action: core.echo, with: {a: " + std::string(300, '[') + std::string(300, ']') + "}}]\n";
  auto r = load_text(deep);
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics.items()[0].message == "values are nested more than 128 levels deep (or an alias refers to itself)");
  // The limit is the one for JSON (issue 16): the root mapping, `steps`, the step and `with`
  // are four levels; `a` may add 124 more, not 125.
  auto nested_with = [](int n) {
    return "name: x\nsteps: [{action: core.echo, with: {a: " + std::string(n, '[') + std::string(n, ']') + "}}]\n";
  };
  CHECK_MESSAGE(load_text(nested_with(124)).ok(), load_text(nested_with(124)).diagnostics.format());
  CHECK(lines(load_text(nested_with(125))) ==
        std::vector<std::string>{"t.yaml:2:163: error: values are nested more than 128 levels deep (or an alias refers to itself)"});
  // Just within yaml-cpp's own guard: its parser recurses, but not past the stack.
  r = load_text("name: x\nsteps: " + std::string(1990, '[') + std::string(1990, ']') + "\n");
  CHECK_FALSE(r.flow);
  CHECK(r.diagnostics.size() == 1);
  // Deeper than yaml-cpp's own guard.
  r = load_text("name: x\nsteps: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  CHECK_FALSE(r.flow);
  CHECK(r.diagnostics.size() == 1);
  // An alias that contains itself.
  r = load_text("name: x\na: &a [*a]\nsteps: [{action: core.noop}]\n");
  CHECK_FALSE(r.flow);
  CHECK(r.diagnostics.size() == 1);
  // A "billion laughs" expansion.
  std::string laughs = "name: x\nx0: &a0 [1,1,1,1,1,1,1,1,1,1]\n";
  for (int i = 1; i < 12; ++i) {
    laughs += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) laughs += (j ? ",*a" : "*a") + std::to_string(i - 1);
    laughs += "]\n";
  }
  r = load_text(laughs + "steps: [{action: core.noop}]\n");
  CHECK_FALSE(r.flow);
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics.items()[0].message == "the document holds more than 250000 values (are aliases multiplying it?)");
  // A self-referencing alias that branches: stopped by the budget, not by the depth.
  r = load_text("name: x\na: &a [*a, *a]\nsteps: [{action: core.noop}]\n");
  CHECK_FALSE(r.flow);
  CHECK(r.diagnostics.size() == 1);
  // Millions of tiny values are refused before parsing.
  std::string many = "name: x\nsteps: [{action: core.echo, with: {a: [";
  for (int i = 0; i < 600'000; ++i) many += "1,";
  r = load_text(many + "1]}}]\n");
  CHECK(lines(r) == std::vector<std::string>{"t.yaml: error: the flow file holds too many values (more than 500000 lines and commas)"});
  // Anchors and aliases are fine otherwise.
  r = load_text("name: x\nsteps:\n  - &step {action: core.log, with: {message: hi}}\n  - *step\n");
  CHECK(r.ok());
  // Every byte value, NULs and control characters included.
  std::string junk;
  for (int i = 0; i < 256; ++i) junk += static_cast<char>(i);
  CHECK_FALSE(load_text(junk).flow);
  CHECK_FALSE(load_text("name: x\nsteps: [{action: core.noop}]\n\0\x01\x02"s).flow);
  for (const char* text : {"{", "[", "'", "\"", "? ", ": ", "&a", "*a", "!!", "%YAML 1.2\n---\n", "- - - -", "a: |\n b\nc"})
    CHECK_FALSE(load_text(text).flow);
}

TEST_CASE("a byte order mark is fine") {
  LoadResult r = load_text("\xEF\xBB\xBFname: bom\nsteps:\n  - acton: core.noop\n");
  CHECK(lines(r).size() == 1);
  CHECK(lines(r)[0].rfind("t.yaml:3:5: error: unknown key 'acton' in step", 0) == 0);
}

TEST_CASE("load_flow_file errors") {
  LoadResult r = load_flow_file(fixture("does_not_exist.yaml"), core_actions());
  CHECK_FALSE(r.flow);
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics.items()[0].format().rfind(fixture("does_not_exist.yaml") + ": error: cannot read the flow file: ", 0) == 0);
}

TEST_CASE("long strings checked by a schema pattern do not crash the loader (issue 16)") {
  // flow-structure.schema.json checks the name with a pattern; std::regex overflowed the stack on 60,000 characters.
  const std::string letters(60'000, 'a');
  auto r = load_text("name: " + letters + "\nsteps: [{action: core.noop}]\n");
  CHECK(r.ok());
  r = load_text("name: " + letters + "X\nsteps: [{action: core.noop}]\n");
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics.items()[0].message.find("use lowercase letters, digits and _, starting with a letter") !=
        std::string::npos);
  // A step id, an action name and a duration: the other patterns of flow-structure.schema.json.
  r = load_text("name: x\nsteps: [{id: " + letters + "X, action: core.noop, timeout: " + std::string(60'000, '1') +
                "x, retry: {max_attempts: 2, on: [okta:E" + letters + "]}}, {action: core." + letters + "!}]\n");
  CHECK_FALSE(r.ok());
  CHECK(r.diagnostics.size() >= 3);
}
