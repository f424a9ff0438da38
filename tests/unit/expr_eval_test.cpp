// Evaluating `${{ }}` expressions (engine/expr): literals, access, operators and their errors,
// the functions, evaluation errors naming the expression, truthy() and to_text(), and values
// nested more than 128 levels deep refused (issue 16).
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "expr/expr.hpp"
#include "expr_fixtures.hpp"

using spokeflow::ErrorKind;
using spokeflow::Json;
using namespace spokeflow::expr;
using namespace spokeflow::test::expr_fixtures;

TEST_CASE("expr: literals") {
  CHECK(ex("'it''s'") == Json("it's"));
  CHECK(ex("''") == Json(""));
  CHECK(ex("''''") == Json("'"));
  Json i = ex("42");
  CHECK(i.is_number_integer());
  CHECK(i == 42);
  Json big = ex("9223372036854775807");
  CHECK(big.get<std::int64_t>() == INT64_MAX);
  Json d = ex("1.5");
  CHECK(d.is_number_float());
  CHECK(d.get<double>() == 1.5);
  Json e = ex("1e3");
  CHECK(e.is_number_float());
  CHECK(e.get<double>() == 1000.0);
  CHECK(ex("2.5E-1").get<double>() == 0.25);
  Json neg = ex("-3");
  CHECK(neg.is_number_integer());
  CHECK(neg == -3);
  CHECK(ex("-0.5").get<double>() == -0.5);
  CHECK(ex("true") == Json(true));
  CHECK(ex("false") == Json(false));
  CHECK(ex("null").is_null());
  CHECK(ex("'héllo ✓'") == Json("héllo ✓"));
}

TEST_CASE("expr: identifiers may hold hyphens") {
  CHECK(ex("steps.my-step.outputs.x") == 1);
  CHECK(ex("steps['my-step'].outputs.x") == 1);
  CHECK(ex("inputs.n - 1") == 4);
  CHECK(ex("inputs.n -1") == 4);
  CHECK(ex("inputs.n- 1") == 4);          // a trailing hyphen is not part of the name
  CHECK(ex("inputs.n-1").is_null());      // the property "n-1", as in GitHub Actions
  CHECK(ex("inputs._x").is_null());
}

TEST_CASE("expr: property and index access") {
  CHECK(ex("steps.create.outputs.user.id") == Json("00u1"));
  CHECK(ex("steps.create.outputs['user'].id") == Json("00u1"));
  CHECK(ex("steps['create']['outputs']['user']['profile']['login']") == Json("ada@example.com"));
  CHECK(ex("inputs.list[0]") == 1);
  CHECK(ex("inputs.list[2]") == 3);
  CHECK(ex("inputs.users[vars.i].id") == Json("u2"));
  CHECK(ex("inputs.users[index - 1][vars.key]") == Json("u2"));
  CHECK(ex("inputs.list[4 / 2]") == 3);
  CHECK(ex("inputs.list[1.0]") == 2);
  CHECK(ex("item.name") == Json("x"));
  CHECK(ex("index") == 2);
  CHECK(ex("(inputs.users)[0].id") == Json("u1"));
  CHECK(ex("inputs.users[0].id") == Json("u1"));
  // Access into a computed value.
  CHECK(ex(R"(fromJSON('{"a": [1, {"b": 2}]}').a[1].b)") == 2);
  CHECK(ex("coalesce(inputs.missing, inputs.users)[1].id") == Json("u2"));
  CHECK(ex("(inputs.missing || inputs.users)[0]") == Json::parse(R"({"id":"u1"})"));
}

