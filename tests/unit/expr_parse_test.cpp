// The `${{ }}` expression language (engine/expr), as text becomes a Template: plain text,
// whole values and interpolation, parse errors with their byte offsets, conditions, references,
// templates as values, and nesting bounded so that deep input is a parse error, not a crash.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "expr/expr.hpp"
#include "expr_fixtures.hpp"

using spokeflow::ErrorKind;
using spokeflow::Json;
using namespace spokeflow::expr;
using namespace spokeflow::test::expr_fixtures;

TEST_CASE("expr: plain text templates") {
  Template t = parse_ok("just text");
  CHECK_FALSE(t.has_expressions());
  CHECK_FALSE(t.is_whole());
  CHECK(t.source() == "just text");
  CHECK(*t.evaluate(scope()) == Json("just text"));
  CHECK(t.references().empty());

  Template empty = parse_ok("");
  CHECK_FALSE(empty.has_expressions());
  CHECK(*empty.evaluate(scope()) == Json(""));

  Template def;
  CHECK_FALSE(def.has_expressions());
  CHECK_FALSE(def.is_whole());
  CHECK(def.source().empty());
  CHECK(*def.evaluate(scope()) == Json(""));

  // Braces and dollars that do not open an expression are text.
  CHECK(eval("cost: ${5} {{x}} $") == Json("cost: ${5} {{x}} $"));
}

TEST_CASE("expr: a whole-value expression keeps its JSON type") {
  Template t = parse_ok("${{ inputs.n }}");
  CHECK(t.has_expressions());
  CHECK(t.is_whole());
  Json v = *t.evaluate(scope());
  CHECK(v.is_number_integer());
  CHECK(v == 5);

  Template spaced = parse_ok("  ${{ inputs.list }}\n");
  CHECK(spaced.is_whole());
  CHECK(spaced.source() == "  ${{ inputs.list }}\n");
  CHECK(*spaced.evaluate(scope()) == Json::array({1, 2, 3}));

  CHECK(ex("inputs.flag") == Json(true));
  CHECK(ex("inputs.missing").is_null());
  CHECK(ex("steps.create.outputs.user") == Json::parse(R"({"id":"00u1","profile":{"login":"ada@example.com"}})"));
  CHECK(ex("inputs.half").is_number_float());
}

TEST_CASE("expr: interpolation converts each part to text") {
  Template t = parse_ok("n = ${{ inputs.n }}");
  CHECK(t.has_expressions());
  CHECK_FALSE(t.is_whole());
  CHECK(*t.evaluate(scope()) == Json("n = 5"));

  CHECK(eval("${{ inputs.name }} has ${{ length(inputs.list) }} items") == Json("Ada has 3 items"));
  CHECK(eval("${{ inputs.n }}${{ inputs.n }}") == Json("55"));  // two expressions are never whole
  CHECK(eval("[${{ inputs.missing }}]") == Json("[]"));
  CHECK(eval("u=${{ inputs.users[0] }}") == Json(R"(u={"id":"u1"})"));
  CHECK(eval("h=${{ inputs.half }} f=${{ inputs.flag }}") == Json("h=0.5 f=true"));
  // `$${{` is not an escape: the `$` is text and the expression is evaluated.
  CHECK(eval("$${{ inputs.n }}") == Json("$5"));
  // A literal `${{` or `}}` comes from a string literal.
  CHECK(eval("a ${{ '${{' }} b") == Json("a ${{ b"));
  CHECK(ex("'}}'") == Json("}}"));
  CHECK(eval("x ${{ 'it''s }} here' }} y") == Json("x it's }} here y"));
}

