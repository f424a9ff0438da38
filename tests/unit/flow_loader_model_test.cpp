// The flow loader (engine/flow): valid flows load into the checked model, with their value
// templates, retry policies and schedule triggers. Fixtures live in tests/unit/flows/.
#include <doctest/doctest.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "expr/expr.hpp"
#include "flow/loader.hpp"
#include "flow/model.hpp"
#include "flow_loader_fixtures.hpp"
#include "json_scope.hpp"

using namespace spokeflow;
using namespace spokeflow::flow;
using namespace spokeflow::test::flow_fixtures;
using namespace std::string_literals;

using test::JsonScope;

TEST_CASE("a valid flow loads into the model") {
  LoadResult r = load_fixture("good.yaml");
  INFO(r.diagnostics.format());
  REQUIRE(r.ok());
  const Flow& f = *r.flow;
  CHECK(f.name == "good_flow");
  CHECK(f.description == "Everything the language has, in one valid flow.");
  CHECK(f.source_file == fixture("good.yaml"));
  CHECK(f.source_hash == sha256_hex(f.source_text));
  CHECK(f.source_hash.size() == 64);
  CHECK(f.connection == "okta_emea");
  REQUIRE(f.timeout);
  CHECK(*f.timeout == Millis(5'400'000));

  // Inputs, in source order, with their declarations.
  REQUIRE(f.inputs.size() == 6);
  CHECK(f.inputs[0].name == "user");
  CHECK(f.inputs[0].type == "string");
  CHECK(f.inputs[0].required);
  CHECK(f.inputs[0].description == "login or id");
  CHECK(f.inputs[0].pos.line == 5);
  CHECK(f.inputs[0].pos.col == 3);
  CHECK(f.inputs[1].format == "email");
  CHECK(f.inputs[1].default_value == Json("ada@example.com"));
  CHECK(f.inputs[2].default_value == Json(false));
  CHECK(f.inputs[3].default_value == Json::array());
  CHECK(f.inputs[4].enum_values == std::vector<Json>{"info", "warn"});
  CHECK(f.inputs[5].sensitive);
  CHECK_FALSE(f.inputs[5].default_value);

  REQUIRE(f.triggers.size() == 2);
  CHECK(f.triggers[0].spec["schedule"] == "0 6 * * 1-5");
  CHECK(f.triggers[0].spec["timezone"] == "Europe/Berlin");
  REQUIRE(f.triggers[0].schedule);
  CHECK(f.triggers[0].schedule->cron().text == "0 6 * * 1-5");
  CHECK(f.triggers[0].schedule->time_zone() == "Europe/Berlin");
  CHECK(f.triggers[0].inputs.constant_value() == Json{{"user", "nightly"}});
  CHECK_FALSE(f.triggers[1].schedule);
  CHECK_FALSE(f.triggers[1].inputs.is_constant());
  CHECK(f.triggers[1].spec["okta_event"].size() == 2);
  CHECK(f.triggers[1].pos.line == 16);

  // Steps: paths are the id, or "#N" (1-based position in the list) without one.
  REQUIRE(f.steps.size() == 9);
  std::vector<std::string> paths;
  for (const auto& s : f.steps) paths.push_back(s.path_name);
  CHECK(paths == std::vector<std::string>{"greet", "#2", "each_group", "guarded", "poll", "fan_out", "choose", "child", "stop"});

  const Step& greet = f.steps[0];
  CHECK(greet.kind == Step::Kind::action);
  CHECK(greet.action == "core.echo");
  CHECK(greet.name == "Say hello");
  CHECK(greet.pos.line == 22);
  CHECK(greet.pos.col == 5);
  CHECK(greet.continue_on_error);
  CHECK(greet.connection == "okta_admin");
  REQUIRE(greet.timeout);
  CHECK(*greet.timeout == Millis(30'000));
  REQUIRE(greet.retry);
  const RetryPolicy& retry = *greet.retry;
  CHECK(retry.max_attempts == 4);
  CHECK(retry.backoff == RetryPolicy::Backoff::exponential);
  CHECK(retry.initial_interval == Millis(2000));
  CHECK(retry.max_interval == Millis(10'000));
  CHECK(retry.multiplier == 3.0);
  CHECK_FALSE(retry.jitter);
  CHECK(retry.on_kinds == std::vector<ErrorKind>{ErrorKind::network, ErrorKind::timeout});
  CHECK(retry.on_okta_codes == std::vector<std::string>{"E0000009"});
  CHECK(retry.delay_before(2) == Millis(2000));
  CHECK(retry.delay_before(3) == Millis(6000));
  CHECK(retry.delay_before(4) == Millis(10'000));  // 18s, capped

  // `with:` keeps literal parts and evaluates expressions; a whole-value expression keeps its type.
  CHECK_FALSE(greet.with.is_constant());
  JsonScope scope(Json{{"inputs", {{"user", "ada"}, {"groups", {"a", "b", "c"}}}}});
  auto with = greet.with.evaluate(scope);
  REQUIRE(with.ok());
  CHECK(*with == Json{{"count", 3}, {"text", "Hi ada!"}, {"fixed", {{"a", 1}, {"b", {true, nullptr}}}}});
  REQUIRE(greet.with.root().kind == ValueTemplate::Node::Kind::object);
  std::vector<std::string> keys;
  for (const auto& [k, _] : greet.with.root().members) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"count", "text", "fixed"});  // source order
  CHECK(greet.with.expressions().size() == 2);
  CHECK(greet.with.expressions()[0].second.line == 26);

  const Step& log = f.steps[1];
  REQUIRE(log.condition);
  CHECK(log.condition->is_whole());
  CHECK_FALSE(log.retry);

  const Step& each = f.steps[2];
  CHECK(each.kind == Step::Kind::for_each);
  CHECK(each.as == "group");
  CHECK(each.concurrency == 4);
  REQUIRE(each.items);
  REQUIRE(each.collect);
  REQUIRE(each.steps.size() == 1);
  CHECK(each.steps[0].path_name == "show");

  const Step& guarded = f.steps[3];
  CHECK(guarded.kind == Step::Kind::try_catch);
  CHECK(guarded.try_steps.size() == 1);
  REQUIRE(guarded.catch_steps.size() == 1);
  CHECK(guarded.catch_steps[0].kind == Step::Kind::set);
  REQUIRE(guarded.catch_steps[0].assignments.size() == 2);
  CHECK(guarded.catch_steps[0].assignments[0].first == "removed");
  CHECK(guarded.catch_steps[0].assignments[1].first == "last_error");
  REQUIRE(guarded.finally_steps.size() == 1);
  CHECK(guarded.finally_steps[0].kind == Step::Kind::wait);
  CHECK(guarded.finally_steps[0].wait == Millis(250));
  CHECK(guarded.finally_steps[0].path_name == "#1");

  const Step& poll = f.steps[4];
  CHECK(poll.kind == Step::Kind::until);
  CHECK(poll.max_iterations == 5);
  REQUIRE(poll.delay);
  CHECK(*poll.delay == Millis(1000));
  REQUIRE(poll.until);

  const Step& fan = f.steps[5];
  CHECK(fan.kind == Step::Kind::parallel);
  REQUIRE(fan.branches.size() == 2);
  CHECK(fan.branches[0].id == "left");
  CHECK(fan.branches[1].id.empty());
  CHECK(fan.branches[1].steps[0].path_name == "right");

  const Step& choose = f.steps[6];
  CHECK(choose.kind == Step::Kind::block);
  CHECK(choose.steps.size() == 1);
  REQUIRE(choose.else_steps.size() == 1);
  CHECK(choose.else_steps[0].kind == Step::Kind::block);
  CHECK(choose.else_steps[0].else_steps.empty());

  const Step& child = f.steps[7];
  CHECK(child.kind == Step::Kind::subflow);
  CHECK(child.flow_name == "good_child");
  CHECK(f.subflow_names() == std::vector<std::string>{"good_child"});

  const Step& stop = f.steps[8];
  CHECK(stop.kind == Step::Kind::end);
  CHECK(stop.end_status == "failed");
  REQUIRE(stop.end_message);
  CHECK(*stop.end_message->evaluate(scope) == "stopped for ada");

  REQUIRE(f.vars);
  CHECK(*f.vars->evaluate(scope) == Json{{"removed", 0}, {"greeting", "hello ada"}});
  REQUIRE(f.outputs.size() == 4);
  CHECK(f.outputs[0].first == "removed");
  CHECK(f.outputs[3].first == "summary");
}

TEST_CASE("value templates") {
  SUBCASE("constant values are kept as they are") {
    LoadResult r = load_text("name: c\nsteps:\n  - action: core.echo\n    with: { a: [1, 2.5, 'x'], b: null, c: '${{' }\n");
    INFO(r.diagnostics.format());
    // '${{' alone is not a complete expression
    CHECK_FALSE(r.ok());
    CHECK(lines(r) == std::vector<std::string>{"t.yaml:4:44: error: invalid expression: '${{' without a closing '}}'"});

    r = load_text("name: c\nsteps:\n  - action: core.echo\n    with: { a: [1, 2.5, 'x'], b: null, c: \"yes\", d: 0x1F, e: ~ }\n");
    REQUIRE(r.ok());
    const ValueTemplate& with = r.flow->steps[0].with;
    CHECK(with.is_constant());
    CHECK(with.constant_value() == Json{{"a", {1, 2.5, "x"}}, {"b", nullptr}, {"c", "yes"}, {"d", 31}, {"e", nullptr}});
    JsonScope empty(Json::object());
    CHECK(*with.evaluate(empty) == with.constant_value());
  }
  SUBCASE("YAML 1.2 scalars: quoted values stay text, yes/no/on are text") {
    LoadResult r = load_text(
        "name: c\nsteps:\n  - action: core.echo\n    with: { t: true, q: 'true', n: \"12\", i: 12, f: 1.5e3, y: yes, o: on, "
        "nul: null, neg: -7, oct: 0o17, s: 01:30, h: .5, g: 5., big: 12345678901234567890123, k: -.inf, u: 1_000 }\n");
    REQUIRE(r.ok());
    CHECK(r.flow->steps[0].with.constant_value() == Json{{"t", true},   {"q", "true"}, {"n", "12"},  {"i", 12},
                                                          {"f", 1500.0}, {"y", "yes"},  {"o", "on"},  {"nul", nullptr},
                                                          {"neg", -7},   {"oct", 15},   {"s", "01:30"},
                                                          {"h", 0.5},    {"g", 5.0},    {"big", 12345678901234567890123.0},
                                                          {"k", -std::numeric_limits<double>::infinity()},
                                                          {"u", "1_000"}});
  }
  SUBCASE("a whole-value expression keeps its JSON type; interpolation makes text") {
    LoadResult r = load_text(
        "name: c\ninputs:\n  n: { type: integer }\nsteps:\n  - action: core.echo\n"
        "    with: { n: \"${{ inputs.n }}\", t: \"n=${{ inputs.n }}\", l: [\"${{ inputs.n * 2 }}\"] }\n");
    REQUIRE(r.ok());
    JsonScope scope(Json{{"inputs", {{"n", 21}}}});
    CHECK(*r.flow->steps[0].with.evaluate(scope) == Json{{"n", 21}, {"t", "n=21"}, {"l", {42}}});
  }
}

TEST_CASE("retry policy") {
  RetryPolicy p;
  p.initial_interval = Millis(1000);
  p.max_interval = Millis(30'000);
  p.multiplier = 2;
  CHECK(p.delay_before(1) == Millis(0));
  CHECK(p.delay_before(2) == Millis(1000));
  CHECK(p.delay_before(3) == Millis(2000));
  CHECK(p.delay_before(4) == Millis(4000));
  CHECK(p.delay_before(6) == Millis(16'000));
  CHECK(p.delay_before(7) == Millis(30'000));
  CHECK(p.delay_before(2000) == Millis(30'000));  // no overflow
  p.backoff = RetryPolicy::Backoff::constant;
  CHECK(p.delay_before(5) == Millis(1000));

  // Default: the transient kinds.
  CHECK(p.retries(Error::make(ErrorKind::network, "x")));
  CHECK(p.retries(Error::make(ErrorKind::rate_limited, "x")));
  CHECK_FALSE(p.retries(Error::make(ErrorKind::okta, "x", "E0000009")));
  CHECK_FALSE(p.retries(Error::make(ErrorKind::cancelled, "x")));
  // Listed kinds and Okta codes only.
  p.on_kinds = {ErrorKind::timeout};
  p.on_okta_codes = {"E0000009"};
  CHECK(p.retries(Error::make(ErrorKind::timeout, "x")));
  CHECK(p.retries(Error::make(ErrorKind::okta, "x", "E0000009")));
  CHECK_FALSE(p.retries(Error::make(ErrorKind::okta, "x", "E0000007")));
  CHECK_FALSE(p.retries(Error::make(ErrorKind::network, "x")));
}

TEST_CASE("retry defaults when only some keys are given") {
  LoadResult r = load_text(
      "name: c\nsteps:\n  - action: core.noop\n    retry: { max_attempts: 3, backoff: constant, initial_interval: 500ms }\n");
  REQUIRE(r.ok());
  const RetryPolicy& p = *r.flow->steps[0].retry;
  CHECK(p.max_attempts == 3);
  CHECK(p.backoff == RetryPolicy::Backoff::constant);
  CHECK(p.initial_interval == Millis(500));
  CHECK(p.max_interval == Millis(30'000));
  CHECK(p.jitter);
  CHECK(p.on_kinds.empty());
  CHECK(p.pos.line == 4);
  CHECK(p.delay_before(3) == Millis(500));
}

TEST_CASE("sha256") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("schedule triggers: both forms load into the model") {
  LoadResult r = load_text(R"(name: s
inputs:
  dry_run: { type: boolean }
triggers:
  - schedule: "0 6 * * 1-5"
    inputs: { dry_run: true }
  - schedule:
      cron: "30 2 * * *"
      timezone: America/New_York
      inputs: { dry_run: false }
      catchup: all
      overlap: queue
  - schedule: { cron: "@hourly", catchup: none, overlap: allow }
steps:
  - action: core.noop
)");
  REQUIRE(lines(r).empty());
  const Flow& f = *r.flow;
  REQUIRE(f.triggers.size() == 3);
  const Trigger& short_form = f.triggers[0];
  REQUIRE(short_form.schedule);
  CHECK(short_form.schedule->time_zone() == "UTC");
  CHECK(short_form.catchup == schedule::Catchup::last);
  CHECK(short_form.overlap == schedule::Overlap::skip);
  CHECK(short_form.inputs.constant_value() == Json{{"dry_run", true}});
  // 2026-12-04 is a Friday: next is Monday 06:00 UTC.
  const schedule::Instant friday{std::chrono::milliseconds{1'796'367'600'000}};  // 2026-12-04T07:00:00Z
  CHECK(short_form.schedule->next_after(friday) == friday + std::chrono::hours{71});

  const Trigger& long_form = f.triggers[1];
  REQUIRE(long_form.schedule);
  CHECK(long_form.schedule->cron().text == "30 2 * * *");
  CHECK(long_form.schedule->time_zone() == "America/New_York");
  CHECK(long_form.catchup == schedule::Catchup::all);
  CHECK(long_form.overlap == schedule::Overlap::queue);
  CHECK(long_form.inputs.constant_value() == Json{{"dry_run", false}});
  CHECK(long_form.pos.line == 7);

  REQUIRE(f.triggers[2].schedule);
  CHECK(f.triggers[2].catchup == schedule::Catchup::none);
  CHECK(f.triggers[2].overlap == schedule::Overlap::allow);
  CHECK(f.triggers[2].inputs.empty());
}