TEST_CASE("expr: missing things are null, never errors") {
  CHECK(ex("inputs.missing").is_null());
  CHECK(ex("inputs.missing.deeper.still").is_null());
  CHECK(ex("nothing").is_null());  // a root the scope does not define
  CHECK(ex("nothing.at.all[3]").is_null());
  CHECK(ex("inputs.list[3]").is_null());
  CHECK(ex("inputs.list[-1]").is_null());
  CHECK(ex("inputs.list[1.5]").is_null());
  CHECK(ex("inputs.list['0']").is_null());
  CHECK(ex("inputs.users.id").is_null());
  CHECK(ex("inputs.name.length").is_null());
  CHECK(ex("inputs.name[0]").is_null());
  CHECK(ex("inputs.n.x").is_null());
  CHECK(ex("inputs[null]").is_null());
  CHECK(ex("inputs[true]").is_null());
  CHECK(ex("null.x").is_null());
  CHECK(ex("'abc'.x").is_null());
}

TEST_CASE("expr: operator precedence and associativity") {
  CHECK(ex("1 + 2 * 3") == 7);
  CHECK(ex("(1 + 2) * 3") == 9);
  CHECK(ex("10 - 4 - 3") == 3);
  CHECK(ex("100 / 10 / 5") == 2);
  CHECK(ex("2 * 7 % 4") == 2);
  CHECK(ex("7 % 4 * 2") == 6);
  CHECK(ex("-inputs.n + 1") == -4);
  CHECK(ex("- - 2") == 2);
  CHECK(ex("!false && false") == Json(false));
  CHECK(ex("true || false && false") == Json(true));
  CHECK(ex("(true || false) && false") == Json(false));
  CHECK(ex("1 < 2 == 2 < 3") == Json(true));
  CHECK(ex("1 + 1 == 2") == Json(true));
  CHECK(ex("1 + 2 == 3 && 'a' < 'b'") == Json(true));
  CHECK(ex("inputs.n > 2 && inputs.n < 10 || false") == Json(true));
  CHECK(ex("!inputs.empty") == Json(true));
  CHECK(ex("!inputs.name") == Json(false));
  CHECK(ex("!!inputs.name") == Json(true));
  CHECK(ex("-(2 + 3) * 2") == -10);
}

TEST_CASE("expr: && and || short-circuit and return the deciding operand") {
  CHECK(ex("inputs.name || 'nobody'") == Json("Ada"));
  CHECK(ex("inputs.empty || 'default'") == Json("default"));
  CHECK(ex("inputs.missing || inputs.zero") == 0);
  CHECK(ex("inputs.n && inputs.name") == Json("Ada"));
  CHECK(ex("inputs.zero && inputs.name") == 0);
  CHECK(ex("inputs.missing && inputs.name").is_null());
  CHECK(ex("inputs.list && true") == Json(true));
  // The right side is not evaluated when the left decides: no division by zero.
  CHECK(ex("inputs.missing && 1 / 0").is_null());
  CHECK(ex("true || 1 / 0") == Json(true));
  CHECK(ex_err("false || 1 / 0").starts_with("division by zero"));
}

TEST_CASE("expr: arithmetic") {
  Json q = ex("7 / 2");
  CHECK(q.is_number_float());
  CHECK(q.get<double>() == 3.5);
  Json exact = ex("6 / 3");
  CHECK(exact.is_number_integer());
  CHECK(exact == 2);
  CHECK(ex("-6 / 3") == -2);
  CHECK(ex("7 % 3") == 1);
  CHECK(ex("-7 % 3") == -1);
  CHECK(ex("7 % -1") == 0);
  Json mixed = ex("1.5 + 1");
  CHECK(mixed.is_number_float());
  CHECK(mixed.get<double>() == 2.5);
  Json prod = ex("inputs.n * 2");
  CHECK(prod.is_number_integer());
  CHECK(prod == 10);
  CHECK(ex("inputs.half * 4").get<double>() == 2.0);
  CHECK(ex("inputs.n - 7") == -2);
  CHECK(ex("fromJSON('5') + 1") == 6);  // unsigned values from JSON count as integers
  CHECK(ex("fromJSON('18446744073709551615') > 1") == Json(true));
}