TEST_CASE("expr: template parse errors carry byte offsets") {
  ParseError e = parse_err("${{ steps. }}");
  CHECK(e.offset == 11);
  CHECK(e.message == "expected an identifier after '.'");

  e = parse_err("abc ${{ inputs.n");
  CHECK(e.offset == 4);
  CHECK(e.message == "'${{' without a closing '}}'");

  e = parse_err("x ${{ inputs.n }");
  CHECK(e.offset == 2);
  CHECK(e.message == "'${{' without a closing '}}'");

  e = parse_err("ab ${{ 'abc }}");
  CHECK(e.offset == 7);
  CHECK(e.message == "unterminated string literal");

  e = parse_err("${{ }}");
  CHECK(e.offset == 0);
  CHECK(e.message == "empty expression");

  e = parse_err("ok ${{ inputs.n }} then ${{   }}");
  CHECK(e.offset == 24);
  CHECK(e.message == "empty expression");

  e = parse_err("${{ foo(1) }}");
  CHECK(e.offset == 4);
  CHECK(contains_text(e.message, "unknown function 'foo'"));

  e = parse_err("${{ Contains('a', 'b') }}");
  CHECK(e.offset == 4);
  CHECK(contains_text(e.message, "unknown function 'Contains'"));
  CHECK(contains_text(e.message, "did you mean 'contains'"));

  e = parse_err("${{ inputs.a inputs.b }}");
  CHECK(e.offset == 13);
  CHECK(contains_text(e.message, "unexpected 'inputs'"));

  e = parse_err("${{ (inputs.n }}");
  CHECK(e.offset == 14);
  CHECK(contains_text(e.message, "expected ')'"));

  e = parse_err("${{ inputs.list[1 }}");
  CHECK(e.offset == 18);
  CHECK(contains_text(e.message, "expected ']'"));

  e = parse_err("${{ inputs.list[] }}");
  CHECK(e.offset == 16);

  e = parse_err("${{ a.1 }}");
  CHECK(e.offset == 6);
  CHECK(e.message == "expected an identifier after '.', found '1'");

  e = parse_err("${{ 1 + }}");
  CHECK(e.offset == 8);
  CHECK(e.message == "expected an expression, found '}}'");

  e = parse_err("${{ a = 1 }}");
  CHECK(e.offset == 6);
  CHECK(contains_text(e.message, "'=='"));

  e = parse_err("${{ a & b }}");
  CHECK(e.offset == 6);
  CHECK(contains_text(e.message, "'&&'"));

  e = parse_err("${{ a | b }}");
  CHECK(e.offset == 6);
  CHECK(contains_text(e.message, "'||'"));

  e = parse_err(R"(${{ "text" }})");
  CHECK(e.offset == 4);
  CHECK(contains_text(e.message, "single quotes"));

  e = parse_err("${{ 12abc }}");
  CHECK(e.offset == 4);
  CHECK(e.message == "invalid number '12abc'");

  e = parse_err("${{ 99999999999999999999 }}");
  CHECK(e.offset == 4);
  CHECK(contains_text(e.message, "too large"));

  e = parse_err("${{ 1e999 }}");
  CHECK(e.offset == 4);
  CHECK(contains_text(e.message, "out of range"));

  e = parse_err("${{ a @ b }}");
  CHECK(e.offset == 6);
  CHECK(e.message == "unexpected character '@'");

  e = parse_err("${{ a ${{ b }} }}");
  CHECK(e.offset == 6);
  CHECK(contains_text(e.message, "'${{' cannot appear inside an expression"));

  e = parse_err("${{ format('x', a b) }}");
  CHECK(e.offset == 18);
  CHECK(contains_text(e.message, "expected ',' or ')'"));

  e = parse_err("${{ a.b( }}");
  CHECK(e.offset == 7);
  CHECK(contains_text(e.message, "unexpected '('"));
}

TEST_CASE("expr: wrong arity is a parse error") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"${{ contains('a') }}", "contains() takes 2 arguments, got 1"},
      {"${{ startsWith('a', 'b', 'c') }}", "startsWith() takes 2 arguments, got 3"},
      {"${{ endsWith() }}", "endsWith() takes 2 arguments, got 0"},
      {"${{ format() }}", "format() takes at least 1 argument, got 0"},
      {"${{ join() }}", "join() takes 1 or 2 arguments, got 0"},
      {"${{ join(a, b, c) }}", "join() takes 1 or 2 arguments, got 3"},
      {"${{ length() }}", "length() takes 1 argument, got 0"},
      {"${{ lower('a', 'b') }}", "lower() takes 1 argument, got 2"},
      {"${{ upper() }}", "upper() takes 1 argument, got 0"},
      {"${{ toJSON() }}", "toJSON() takes 1 argument, got 0"},
      {"${{ fromJSON('1', '2') }}", "fromJSON() takes 1 argument, got 2"},
      {"${{ coalesce() }}", "coalesce() takes at least 1 argument, got 0"},
      {"${{ now(1) }}", "now() takes no arguments, got 1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    ParseError e = parse_err(c.text);
    CHECK(e.offset == 4);
    CHECK(e.message == c.message);
  }
}

