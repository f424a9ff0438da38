// Fuzz target: the expression language, parsed as a template and as a condition, then evaluated
// over a scope with every kind of value (the roots a step sees).
// Properties: no crash; a parse or evaluation error says something; a value that evaluates is
// nested at most kMaxJsonDepth levels (the limit every value keeps) and can be shown as text.
#include <string>
#include <variant>

#include "common/json_text.hpp"
#include "expr/expr.hpp"
#include "fuzz_support.hpp"
#include "json_scope.hpp"

using namespace spokeflow;

namespace {

using test::JsonScope;

const JsonScope& scope() {
  static const JsonScope s(Json::parse(R"({
    "inputs": {"email": "ada@example.com", "name": "Ada Lovelace", "n": 3, "ratio": 0.5, "big": 9223372036854775807,
               "neg": -9223372036854775808, "huge": 18446744073709551615, "flag": true, "none": null,
               "tags": ["a", "b", "c"], "nested": {"a": {"b": {"c": [1, [2, [3, {"d": "deep"}]]]}}},
               "text": "line1\nline2\t\"quoted\" \\ ünïcödé 😀", "json": "{\"k\": [1, 2, {\"x\": null}]}",
               "empty": "", "zero": 0, "list": []},
    "vars": {"count": 0, "seen": [], "map": {"x-y": 1, "with space": 2, "0": "zero"}},
    "steps": {"create": {"outputs": {"user_id": "00u1abc", "already": false, "user": {"id": "00u1abc",
              "profile": {"login": "ada@example.com", "firstName": "Ada"}}}, "status": "succeeded"},
              "group": {"outputs": {"found": true, "group_id": "00g1"}}},
    "item": {"id": 7, "name": "seven"}, "index": 2,
    "error": {"kind": "http", "message": "429 Too Many Requests", "status": 429},
    "event": {"eventType": "user.lifecycle.deactivate", "target": [{"id": "00u2", "type": "User"}]},
    "execution": {"id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "flow": "fuzz"}
  })"));
  return s;
}

void evaluate(const std::variant<expr::Template, expr::ParseError>& parsed) {
  if (const auto* e = std::get_if<expr::ParseError>(&parsed)) {
    fuzz::check(!e->message.empty(), "a parse error has a message");
    return;
  }
  const auto& t = std::get<expr::Template>(parsed);
  (void)t.has_expressions();
  (void)t.is_whole();
  for (const auto& ref : t.references()) fuzz::check(!ref.root.empty(), "a reference names its root");
  Result<Json> value = t.evaluate(scope());
  if (!value.ok()) {
    fuzz::check(!value.error().message.empty(), "an evaluation error has a message");
    fuzz::check(value.error().kind == ErrorKind::validation, "an evaluation error is a validation error",
                value.error().message);
    return;
  }
  fuzz::check(!nested_deeper_than(*value), "a value is nested at most kMaxJsonDepth levels");
  (void)expr::to_text(*value);
  (void)expr::truthy(*value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  evaluate(expr::Template::parse(text));
  evaluate(expr::Template::parse_condition(text));
  return 0;
}