TEST_CASE("expr: arithmetic errors") {
  CHECK(ex_err("1 / 0") == "division by zero in '${{ 1 / 0 }}'");
  CHECK(ex_err("1.5 / 0") == "division by zero in '${{ 1.5 / 0 }}'");
  CHECK(ex_err("1 % 0") == "modulo by zero in '${{ 1 % 0 }}'");
  CHECK(contains_text(ex_err("1.5 % 1"), "'%' takes two integers"));
  CHECK(eval_err("${{ 'a' * 2 }}") == "cannot multiply string by number in '${{ 'a' * 2 }}'");
  std::string plus = ex_err("'a' + 'b'");
  CHECK(contains_text(plus, "cannot add string and string"));
  CHECK(contains_text(plus, "joining text is format() or interpolation"));
  CHECK(contains_text(ex_err("inputs.name + 1"), "cannot add string and number"));
  CHECK(contains_text(ex_err("1 - true"), "cannot subtract boolean from number"));
  CHECK(contains_text(ex_err("inputs.list / 2"), "cannot divide array by number"));
  CHECK(contains_text(ex_err("inputs.missing + 1"), "cannot add null and number"));
  CHECK(contains_text(ex_err("-'a'"), "cannot negate string"));
  CHECK(contains_text(ex_err("inputs.big + 1"), "integer overflow"));
  CHECK(contains_text(ex_err("inputs.big * 2"), "integer overflow"));
  CHECK(contains_text(ex_err("-inputs.big - 2"), "integer overflow"));
  CHECK(contains_text(ex_err("1e300 * 1e300"), "out of range"));
}

TEST_CASE("expr: equality") {
  CHECK(ex("1 == 1.0") == Json(true));
  CHECK(ex("inputs.n == 5") == Json(true));
  CHECK(ex("fromJSON('5') == 5") == Json(true));
  CHECK(ex("1 == '1'") == Json(false));
  CHECK(ex("true == 1") == Json(false));
  CHECK(ex("0 == false") == Json(false));
  CHECK(ex("'' == null") == Json(false));
  CHECK(ex("null == null") == Json(true));
  CHECK(ex("inputs.missing == null") == Json(true));
  CHECK(ex("'a' != 'A'") == Json(true));
  CHECK(ex("'a' == 'a'") == Json(true));
  CHECK(ex("fromJSON('[1,2,3]') == inputs.list") == Json(true));
  CHECK(ex("fromJSON('[1.0,2,3]') == inputs.list") == Json(true));
  CHECK(ex("fromJSON('[1,2]') == inputs.list") == Json(false));
  CHECK(ex(R"(fromJSON('{"id":"u1"}') == inputs.users[0])") == Json(true));
  CHECK(ex("inputs.list != inputs.list") == Json(false));
}

TEST_CASE("expr: ordering comparisons") {
  CHECK(ex("'b' > 'a'") == Json(true));
  CHECK(ex("'B' < 'a'") == Json(true));  // byte order
  CHECK(ex("'abc' < 'abd'") == Json(true));
  CHECK(ex("'ab' < 'abc'") == Json(true));
  CHECK(ex("'é' > 'z'") == Json(true));  // UTF-8 bytes compare unsigned
  CHECK(ex("2 >= 2.0") == Json(true));
  CHECK(ex("2 <= 1.5") == Json(false));
  CHECK(ex("inputs.n > inputs.half") == Json(true));
  CHECK(ex("-1 < 0") == Json(true));
  std::string e = ex_err("1 < 'a'");
  CHECK(contains_text(e, "cannot compare number with string using '<'"));
  CHECK(contains_text(ex_err("inputs.missing >= 1"), "cannot compare null with number"));
  CHECK(contains_text(ex_err("true > false"), "cannot compare boolean with boolean"));
}

TEST_CASE("expr: contains") {
  CHECK(ex("contains('hello', 'ell')") == Json(true));
  CHECK(ex("contains('hello', 'ELL')") == Json(false));
  CHECK(ex("contains('hello', '')") == Json(true));
  CHECK(ex("contains(inputs.list, 2)") == Json(true));
  CHECK(ex("contains(inputs.list, 2.0)") == Json(true));
  CHECK(ex("contains(inputs.list, '2')") == Json(false));
  CHECK(ex(R"(contains(inputs.users, fromJSON('{"id":"u2"}')))") == Json(true));
  CHECK(ex("contains(inputs.missing, 'x')") == Json(false));
  CHECK(contains_text(ex_err("contains('abc', 1)"), "contains() looks for a string"));
  CHECK(contains_text(ex_err("contains(inputs.n, 1)"), "contains() searches a string or an array, got number"));
}