TEST_CASE("expr: a literal format() pattern is checked at parse time") {
  ParseError e = parse_err("${{ format('{0} {1}', 'a') }}");
  CHECK(e.offset == 11);
  CHECK(contains_text(e.message, "{1}"));

  e = parse_err("${{ format('{x}', 1) }}");
  CHECK(e.offset == 11);
  CHECK(contains_text(e.message, "'{{'"));

  e = parse_err("${{ format('a } b') }}");
  CHECK(e.offset == 11);
  CHECK(contains_text(e.message, "'}}'"));

  e = parse_err("${{ format('{0') }}");
  CHECK(e.offset == 11);
}

TEST_CASE("expr: nesting is bounded") {
  std::string deep = "${{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}";
  ParseError e = parse_err(deep);
  CHECK(contains_text(e.message, "nested too deeply"));

  std::string nots = "${{ " + std::string(200, '!') + "true }}";
  CHECK(contains_text(parse_err(nots).message, "nested too deeply"));

  std::string fine = "${{ " + std::string(20, '(') + "1" + std::string(20, ')') + " }}";
  CHECK(eval(fine) == 1);
  CHECK(ex(std::string(20, '!') + "true") == Json(true));
}

TEST_CASE("expr: parse_condition takes a bare expression or one ${{ }}") {
  CHECK(cond("inputs.n > 2 && inputs.flag") == Json(true));
  CHECK(cond("${{ inputs.n > 2 }}") == Json(true));
  CHECK(cond("  ${{ inputs.name }}  ") == Json("Ada"));
  CHECK(cond("inputs.name") == Json("Ada"));  // keeps the type; callers apply truthy()
  CHECK(cond("'${{ x }}' == '${{ x }}'") == Json(true));  // `${{` inside a string literal is text
  CHECK(cond("steps.create.outputs.count") == Json(3));

  auto r = Template::parse_condition("inputs.n == 5");
  REQUIRE(std::holds_alternative<Template>(r));
  CHECK(std::get<Template>(r).has_expressions());
  CHECK(std::get<Template>(r).source() == "inputs.n == 5");

  ParseError e = condition_err("${{ inputs.n }} && inputs.flag");
  CHECK(e.offset == 16);
  CHECK(contains_text(e.message, "one expression"));

  e = condition_err("${{ inputs.n }} ${{ inputs.flag }}");
  CHECK(e.offset == 16);

  e = condition_err("   ");
  CHECK(e.message == "empty expression");

  e = condition_err("inputs.n >");
  CHECK(e.offset == 10);
  CHECK(e.message == "expected an expression, found the end of the expression");

  e = condition_err("inputs.n > 2 && ${{ inputs.flag }}");
  CHECK(e.offset == 16);
  CHECK(contains_text(e.message, "'${{'"));

  e = condition_err("inputs.name == 'Ada");
  CHECK(e.offset == 15);
  CHECK(e.message == "unterminated string literal");

  e = condition_err("steps.");
  CHECK(e.offset == 6);
  CHECK(contains_text(e.message, "expected an identifier after '.'"));

  e = condition_err("${{ inputs.n > }}");
  CHECK(e.offset == 15);
}

