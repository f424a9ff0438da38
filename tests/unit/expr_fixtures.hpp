#pragma once
// What the expression tests share: a fixed scope (inputs, steps, vars, item, index) and helpers
// that parse or evaluate a template or a condition and fail the test on an unexpected result.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <variant>

#include "expr/expr.hpp"
#include "json_scope.hpp"

namespace spokeflow::test::expr_fixtures {
using namespace spokeflow::expr;

using test::JsonScope;

inline const JsonScope& scope() {
  static const JsonScope s(Json::parse(R"({
    "inputs": {"n": 5, "name": "Ada", "empty": "", "zero": 0, "list": [1, 2, 3],
               "users": [{"id": "u1"}, {"id": "u2"}], "flag": true, "half": 0.5,
               "big": 9223372036854775807, "pattern": "{0}-{2}"},
    "steps": {"create": {"status": "succeeded",
                         "outputs": {"user": {"id": "00u1", "profile": {"login": "ada@example.com"}}, "count": 3}},
              "my-step": {"outputs": {"x": 1}}},
    "vars": {"key": "id", "i": 1},
    "item": {"name": "x"},
    "index": 2
  })"));
  return s;
}

inline Template parse_ok(std::string_view text) {
  auto r = Template::parse(text);
  if (auto* e = std::get_if<ParseError>(&r)) FAIL_CHECK("unexpected parse error at ", e->offset, ": ", e->message);
  REQUIRE(std::holds_alternative<Template>(r));
  return std::get<Template>(r);
}

inline ParseError parse_err(std::string_view text) {
  auto r = Template::parse(text);
  REQUIRE_MESSAGE(std::holds_alternative<ParseError>(r), "expected a parse error for: ", text);
  return std::get<ParseError>(r);
}

inline ParseError condition_err(std::string_view text) {
  auto r = Template::parse_condition(text);
  REQUIRE_MESSAGE(std::holds_alternative<ParseError>(r), "expected a parse error for: ", text);
  return std::get<ParseError>(r);
}

inline Json eval(std::string_view text) {
  Template t = parse_ok(text);
  auto r = t.evaluate(scope());
  if (!r.ok()) FAIL_CHECK("unexpected evaluation error: ", r.error().message);
  REQUIRE(r.ok());
  return *r;
}

// Evaluates `${{ EXPR }}`.
inline Json ex(std::string_view expr) { return eval("${{ " + std::string(expr) + " }}"); }

inline Json cond(std::string_view text) {
  auto r = Template::parse_condition(text);
  if (auto* e = std::get_if<ParseError>(&r)) FAIL_CHECK("unexpected parse error at ", e->offset, ": ", e->message);
  REQUIRE(std::holds_alternative<Template>(r));
  const Template& t = std::get<Template>(r);
  CHECK(t.is_whole());
  auto v = t.evaluate(scope());
  if (!v.ok()) FAIL_CHECK("unexpected evaluation error: ", v.error().message);
  REQUIRE(v.ok());
  return *v;
}

// The message of the evaluation error of `text` (a template).
inline std::string eval_err(std::string_view text) {
  Template t = parse_ok(text);
  auto r = t.evaluate(scope());
  REQUIRE_MESSAGE(!r.ok(), "expected an evaluation error for: ", text);
  CHECK(r.error().kind == ErrorKind::validation);
  return r.error().message;
}

inline std::string ex_err(std::string_view expr) { return eval_err("${{ " + std::string(expr) + " }}"); }

inline bool contains_text(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace spokeflow::test::expr_fixtures