TEST_CASE("expr: startsWith and endsWith") {
  CHECK(ex("startsWith('hello', 'he')") == Json(true));
  CHECK(ex("startsWith('hello', 'lo')") == Json(false));
  CHECK(ex("startsWith('Hello', 'he')") == Json(false));  // case-sensitive
  CHECK(ex("endsWith('hello', 'lo')") == Json(true));
  CHECK(ex("endsWith('hello', 'he')") == Json(false));
  CHECK(ex("endsWith(steps.create.outputs.user.profile.login, '@example.com')") == Json(true));
  CHECK(ex("startsWith(inputs.missing, 'a')") == Json(false));
  CHECK(contains_text(ex_err("startsWith(1, 'a')"), "startsWith() needs a string, got number"));
  CHECK(contains_text(ex_err("endsWith('a', 1)"), "endsWith() needs a string to look for, got number"));
}

TEST_CASE("expr: format") {
  CHECK(ex("format('{0} of {1}', 1, 2)") == Json("1 of 2"));
  CHECK(ex("format('{1}{0}{1}', 'a', 'b')") == Json("bab"));
  CHECK(ex("format('{{0}} is {0}', 'x')") == Json("{0} is x"));
  CHECK(ex("format('}}{{')") == Json("}{"));
  CHECK(ex("format('plain')") == Json("plain"));
  CHECK(ex("format('{0}|{1}|{2}|{3}', inputs.missing, inputs.half, inputs.users[0], true)") ==
        Json(R"(|0.5|{"id":"u1"}|true)"));
  CHECK(ex("format('{0}', 'a', 'unused')") == Json("a"));
  // A pattern known only at run time is checked at run time.
  std::string e = ex_err("format(inputs.pattern, 'a', 'b')");
  CHECK(contains_text(e, "{2}"));
  CHECK(contains_text(e, "in '${{ format(inputs.pattern, 'a', 'b') }}'"));
  CHECK(ex("format(inputs.pattern, 'a', 'b', 'c')") == Json("a-c"));
  CHECK(contains_text(ex_err("format(inputs.n)"), "format() needs a string pattern first, got number"));
}

TEST_CASE("expr: join") {
  CHECK(ex("join(inputs.list)") == Json("1,2,3"));
  CHECK(ex("join(inputs.list, ' | ')") == Json("1 | 2 | 3"));
  CHECK(ex("join(inputs.list, '')") == Json("123"));
  CHECK(ex(R"(join(fromJSON('["a", null, true, 1.5]'), '+'))") == Json("a++true+1.5"));
  CHECK(ex("join(fromJSON('[]'), ',')") == Json(""));
  CHECK(ex("join('abc', '-')") == Json("abc"));
  CHECK(ex("join(inputs.missing)") == Json(""));
  CHECK(contains_text(ex_err("join(1)"), "join() needs an array, got number"));
  CHECK(contains_text(ex_err("join(inputs.list, 1)"), "join() needs a string separator"));
}

TEST_CASE("expr: length") {
  CHECK(ex("length('hello')") == 5);
  CHECK(ex("length('héllo')") == 5);  // code points, not bytes
  CHECK(ex("length('✓✓')") == 2);
  CHECK(ex("length('')") == 0);
  CHECK(ex("length(inputs.list)") == 3);
  CHECK(ex("length(steps.create.outputs)") == 2);
  CHECK(ex("length(inputs.missing)") == 0);
  CHECK(ex("length(inputs.list)").is_number_integer());
  CHECK(contains_text(ex_err("length(1)"), "length() needs a string, an array or an object, got number"));
}