TEST_CASE("expr: references") {
  Template t = parse_ok("${{ steps.create.outputs.user['id'] }}");
  auto refs = t.references();
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].root == "steps");
  CHECK(refs[0].path == std::vector<std::string>{"create", "outputs", "user", "id"});
  CHECK(refs[0].offset == 4);

  refs = parse_ok("${{ steps[x].outputs }}").references();
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].root == "steps");
  CHECK(refs[0].path.empty());
  CHECK(refs[0].offset == 4);
  CHECK(refs[1].root == "x");
  CHECK(refs[1].path.empty());
  CHECK(refs[1].offset == 10);

  refs = parse_ok("${{ inputs.users[vars.i].id }}").references();
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].root == "inputs");
  CHECK(refs[0].path == std::vector<std::string>{"users"});
  CHECK(refs[1].root == "vars");
  CHECK(refs[1].path == std::vector<std::string>{"i"});
  CHECK(refs[1].offset == 17);

  refs = parse_ok("a ${{ inputs.list[0] }} b ${{ format('{0}', item.name, coalesce(vars.x, 1)) }}").references();
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].root == "inputs");
  CHECK(refs[0].path == std::vector<std::string>{"list", "0"});
  CHECK(refs[0].offset == 6);
  CHECK(refs[1].root == "item");
  CHECK(refs[1].path == std::vector<std::string>{"name"});
  CHECK(refs[2].root == "vars");
  CHECK(refs[2].path == std::vector<std::string>{"x"});

  refs = parse_ok("${{ (steps.a).outputs.ok && !error.kind || fromJSON(event.body).x }}").references();
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].root == "steps");
  CHECK(refs[0].path == std::vector<std::string>{"a", "outputs", "ok"});
  CHECK(refs[0].offset == 5);
  CHECK(refs[1].root == "error");
  CHECK(refs[1].path == std::vector<std::string>{"kind"});
  CHECK(refs[2].root == "event");
  CHECK(refs[2].path == std::vector<std::string>{"body"});

  // The path stops at the first access that is not constant.
  refs = parse_ok("${{ steps.a.outputs[vars.key].deeper }}").references();
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].path == std::vector<std::string>{"a", "outputs"});
  CHECK(refs[1].root == "vars");

  CHECK(parse_ok("${{ 'steps' == format('{0}', 1) }}").references().empty());
  CHECK(parse_ok("${{ true }}").references().empty());

  auto c = Template::parse_condition("  steps.b.status == 'failed'");
  REQUIRE(std::holds_alternative<Template>(c));
  refs = std::get<Template>(c).references();
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].root == "steps");
  CHECK(refs[0].path == std::vector<std::string>{"b", "status"});
  CHECK(refs[0].offset == 2);
}

TEST_CASE("expr: templates are values that can be copied and shared") {
  Template a = parse_ok("hello ${{ inputs.name }}");
  Template b = a;
  Template c;
  c = b;
  CHECK(*a.evaluate(scope()) == Json("hello Ada"));
  CHECK(*c.evaluate(scope()) == Json("hello Ada"));
  CHECK(c.source() == "hello ${{ inputs.name }}");
  CHECK(c.references().size() == 1);

  // The same template evaluates against different scopes.
  Template item = parse_ok("${{ item }}");
  JsonScope one(Json{{"item", 1}});
  JsonScope two(Json{{"item", Json::array({"x"})}});
  CHECK(*item.evaluate(one) == 1);
  CHECK(*item.evaluate(two) == Json::array({"x"}));
}

TEST_CASE("expr: expressions nested 100,000 levels deep are parse errors, not crashes") {
  const std::size_t n = 100'000;
  std::string index;
  for (std::size_t i = 0; i < n / 2; ++i) index += "a[";
  index += "0" + std::string(n / 2, ']');
  std::string calls;
  for (std::size_t i = 0; i < n / 10; ++i) calls += "coalesce(";
  calls += "1" + std::string(n / 10, ')');
  std::string sums = "1";
  for (std::size_t i = 0; i < n; ++i) sums += "+1";
  for (const std::string& expr : {std::string(n, '(') + "1" + std::string(n, ')'), std::string(n, '!') + "true",
                                  std::string(n, '-') + "1", index, calls, sums}) {
    ParseError e = parse_err("${{ " + expr + " }}");
    CHECK_MESSAGE(contains_text(e.message, "nested too deeply"), e.message);
    auto c = Template::parse_condition(expr);
    REQUIRE(std::holds_alternative<ParseError>(c));
    CHECK(contains_text(std::get<ParseError>(c).message, "nested too deeply"));
  }
  // A long flat path is no nesting at all.
  std::string path = "inputs";
  for (std::size_t i = 0; i < n; ++i) path += ".x";
  CHECK(ex(path).is_null());
}
