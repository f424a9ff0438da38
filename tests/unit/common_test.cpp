#include <doctest/doctest.h>

#include <random>
#include <regex>
#include <set>

#include "common/diagnostics.hpp"
#include "common/embedded_schemas.hpp"
#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/json_schema.hpp"
#include "common/json_text.hpp"
#include "common/redact.hpp"
#include "common/regex.hpp"
#include "common/scrub.hpp"
#include "common/suggest.hpp"
#include "common/utf8.hpp"

using namespace spokeflow;

TEST_CASE("durations") {
  CHECK(parse_duration("250ms") == Millis(250));
  CHECK(parse_duration("10s") == Millis(10'000));
  CHECK(parse_duration("5m") == Millis(300'000));
  CHECK(parse_duration("2h") == Millis(7'200'000));
  CHECK(parse_duration("1d") == Millis(86'400'000));
  CHECK(parse_duration("1h30m") == Millis(5'400'000));
  CHECK(parse_duration("1m30s500ms") == Millis(90'500));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("5 minutes"));
  CHECK_FALSE(parse_duration("30m1h"));  // units must decrease
  CHECK_FALSE(parse_duration("1s1s"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("99999999999999999999d"));
  CHECK(format_duration(Millis(5'400'000)) == "1h30m");
  CHECK(format_duration(Millis(250)) == "250ms");
}

TEST_CASE("sortable ids are unique and ordered") {
  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(new_sortable_id());
  for (std::size_t i = 1; i < ids.size(); ++i) CHECK(ids[i - 1] < ids[i]);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  CHECK(ids[0].size() == 26);
  for (const auto& id : ids) CHECK(is_sortable_id(id));
  CHECK_FALSE(is_sortable_id(""));
  CHECK_FALSE(is_sortable_id(ids[0].substr(1)));
  CHECK_FALSE(is_sortable_id(ids[0] + "0"));
  CHECK_FALSE(is_sortable_id("01ARZ3NDEKTSV4RRFFQ69G5FA[REDACTED]"));
  CHECK_FALSE(is_sortable_id("01ARZ3NDEKTSV4RRFFQ69G5FAi"));  // lower case
  CHECK_FALSE(is_sortable_id("01ARZ3NDEKTSV4RRFFQ69G5FAU"));  // not in the alphabet
  CHECK_FALSE(is_sortable_id("81ARZ3NDEKTSV4RRFFQ69G5FAV"));  // more than 128 bits
  CHECK(is_sortable_id("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
}

TEST_CASE("timestamps") { CHECK(format_timestamp(1'764'393'155'123) == "2025-11-29T05:12:35.123Z"); }

TEST_CASE("utf8 validation") {
  CHECK_FALSE(find_invalid_utf8("plain ascii"));
  CHECK_FALSE(find_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK(find_invalid_utf8("caf\xe9") == 3u);
  CHECK(find_invalid_utf8("\xc0\x80") == 0u);          // overlong
  CHECK(find_invalid_utf8("ab\xed\xa0\x80") == 2u);    // surrogate
  CHECK(find_invalid_utf8("x\xf0\x9f\x98") == 1u);     // truncated
}

TEST_CASE("diagnostics format") {
  Diagnostics d("flows/x.yaml");
  d.error({12, 7}, "second");
  d.error({3, 1}, "first");
  d.error({3, 1}, "first");
  d.sort_unique();
  CHECK(d.format() == "flows/x.yaml:3:1: error: first\nflows/x.yaml:12:7: error: second\n");
}

TEST_CASE("errors round-trip through JSON") {
  Error e = Error::make(ErrorKind::okta, "Not found: Resource not found: x (User)", "E0000007");
  e.http_status = 404;
  e.step = "lookup";
  Error back = Error::from_json(e.to_json());
  CHECK(back.kind == ErrorKind::okta);
  CHECK(back.code == "E0000007");
  CHECK(back.http_status == 404);
  CHECK(back.step == "lookup");
  CHECK(is_transient(ErrorKind::rate_limited));
  CHECK_FALSE(is_transient(ErrorKind::okta));
}

TEST_CASE("schema checks and redaction") {
  Json schema = Json::parse(R"({
    "type": "object",
    "properties": {
      "user": {"type": "string"},
      "password": {"type": "string", "x-sensitive": true},
      "nested": {"type": "object", "properties": {"token": {"type": "string", "x-sensitive": true}}},
      "list": {"type": "array", "items": {"type": "object", "properties": {"secret": {"x-sensitive": true}}}}
    },
    "required": ["user"],
    "additionalProperties": false
  })");
  auto checker = JsonSchema::compile(schema);
  CHECK(checker->validate(Json{{"user", "a"}}).empty());
  auto issues = checker->validate(Json{{"user", 5}, {"extra", 1}});
  CHECK_FALSE(issues.empty());
  CHECK(schema_has_sensitive(schema));
  Json v = {{"user", "a"}, {"password", "p"}, {"nested", {{"token", "t"}}}, {"list", {{{"secret", "s"}, {"x", 1}}}}};
  Json r = redact_by_schema(v, schema);
  CHECK(r["user"] == "a");
  CHECK(r["password"] == kRedacted);
  CHECK(r["nested"]["token"] == kRedacted);
  CHECK(r["list"][0]["secret"] == kRedacted);
  CHECK(r["list"][0]["x"] == 1);
  CHECK(v["password"] == "p");  // the original is untouched
}

TEST_CASE("the scrubber removes registered secrets from text and JSON") {
  auto& s = SecretScrubber::instance();
  s.clear();
  CHECK(s.empty());
  CHECK(s.scrub(std::string("nothing to hide")) == "nothing to hide");
  s.add("abc");  // too short to register
  CHECK(s.empty());
  s.add("hunter2");
  s.add("hunter2-long");
  s.add_all(Json{{"a", "tok-998877"}, {"b", {"s3cr3t-value"}}});
  CHECK(s.scrub(std::string("pw=hunter2-long and hunter2")) == "pw=[REDACTED] and [REDACTED]");
  Json v = {{"x", "Bearer tok-998877"}, {"list", {"ok", "s3cr3t-value!"}}, {"n", 5}};
  Json out = s.scrub(v);
  CHECK(out["x"] == "Bearer [REDACTED]");
  CHECK(out["list"][1] == "[REDACTED]!");
  CHECK(out["n"] == 5);
  CHECK(v["x"] == "Bearer tok-998877");
  s.clear();
}

TEST_CASE("the scrubber finds each of many secrets, at text edges and when secrets share a prefix") {
  auto& s = SecretScrubber::instance();
  s.clear();
  // A long run registers a few secrets per execution; all of them stay in force.
  for (int i = 0; i < 5000; ++i) s.add("act-token-" + std::to_string(i) + "-zz");
  s.add("act-token");  // a prefix of the others, shorter: the longer match wins where both start
  s.add("ends");
  CHECK(s.scrub(std::string("act-token-4999-zz")) == "[REDACTED]");
  CHECK(s.scrub(std::string("x act-token-17-zz y act-token-18 z")) == "x [REDACTED] y [REDACTED]-18 z");
  CHECK(s.scrub(std::string("it ends")) == "it [REDACTED]");
  CHECK(s.scrub(std::string("act-toke")) == "act-toke");
  CHECK(s.scrub(std::string("act-token-5000-zz")) == "[REDACTED]-5000-zz");
  CHECK(s.scrub(std::string("")).empty());
  CHECK(s.scrub(std::string("abc")) == "abc");
  Json v = {{"deep", {{"list", {"ok", "pre act-token-42-zzpost"}}}}};
  CHECK(s.scrub(v)["deep"]["list"][1] == "pre [REDACTED]post");
  // Secrets that overlap in a text are replaced as one span: no piece of either survives.
  s.add("abcd-1111");
  s.add("1111-wxyz");
  CHECK(s.scrub(std::string("<abcd-1111-wxyz>")) == "<[REDACTED]>");
  // Many secrets with the same beginning (activation links) are all found.
  for (int i = 0; i < 2000; ++i) s.add("http://127.0.0.1:8080/welcome/tok" + std::to_string(i * 7919));
  CHECK(s.scrub(std::string("link: http://127.0.0.1:8080/welcome/tok15838.")) == "link: [REDACTED].");
  CHECK(s.scrub(std::string("http://127.0.0.1:8080/welcome/")) == "http://127.0.0.1:8080/welcome/");
  // Adding the same secret twice keeps one entry; adjacent secrets are both replaced.
  s.add("ends");
  CHECK(s.scrub(std::string("endsends")) == "[REDACTED][REDACTED]");
  s.clear();
  CHECK(s.scrub(std::string("act-token-1-zz")) == "act-token-1-zz");
}

TEST_CASE("a secret is registered with the forms the engine writes it in (issue 16)") {
  auto& s = SecretScrubber::instance();
  s.clear();
  const std::string secret = "Mixed\"Case\\Secret-77";
  {
    SecretScrubber::Scope run;
    run.add(secret);
    // As is, upper- and lower-case, inside a JSON text, percent-encoded in a URL.
    CHECK(s.scrub(std::string("a Mixed\"Case\\Secret-77 b")) == "a [REDACTED] b");
    CHECK(s.scrub(std::string("MIXED\"CASE\\SECRET-77")) == "[REDACTED]");
    CHECK(s.scrub(std::string("mixed\"case\\secret-77")) == "[REDACTED]");
    CHECK(s.scrub(std::string(R"({"k":"Mixed\"Case\\Secret-77"})")) == R"({"k":"[REDACTED]"})");
    CHECK(s.scrub(std::string("/api/v1/users/Mixed%22Case%5CSecret-77/groups")) == "/api/v1/users/[REDACTED]/groups");
    // A form holds no more than the secret: other cases of other text stay.
    CHECK(s.scrub(std::string("mixed case secret")) == "mixed case secret");
    std::vector<SecretScrubber::Span> spans;
    s.find("x MIXED\"CASE\\SECRET-77 y", spans);
    REQUIRE(spans.size() == 1);
    CHECK(spans[0].begin == 2);
    CHECK(spans[0].end == 2 + secret.size());
    CHECK(s.holds_secret("..Mixed%22Case%5CSecret-77"));
    CHECK_FALSE(s.holds_secret("Mixed"));
  }
  // The run's registrations, forms included, end with it.
  CHECK(s.empty());
  CHECK(s.scrub(std::string("MIXED\"CASE\\SECRET-77")) == "MIXED\"CASE\\SECRET-77");
  // Still nothing shorter than kMinLength, in any form.
  s.add("a\"b");
  s.add("A");
  CHECK(s.empty());
  s.clear();
}

TEST_CASE("a run's scope registers each secret once, however often it is added") {
  auto& s = SecretScrubber::instance();
  s.clear();
  {
    SecretScrubber::Scope run;
    for (int i = 0; i < 10'000; ++i) run.add("derived-secret-value");
    {
      SecretScrubber::Scope other;  // another run holding the same secret
      other.add("derived-secret-value");
    }
    CHECK(s.scrub(std::string("derived-secret-value")) == "[REDACTED]");
  }
  CHECK(s.empty());
  s.clear();
}

TEST_CASE("the scrubber hides secrets in object keys and in numbers (issue 16)") {
  auto& s = SecretScrubber::instance();
  s.clear();
  SecretScrubber::Scope run;
  run.add("hunter2-key");
  Json v = Json::parse(R"({"hunter2-key": 1, "pre hunter2-key": 2, "plain": {"HUNTER2-KEY": [3]}})");
  Json out = s.scrub(v);
  CHECK(out.dump().find("unter2") == std::string::npos);
  CHECK(out.dump().find("UNTER2") == std::string::npos);
  CHECK(out["plain"].size() == 1);
  CHECK(out.size() == 3);
  CHECK(out.contains("[REDACTED]"));
  CHECK(out.contains("pre [REDACTED]"));
  // Keys that would read alike once scrubbed are told apart, not merged.
  Json twins = s.scrub(Json{{"hunter2-key", 1}, {"HUNTER2-KEY", 2}});
  CHECK(twins.size() == 2);
  CHECK(twins.dump().find("UNTER2") == std::string::npos);
  // A sensitive number: its digits are hidden wherever they show, and so is the number.
  run.add_all(Json{{"pin", 48213377}});
  CHECK(s.scrub(std::string("pin is 48213377.")) == "pin is [REDACTED].");
  Json rec = {{"copy", 48213377}, {"other", 5}, {"neg", -48213377}, {"f", 2.5}};
  Json shown = s.scrub(rec);
  CHECK(shown["copy"] == kRedacted);
  CHECK(shown["neg"] == kRedacted);
  CHECK(shown["other"] == 5);
  CHECK(shown["f"] == 2.5);
  s.clear();
}

TEST_CASE("a record's hidden parts are registered again when its clear copy is opened (a resume)") {
  auto& s = SecretScrubber::instance();
  s.clear();
  {
    SecretScrubber::Scope run;
    // What a record kept (scrubbed in a process that is gone) and the clear copy sealed beside it.
    Json shown = Json::parse(R"({"link": "[REDACTED]", "msg": "pw is [REDACTED]", "ok": "same",
                                 "list": ["[REDACTED]", "x"], "n": "[REDACTED]", "[REDACTED]": 1})");
    Json clear = Json::parse(R"({"link": "https://org.test/tok-AB12cd34", "msg": "pw is HUNTER2\"x",
                                 "ok": "same", "list": ["lower-secret-1", "x"], "n": 90817263, "key-secret-9": 1})");
    run.add_hidden(shown, clear);
    CHECK(s.scrub(std::string("https://org.test/tok-AB12cd34")) == "[REDACTED]");
    CHECK(s.scrub(std::string("pw is HUNTER2\"x")) == "[REDACTED]");
    CHECK(s.scrub(std::string("lower-secret-1")) == "[REDACTED]");
    CHECK(s.scrub(std::string("90817263")) == "[REDACTED]");
    CHECK(s.scrub(std::string("key-secret-9")) == "[REDACTED]");
    CHECK(s.scrub(std::string("same")) == "same");
  }
  CHECK(s.empty());
  s.clear();
}

namespace {
// Same value and same Json types all the way down (Json's == takes 1u and 1 as equal).
bool same_typed(const Json& a, const Json& b) {
  if (a.type() != b.type() || a != b) return false;
  if (a.is_object())
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!same_typed(it.value(), b.at(it.key()))) return false;
  if (a.is_array())
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_typed(a[i], b[i])) return false;
  return true;
}

Json random_json(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth > 4 ? 6 : 8);
  switch (pick(rng)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<std::int64_t>(rng()) >> (rng() % 64);
    case 3: return rng() >> (rng() % 64);
    case 4: return std::ldexp(static_cast<double>(static_cast<std::int64_t>(rng())), static_cast<int>(rng() % 200) - 100);
    case 5:
    case 6: {
      static const std::string alphabet[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
      std::string s;
      for (int n = static_cast<int>(rng() % 12); n > 0; --n) s += alphabet[rng() % std::size(alphabet)];
      return s;
    }
    case 7: {
      Json a = Json::array();
      for (int n = static_cast<int>(rng() % 5); n > 0; --n) a.push_back(random_json(rng, depth + 1));
      return a;
    }
    default: {
      Json o = Json::object();
      for (int n = static_cast<int>(rng() % 5); n > 0; --n) o["k" + std::to_string(rng() % 8)] = random_json(rng, depth + 1);
      return o;
    }
  }
}
}  // namespace

TEST_CASE("parse_json reads what Json::parse reads, with the same types") {
  std::mt19937_64 rng(20261129);
  for (int i = 0; i < 3000; ++i) {
    const Json original = random_json(rng, 0);
    for (const std::string& text : {original.dump(), original.dump(2)}) {
      auto ours = parse_json(text);
      REQUIRE_MESSAGE(ours.ok(), text);
      CHECK_MESSAGE(same_typed(*ours, Json::parse(text)), text);
    }
  }
  for (const char* text : {"-0", "0", "-0.0", "1e2", "1.0", "9223372036854775807", "9223372036854775808",
                           "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
                           "0.1", "123.456e-7", "{\"a\":1,\"a\":2}", "\"\\ud83d\\ude00\"", "\"\\u0000x\"", " [ ] ",
                           "{\"id\":\"00u1\",\"profile\":{\"login\":\"a@example.com\",\"mobilePhone\":null},\"_links\":{}}",
                           "\xEF\xBB\xBF{\"bom\":1}", "0e99999999999", "1e-99999999999", "[1e-400]"}) {
    auto ours = parse_json(text);
    REQUIRE_MESSAGE(ours.ok(), std::string(text));
    CHECK_MESSAGE(same_typed(*ours, Json::parse(text)), std::string(text));
  }
}

TEST_CASE("dump_json writes what Json::dump writes, byte for byte") {
  std::mt19937_64 rng(1130);
  auto dump = [](const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); };
  for (int i = 0; i < 3000; ++i) {
    const Json v = random_json(rng, 0);
    REQUIRE_MESSAGE(dump_json(v) == dump(v), dump(v));
  }
  // Bytes that are not UTF-8, in values and keys, become U+FFFD as with Json::dump's replace.
  const Json odd = {{"a\xff" "b", "x\xc3"}, {"k", Json::array({"\xe2\x82", 1.5, -0.0, 1e300, -7, 18446744073709551615u})}};
  CHECK(dump_json(odd) == dump(odd));
  CHECK(dump_json(Json::binary({1, 2})) == dump(Json::binary({1, 2})));
  CHECK(dump_json(Json::object()) == "{}");
  CHECK(dump_json(Json::array()) == "[]");
}

TEST_CASE("parse_json refuses what Json::parse refuses, and says where") {
  for (const char* text : {"", "[1,]", "{}x", "{\"a\" 1}", "\"\xff\"", "\"\\ud800\"", "1E400", "-1e999", "[1", "nul", "\"a\nb\"",
                           "1e99999999999"}) {
    auto ours = parse_json(text);
    REQUIRE_MESSAGE(!ours.ok(), std::string(text));
    CHECK(ours.error().kind == ErrorKind::validation);
    CHECK_MESSAGE(ours.error().message.rfind("invalid JSON: ", 0) == 0, ours.error().message);
    CHECK_THROWS_AS(Json::parse(text), Json::exception);
  }
  // A NUL byte ends the text for Json::parse, as it does here.
  const std::string nul_ended("{\"a\":1}\0garbage", 15);
  REQUIRE(parse_json(nul_ended).ok());
  CHECK(same_typed(*parse_json(nul_ended), Json::parse(nul_ended)));
  auto cut = parse_json(R"({"a": [1, 2,)");
  REQUIRE_FALSE(cut.ok());
  CHECK_MESSAGE(cut.error().message.find("at byte 12 of 12") != std::string::npos, cut.error().message);
  // Deeply nested input is refused, not recursed into: 128 levels and no more (issue 16).
  CHECK(kMaxJsonDepth == 128);
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  auto too_deep = parse_json(deep);
  REQUIRE_FALSE(too_deep.ok());
  CHECK(too_deep.error().kind == ErrorKind::validation);
  CHECK(too_deep.error().message == "values are nested more than 128 levels deep (at byte 128 of 258)");
  std::string ok_depth(kMaxJsonDepth, '[');
  ok_depth += std::string(kMaxJsonDepth, ']');
  CHECK(parse_json(ok_depth).ok());
  const std::string objects = R"({"a":)" + deep + "}";
  CHECK_FALSE(parse_json(objects).ok());
  // 70,000 levels, in a 140 KB text: refused as quickly.
  std::string very_deep(70'000, '[');
  very_deep += std::string(70'000, ']');
  CHECK_FALSE(parse_json(very_deep).ok());
}

namespace {
// Values shaped by a schema, near its limits and often just past them, so that both verdicts
// come up: a type from the schema or any other, strings around minLength/maxLength (with
// multi-byte characters and NULs), numbers around minimum/maximum, required members left out,
// members the schema does not declare added.
Json value_for(const Json& schema, std::mt19937_64& rng, int depth) {
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  if (!schema.is_object() || depth > 6 || chance(8)) return random_json(rng, depth + 3);
  std::string type = "any";
  if (auto t = schema.find("type"); t != schema.end())
    type = t->is_array() ? (*t)[rng() % t->size()].get<std::string>() : t->get<std::string>();
  if (type == "any") {
    static const char* any[] = {"string", "integer", "number", "object", "array", "boolean", "null"};
    type = any[rng() % 7];
  }
  if (auto e = schema.find("enum"); e != schema.end() && chance(85)) return (*e)[rng() % e->size()];
  auto near = [&](const char* key, double fallback) {
    const double base = schema.value(key, fallback);
    static const double shifts[] = {-1, -0.5, 0, 0, 0.5, 1, 7};
    return base + shifts[rng() % 7];
  };
  if (type == "string") {
    const auto lo = schema.value("minLength", 0), hi = schema.value("maxLength", lo + 6);
    const auto n = std::max<long>(0, static_cast<long>(chance(50) ? lo : hi) + static_cast<long>(rng() % 3) - 1);
    static const char* chars[] = {"a", "b", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "-"};
    std::string out;
    for (long i = 0; i < n; ++i) out += chance(3) ? std::string(1, '\0') : std::string(chars[rng() % 6]);
    return out;
  }
  if (type == "integer") return static_cast<std::int64_t>(std::llround(near(chance(50) ? "minimum" : "maximum", 3)));
  if (type == "number") return near(chance(50) ? "minimum" : "maximum", 2.5);
  if (type == "boolean") return chance(50);
  if (type == "null") return nullptr;
  if (type == "array") {
    Json out = Json::array();
    const long n = std::max<long>(0, schema.value("minItems", 1) + static_cast<long>(rng() % 3) - 1);
    for (long i = 0; i < n; ++i) out.push_back(value_for(schema.value("items", Json::object()), rng, depth + 1));
    if (!out.empty() && chance(20)) out.push_back(out.front());  // for uniqueItems
    return out;
  }
  Json out = Json::object();
  const Json required = schema.value("required", Json::array());
  const Json properties = schema.value("properties", Json::object());
  for (const auto& [name, sub] : properties.items()) {
    const bool needed = std::find(required.begin(), required.end(), name) != required.end();
    if (chance(needed ? 93 : 60)) out[name] = value_for(sub, rng, depth + 1);
  }
  if (chance(15)) out["undeclared_" + std::to_string(rng() % 3)] = value_for(schema.value("additionalProperties", Json::object()), rng, depth + 1);
  return out;
}
}  // namespace

TEST_CASE("the quick schema check never accepts what valijson rejects, on every shipped action schema") {
  std::mt19937_64 rng(1129);
  int schemas = 0, quick = 0, valid = 0, invalid = 0;
  for (const auto& [path, text] : embedded_schemas()) {
    if (path.rfind("actions/", 0) != 0) continue;
    const Json doc = Json::parse(text);
    for (const char* part : {"inputs", "outputs"}) {
      ++schemas;
      auto checker = JsonSchema::compile(doc.at(part));
      if (!checker->has_quick_check()) continue;
      ++quick;
      for (int i = 0; i < 400; ++i) {
        const Json value = value_for(doc.at(part), rng, 0);
        const bool by_valijson = checker->valid_by_valijson(value);
        REQUIRE_MESSAGE(*checker->valid_by_quick_check(value) == by_valijson, path, " ", part, ": ", value.dump());
        (by_valijson ? valid : invalid)++;
        CHECK(checker->validate(value).empty() == by_valijson);
      }
    }
  }
  MESSAGE(quick, " of ", schemas, " action schemas have a quick check; ", valid, " valid and ", invalid, " invalid values");
  CHECK(quick * 10 >= schemas * 8);  // most: the point of having it
  CHECK(valid * 5 > valid + invalid);  // both verdicts are well exercised
  CHECK(invalid * 5 > valid + invalid);
}

TEST_CASE("schemas with keywords the quick check does not mirror are checked by valijson alone") {
  for (const char* text : {R"({"type": "string", "pattern": "^a"})", R"({"anyOf": [{"type": "string"}, {"type": "null"}]})",
                           R"({"enum": [1, 2]})", R"({"type": "array", "items": [{"type": "string"}]})",
                           R"({"dependencies": {"a": {"required": ["b"]}}})",
                           R"({"type": "object", "properties": {"a": {"type": "string", "format": "email"}}})"}) {
    auto checker = JsonSchema::compile(Json::parse(text));
    CHECK_FALSE_MESSAGE(checker->has_quick_check(), text);
  }
  auto pattern = JsonSchema::compile(Json::parse(R"({"type": "string", "pattern": "^a"})"));
  CHECK(pattern->validate("abc").empty());
  CHECK_FALSE(pattern->validate("xbc").empty());
  auto simple = JsonSchema::compile(Json::parse(R"({"type": "object", "required": ["a"], "additionalProperties": false,
                                                  "properties": {"a": {"type": "string", "minLength": 2}}})"));
  REQUIRE(simple->has_quick_check());
  CHECK(simple->validate({{"a", "ab"}}).empty());
  auto issues = simple->validate({{"a", "x"}, {"b", 1}});
  REQUIRE_FALSE(issues.empty());  // valijson explains what the quick check refused
  // Where it is unsure (equal numbers, for uniqueItems), the quick check says invalid and valijson decides.
  auto unique = JsonSchema::compile(Json::parse(R"({"type": "array", "uniqueItems": true})"));
  REQUIRE(unique->has_quick_check());
  for (const char* text : {R"(["a", "b"])", R"(["a", "a"])", R"([1, 2])", R"([1, 1])", R"([])"}) {
    const Json v = Json::parse(text);
    const bool verdict = unique->valid_by_valijson(v);
    CHECK_MESSAGE(verdict == (std::string(text) != R"(["a", "a"])" && std::string(text) != "[1, 1]"), text);
    CHECK_MESSAGE((!*unique->valid_by_quick_check(v) || verdict), text);
    CHECK_MESSAGE(unique->validate(v).empty() == verdict, text);
  }
  CHECK(*unique->valid_by_quick_check(Json::parse(R"(["a", "b"])")));
  CHECK_FALSE(*unique->valid_by_quick_check(Json::parse(R"(["a", "a"])")));
  // valijson's own reading, kept: an unsigned integer above INT64_MAX is compared as a wrapped
  // negative number.
  auto at_least_zero = JsonSchema::compile(Json::parse(R"({"type": "integer", "minimum": 0})"));
  const Json huge = Json::parse("18446744073709551615");
  CHECK(at_least_zero->validate(huge).empty() == at_least_zero->valid_by_valijson(huge));
  CHECK_FALSE(*at_least_zero->valid_by_quick_check(huge));
  CHECK(at_least_zero->validate(Json::parse("7")).empty());
  CHECK_THROWS(JsonSchema::compile(Json::parse(R"({"type": []})")));  // refused before any quick check
}

TEST_CASE("schema patterns run in linear time and bounded stack on long strings (issue 16)") {
  // std::regex recursed once per character and overflowed the stack at 50,000-60,000.
  const std::string letters(60'000, 'a');
  auto name = JsonSchema::compile(Json::parse(R"({"type": "string", "pattern": "^[a-z][a-z0-9_]*$"})"));
  CHECK(name->validate(letters).empty());
  CHECK_FALSE(name->validate(letters + "X").empty());
  auto duration = JsonSchema::compile(embedded_schema_json("actions/core/wait.json").at("inputs"));
  CHECK(duration->validate({{"duration", "1h30m"}}).empty());
  auto issues = duration->validate({{"duration", std::string(60'000, '1') + "x"}});
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].pointer == "/duration");
  CHECK(issues[0].message == "Failed to match regex specified by 'pattern' constraint.");
  // patternProperties and propertyNames meet input too: keys.
  auto keyed = JsonSchema::compile(Json::parse(R"({"type": "object", "additionalProperties": false,
      "patternProperties": {"^[a-z]+$": {"type": "integer"}, "^x": {"minimum": 5}}})"));
  CHECK(keyed->validate({{letters, 1}}).empty());
  CHECK(keyed->validate({{"xyz", 7}}).empty());
  auto wrong = keyed->validate({{"xyz", 3}, {letters, "s"}});
  CHECK(wrong.size() >= 2);
  auto unknown = keyed->validate({{letters + "1", 1}});
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].message.rfind("Object contains a property that could not be validated", 0) == 0);
  auto names = JsonSchema::compile(Json::parse(R"({"type": "object", "propertyNames": {"pattern": "^[a-z]*$"}})"));
  CHECK(names->validate({{letters, 1}}).empty());
  CHECK_FALSE(names->valid_by_valijson({{letters + "1", 1}}));
  // valijson fails propertyNames without a message: the failure is still reported.
  auto unnamed = names->validate({{letters + "1", 1}});
  REQUIRE(unnamed.size() == 1);
  CHECK(unnamed[0].pointer.empty());
}

TEST_CASE("a schema whose pattern RE2 cannot run is refused when it is compiled, naming the pattern") {
  // JSON Schema patterns are ECMAScript; RE2 has no backreferences and no lookaround. Such a
  // pattern is a problem in a shipped schema, found when the schema is compiled, never a
  // check that silently passes.
  for (const char* pattern : {R"((a)\\1)", "(?=a)", "(?!a)b", "(?<=a)b", "[", "a{2000}"}) {
    const std::string schema = std::string(R"({"type": "object", "properties": {"x": {"type": "string", "pattern": ")") +
                               pattern + R"("}}})";
    try {
      JsonSchema::compile(Json::parse(schema));
      FAIL_CHECK("compiled: ", schema);
    } catch (const std::runtime_error& e) {
      const Json as_written = Json::parse(schema)["properties"]["x"]["pattern"];
      CHECK_MESSAGE(std::string(e.what()).find("pattern '" + as_written.get<std::string>() + "'") != std::string::npos,
                    e.what());
    }
  }
  CHECK_THROWS_WITH_AS(JsonSchema::compile(Json::parse(R"j({"patternProperties": {"(?=x)": {}}})j")),
                       doctest::Contains("pattern '(?=x)'"), std::runtime_error);
  // valijson checks these formats with std::regex: refused rather than run on input.
  for (const char* format : {"date", "time", "date-time"}) {
    const Json schema = {{"type", "string"}, {"format", format}};
    CHECK_THROWS_WITH_AS(JsonSchema::compile(schema), doctest::Contains((std::string("format '") + format + "'").c_str()),
                         std::runtime_error);
  }
  // A property or a default that happens to be called `pattern` is not one.
  CHECK_NOTHROW(JsonSchema::compile(Json::parse(
      R"j({"properties": {"pattern": {"type": "string"}, "format": {"enum": ["date"]}}, "default": {"pattern": "(?=x)"}})j")));
}

TEST_CASE("parse_json: a caller may allow deeper values; Json::parse's fallback is held to the limit too") {
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  CHECK_FALSE(parse_json(deep).ok());
  CHECK(parse_json(deep, kMaxJsonDepth + 1).ok());  // the store reads its records back with kMaxRecordDepth
  const std::string very_deep = std::string(70'000, '[') + std::string(70'000, ']');
  auto over = parse_json(very_deep, kMaxRecordDepth);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().message == "values are nested more than 512 levels deep (at byte 512 of 140000)");
  CHECK(over.error().code == kTooDeepCode);
  // A byte-order mark sends the text to Json::parse, which has no depth limit of its own.
  auto bom = parse_json("\xEF\xBB\xBF" + very_deep);
  REQUIRE_FALSE(bom.ok());
  CHECK(bom.error().message == "values are nested more than 128 levels deep");
  CHECK(parse_json("\xEF\xBB\xBF[[1]]").ok());
  // A syntax error is not a depth error.
  auto broken = parse_json("[[1]");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code.empty());
}

TEST_CASE("nested_deeper_than counts levels of arrays and objects") {
  CHECK_FALSE(nested_deeper_than(Json(1), 0));
  CHECK(nested_deeper_than(Json::array(), 0));
  CHECK_FALSE(nested_deeper_than(Json::array(), 1));
  CHECK(nested_deeper_than(Json::parse(R"({"a": [1, {"b": []}]})"), 2));
  CHECK_FALSE(nested_deeper_than(Json::parse(R"({"a": [1, {"b": []}]})"), 4));
  CHECK(nested_deeper_than(Json::parse(R"({"a": [1, {"b": []}]})"), 3));
  Json v = Json::array();
  for (int i = 1; i < 100'000; ++i) v = Json::array({std::move(v)});  // deeper than any stack walk
  CHECK(nested_deeper_than(v));
  CHECK(too_deep_message() == "values are nested more than 128 levels deep");
}

namespace {
// Every `pattern` and `patternProperties` name in a schema document.
void collect_patterns(const Json& schema, std::set<std::string>& out) {
  if (schema.is_array()) {
    for (const Json& s : schema) collect_patterns(s, out);
  } else if (schema.is_object()) {
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      if (it.key() == "pattern" && it.value().is_string()) out.insert(it.value().get<std::string>());
      if (it.key() == "patternProperties" && it.value().is_object())
        for (auto p = it.value().begin(); p != it.value().end(); ++p) out.insert(p.key());
      collect_patterns(it.value(), out);
    }
  }
}

// Texts to try a pattern on: what the project's patterns are about (durations, names, error
// kinds, URLs, scopes, addresses), edge bytes, and random strings over the pattern's own characters.
std::vector<std::string> texts_for(const std::string& pattern, std::mt19937_64& rng) {
  std::vector<std::string> out = {
      "", "a", "abc", "a_b9", "A", "9a", "_a", "a-b", "1h30m", "250ms", "1d2h3m4s5ms", "5 minutes", "30m1h", "1s1s",
      "10s", "ms", "http://x", "https://x.example/p", "HTTP://x", "/path", "//x", "ftp://x", "a@b", "a@b.c",
      "a@b@c.d", "a b@c.d", "a@b.c ", "a@.c", "@b.c", "a@b.", "okta:E0000009", "okta:E", "okta:", "validation",
      "validation2", "core.log", "okta.activate_user", "Core.log", "core.", ".log", "a..b", "okta.users.manage",
      "x\n", "\n", "a\nb", "a\rb", "a\x0b" "b", "a\tb", "a\x0c" "b", " ", "\xc3\xa9", "\xff", std::string("a\0b", 3),
      "[", "]", "\\", "~", "!", "#", "$", "\"", "'"};
  std::string alphabet = "a1_ .@:/-\n\r\t\x0b\xc3\xa9";
  for (char c : pattern)
    if (alphabet.find(c) == std::string::npos) alphabet += c;
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (int n = static_cast<int>(rng() % 14); n > 0; --n) s += alphabet[rng() % alphabet.size()];
    out.push_back(std::move(s));
  }
  return out;
}
}  // namespace

TEST_CASE("RE2 gives std::regex's (ECMAScript) verdicts on the patterns the project uses") {
  // The project rule: a re-implementation is pinned to the library it replaces. Every pattern in
  // the shipped schemas (flow-structure.schema.json, connections.schema.json, every action's schema), the
  // email check of flow inputs, and the constructs RE2 reads differently (., \s, \S).
  std::set<std::string> patterns;
  for (const auto& [path, text] : embedded_schemas()) collect_patterns(Json::parse(text), patterns);
  const std::size_t shipped = patterns.size();
  CHECK(shipped >= 8);
  for (const char* extra : {"a.c", "^.+$", "\\s", "^\\S+$", "[\\s@]", "[^\\s@]+", "\\d{2,3}", "\\w+\\b", "[a-c\\-]",
                            "(?:ab|cd)+?x", "^[\\[\\]]$", "[[]", "x*$", "\\.", "\\x41", "\\/", "[\\b]"})
    patterns.insert(extra);
  std::mt19937_64 rng(16);
  int compared = 0;
  for (const std::string& pattern : patterns) {
    auto ours = Regex::compile(pattern);
    REQUIRE_MESSAGE(ours.ok(), ours.error().message);
    const std::regex reference(pattern, std::regex::ECMAScript);
    for (const std::string& text : texts_for(pattern, rng)) {
      CHECK_MESSAGE(ours->search(text) == std::regex_search(text, reference), "pattern ", pattern, " on ", Json(text).dump());
      CHECK_MESSAGE(ours->full_match(text) == std::regex_match(text, reference), "pattern ", pattern, " on ", Json(text).dump());
      ++compared;
    }
  }
  const std::regex email(std::string(kEmailPattern), std::regex::ECMAScript);
  for (const std::string& text : texts_for(std::string(kEmailPattern), rng)) {
    CHECK_MESSAGE(is_email_address(text) == std::regex_match(text, email), Json(text).dump());
    ++compared;
  }
  MESSAGE(shipped, " shipped patterns and ", patterns.size() - shipped, " others, ", compared, " texts compared");
  // Long texts, where std::regex would have overflowed the stack.
  CHECK(is_email_address(std::string(100'000, 'a') + "@example.com"));
  CHECK_FALSE(is_email_address(std::string(100'000, 'a')));
}

TEST_CASE("Regex refuses what RE2 cannot run, saying so") {
  for (const char* pattern : {"(a)\\1", "(?=a)", "(?!a)", "(?<=a)", "(?<!a)", "[\\S]", "[]", "[^]", "a{1001}", "(", "\\"}) {
    auto r = Regex::compile(pattern);
    REQUIRE_FALSE_MESSAGE(r.ok(), pattern);
    CHECK(r.error().kind == ErrorKind::validation);
    CHECK_MESSAGE(r.error().message.rfind("pattern '" + std::string(pattern) + "' cannot be used: ", 0) == 0,
                  r.error().message);
  }
}

TEST_CASE("did you mean: the closest name, else one the word begins") {
  const std::vector<std::string> actions = {"okta.deactivate_user", "okta.deactivate_event_hook", "okta.get_user"};
  CHECK(closest_match("okta.get_usr", actions) == "okta.get_user");
  CHECK(closest_match("okta.deactivate", actions) == "okta.deactivate_user");  // the shortest it begins
  CHECK(closest_match("wh", {"who", "what"}) == "who");
  CHECK(closest_match("w", {"who"}) == "");  // one letter suggests nothing
  CHECK(closest_match("zzz", actions) == "");
}

TEST_CASE("an enum failure shows the value given") {
  auto schema = JsonSchema::compile(Json::parse(R"({"type": "object", "properties": {"order": {"type": "string", "enum": ["ASC", "DESC"]}}})"));
  auto issues = schema->validate(Json{{"order", "SIDEWAYS"}});
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].pointer == "/order");
  CHECK(issues[0].message.find("(got 'SIDEWAYS')") != std::string::npos);
}