TEST_CASE("expr: lower and upper") {
  CHECK(ex("lower('AbC-1')") == Json("abc-1"));
  CHECK(ex("upper('AbC-1')") == Json("ABC-1"));
  CHECK(ex("upper('straße')") == Json("STRAßE"));  // ASCII only
  CHECK(ex("lower(inputs.missing)").is_null());
  CHECK(contains_text(ex_err("lower(1)"), "lower() needs a string, got number"));
  CHECK(contains_text(ex_err("upper(true)"), "upper() needs a string, got boolean"));
}

TEST_CASE("expr: toJSON and fromJSON") {
  CHECK(ex("toJSON(inputs.users)") == Json(R"([{"id":"u1"},{"id":"u2"}])"));
  CHECK(ex("toJSON('a')") == Json(R"("a")"));
  CHECK(ex("toJSON(inputs.missing)") == Json("null"));
  CHECK(ex("toJSON(inputs.n)") == Json("5"));
  CHECK(ex(R"(fromJSON('{"a": 1}').a)") == 1);
  CHECK(ex("fromJSON('[1, 2]')") == Json::array({1, 2}));
  CHECK(ex("fromJSON(toJSON(steps.create.outputs)) == steps.create.outputs") == Json(true));
  CHECK(ex("fromJSON(inputs.missing)").is_null());
  std::string e = ex_err("fromJSON('{nope')");
  CHECK(contains_text(e, "fromJSON() could not read its argument as JSON"));
  CHECK(contains_text(e, "in '${{ fromJSON('{nope') }}'"));
  CHECK(contains_text(ex_err("fromJSON('1e999')"), "fromJSON()"));
  CHECK(contains_text(ex_err("fromJSON(1)"), "fromJSON() needs a string, got number"));
}

TEST_CASE("expr: coalesce") {
  CHECK(ex("coalesce(inputs.missing, null, 'x', 'y')") == Json("x"));
  CHECK(ex("coalesce(inputs.empty, 'x')") == Json(""));  // only null is skipped
  CHECK(ex("coalesce(inputs.zero, 1)") == 0);
  CHECK(ex("coalesce(null)").is_null());
  CHECK(ex("coalesce(inputs.missing, inputs.users)") == scope().lookup("inputs")->at("users"));
  CHECK(ex("coalesce('a', 1 / 0)") == Json("a"));  // stops at the first non-null
  CHECK(ex_err("coalesce(null, 1 / 0)").starts_with("division by zero"));
}

TEST_CASE("expr: now") {
  Json v = ex("now()");
  REQUIRE(v.is_string());
  const std::string s = v.get<std::string>();
  CHECK(s.size() == 24);  // 2026-11-29T05:12:35.123Z
  CHECK(s[4] == '-');
  CHECK(s[10] == 'T');
  CHECK(s[19] == '.');
  CHECK(s.back() == 'Z');
  CHECK(ex("now() > '2020-01-01T00:00:00.000Z'") == Json(true));
}

TEST_CASE("expr: evaluation errors name the expression") {
  Template t = parse_ok("before ${{ 1 / 0 }} after");
  auto r = t.evaluate(scope());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::validation);
  CHECK(r.error().message == "division by zero in '${{ 1 / 0 }}'");
  CHECK(r.error().details["expression"] == Json("${{ 1 / 0 }}"));

  auto c = Template::parse_condition("  inputs.n / 0 > 1 ");
  REQUIRE(std::holds_alternative<Template>(c));
  auto rc = std::get<Template>(c).evaluate(scope());
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message == "division by zero in 'inputs.n / 0 > 1'");

  // Errors inside an index expression or a function argument surface too.
  CHECK(ex_err("inputs.list[1 / 0]").starts_with("division by zero"));
  CHECK(ex_err("length(1 / 0)").starts_with("division by zero"));
  CHECK(ex_err("!(1 / 0)").starts_with("division by zero"));
}

TEST_CASE("expr: truthy") {
  CHECK_FALSE(truthy(Json(false)));
  CHECK_FALSE(truthy(Json(nullptr)));
  CHECK_FALSE(truthy(Json(0)));
  CHECK_FALSE(truthy(Json(0u)));
  CHECK_FALSE(truthy(Json(0.0)));
  CHECK_FALSE(truthy(Json("")));
  CHECK(truthy(Json(true)));
  CHECK(truthy(Json(1)));
  CHECK(truthy(Json(-1)));
  CHECK(truthy(Json(0.5)));
  CHECK(truthy(Json("false")));
  CHECK(truthy(Json("0")));
  CHECK(truthy(Json::array()));
  CHECK(truthy(Json::object()));
}

TEST_CASE("expr: to_text") {
  CHECK(to_text(Json("plain")) == "plain");
  CHECK(to_text(Json(nullptr)) == "");
  CHECK(to_text(Json(true)) == "true");
  CHECK(to_text(Json(false)) == "false");
  CHECK(to_text(Json(42)) == "42");
  CHECK(to_text(Json(-7)) == "-7");
  CHECK(to_text(Json(18446744073709551615ull)) == "18446744073709551615");
  CHECK(to_text(Json(2.5)) == "2.5");
  CHECK(to_text(Json(3.0)) == "3");
  CHECK(to_text(Json(0.1)) == "0.1");
  CHECK(to_text(Json(1e21)) == "1e+21");
  CHECK(to_text(Json::parse(R"({"a": 1, "b": [1, "x"]})")) == R"({"a":1,"b":[1,"x"]})");
  CHECK(to_text(Json::array({1, "x", nullptr})) == R"([1,"x",null])");
  CHECK(to_text(Json::object()) == "{}");
}

namespace {
// An array nested `depth` levels deep ([] is one level), built without recursion.
Json nested_array(std::size_t depth) {
  Json v = Json::array();
  for (std::size_t i = 1; i < depth; ++i) {
    Json outer = Json::array();
    outer.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}
std::string nested_text(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
}  // namespace

TEST_CASE("expr: fromJSON refuses values nested more than 128 levels deep (issue 16)") {
  JsonScope s(Json{{"inputs", {{"deep", nested_text(70'000)}, {"limit", nested_text(128)}, {"over", nested_text(129)}}}});
  auto deep = parse_ok("${{ fromJSON(inputs.deep) }}").evaluate(s);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().kind == ErrorKind::validation);
  CHECK_MESSAGE(contains_text(deep.error().message,
                              "fromJSON() could not read its argument as JSON: values are nested more than 128 levels deep"),
                deep.error().message);
  CHECK(contains_text(deep.error().message, "in '${{ fromJSON(inputs.deep) }}'"));
  auto limit = parse_ok("${{ fromJSON(inputs.limit) }}").evaluate(s);
  REQUIRE(limit.ok());
  CHECK(*limit == nested_array(128));
  CHECK_FALSE(parse_ok("${{ fromJSON(inputs.over) }}").evaluate(s).ok());
  // Inside a larger expression too: the value never exists.
  CHECK_FALSE(parse_ok("${{ length(fromJSON(inputs.deep)) }}").evaluate(s).ok());
}

TEST_CASE("expr: a value nested more than 128 levels deep is refused as an expression's result") {
  // Values in the scope may be deeper than what came from outside (a flow nests them in `with:`,
  // `set:` in a loop wraps a variable again on every iteration); an expression hands on at most
  // the limit, so that no value can grow without bound.
  JsonScope s(Json{{"vars", {{"v", nested_array(129)}, {"ok", nested_array(128)}}}});
  auto over = parse_ok("${{ vars.v }}").evaluate(s);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::validation);
  CHECK_MESSAGE(contains_text(over.error().message, "its value is nested more than 128 levels deep in '${{ vars.v }}'"),
                over.error().message);
  CHECK(parse_ok("${{ vars.v[0] }}").evaluate(s).ok());
  CHECK(parse_ok("${{ vars.ok }}").evaluate(s).ok());
  CHECK(parse_ok("${{ vars.v == vars.v }}").evaluate(s).ok());  // a comparison gives a boolean
  CHECK(parse_ok("${{ length(toJSON(vars.v)) }}").evaluate(s).ok());
}
