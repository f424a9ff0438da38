// Sensitivity follows the data through the `${{ }}` evaluator (issue 16): whatever a function or an
// interpolation computes from a registered secret is registered too, so the scrubber hides it
// wherever it is written; booleans and numbers computed from one (comparisons, length) stay
// visible. (Kept apart from expr_eval_test.cpp, whose scope holds no secrets.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <variant>

#include "common/scrub.hpp"
#include "expr/expr.hpp"

using spokeflow::Json;
using spokeflow::SecretScrubber;
using namespace spokeflow::expr;

namespace {

const std::string kSecret = "Mixed\"Case\\Secret-77";

// Roots from a Json object; sensitivity through the process's scrubber, as the engine's frames do.
class SecretScope : public Scope {
 public:
  explicit SecretScope(Json roots, bool track = true) : roots_(std::move(roots)), track_(track) {}
  const Json* lookup(std::string_view root) const override {
    auto it = roots_.find(std::string(root));
    return it == roots_.end() ? nullptr : &*it;
  }
  bool tracks_sensitive() const override { return track_ && !SecretScrubber::instance().empty(); }
  void find_sensitive(std::string_view text, std::vector<Span>& out) const override {
    std::vector<SecretScrubber::Span> found;
    SecretScrubber::instance().find(text, found);
    for (const auto& f : found) out.push_back({f.begin, f.end});
  }
  void derived_sensitive(std::string_view secret) const override {
    ++derived;
    secrets.add(secret);
  }
  mutable SecretScrubber::Scope secrets;
  mutable int derived = 0;

 private:
  Json roots_;
  bool track_;
};

Json roots() {
  Json inputs = {{"pw", kSecret},
                 {"creds", R"({"user":"svc-robot","password":"pa55-w0rd!","pin":4455667788,"on":true})"},
                 {"pin", 48213377},
                 {"name", "Ada Lovelace"}};
  return Json{{"inputs", inputs}};
}

// A scope with the secrets registered as the engine registers sensitive inputs.
struct Fixture {
  SecretScope scope{roots()};
  Fixture() {
    SecretScrubber::instance().clear();
    scope.secrets.add(kSecret);
    scope.secrets.add_all(roots()["inputs"]["creds"]);
    scope.secrets.add_all(roots()["inputs"]["pin"]);
  }
  ~Fixture() { SecretScrubber::instance().clear(); }

  Json eval(std::string_view text) const {
    auto parsed = Template::parse(text);
    REQUIRE(std::holds_alternative<Template>(parsed));
    auto r = std::get<Template>(parsed).evaluate(scope);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    return *r;
  }
  // What a record would show of the value.
  std::string shown(std::string_view text) const { return SecretScrubber::instance().scrub(eval(text)).dump(); }
};

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// No piece of any of the secrets, in any case (also as JSON text shows them: the dump escapes).
void check_hidden(const std::string& shown, std::string_view expression) {
  INFO(expression, " shows ", shown);
  CHECK(shown.find("[REDACTED]") != std::string::npos);
  const std::string l = lower_ascii(shown);
  for (const char* piece : {"secret-77", "mixed", "pa55", "svc-robot", "4455667788", "48213377"})
    CHECK(l.find(piece) == std::string::npos);
}

}  // namespace

TEST_CASE("every function and interpolation that copies or transforms a secret gives a sensitive value") {
  Fixture fx;
  for (const char* e : {
           "${{ inputs.pw }}",
           "${{ upper(inputs.pw) }}",
           "${{ lower(inputs.pw) }}",
           "${{ toJSON(inputs.pw) }}",
           "${{ toJSON(toJSON(inputs.pw)) }}",
           "${{ toJSON(toJSON(toJSON(upper(inputs.pw)))) }}",
           "${{ lower(toJSON(toJSON(inputs.pw))) }}",
           "${{ fromJSON(toJSON(inputs.pw)) }}",
           "${{ fromJSON(toJSON(toJSON(lower(inputs.pw)))) }}",
           "${{ fromJSON(format('{{\"k\":{0}}}', toJSON(upper(inputs.pw)))) }}",
           "${{ fromJSON(format('{{{0}:1}}', toJSON(upper(inputs.pw)))) }}",
           "${{ toJSON(fromJSON(format('[{0}]', toJSON(lower(inputs.pw))))) }}",
           "${{ format('{0}/{1}', upper(inputs.pw), fromJSON(format('[{0}]', toJSON(inputs.pw)))) }}",
           "${{ join(fromJSON(format('[{0},{1}]', toJSON(lower(inputs.pw)), toJSON(upper(inputs.pw)))), ' ') }}",
           "${{ join(fromJSON(format('[[{0}]]', toJSON(toJSON(inputs.pw))))) }}",
           "${{ coalesce(null, upper(inputs.pw)) }}",
           "${{ inputs.nothing || lower(inputs.pw) }}",
           "${{ (inputs.name && upper(inputs.pw)) }}",
           "text ${{ upper(inputs.pw) }} and ${{ fromJSON(format('{{\"k\":[{0}]}}', toJSON(inputs.pw))) }}",
           "${{ fromJSON(inputs.creds) }}",
           "${{ fromJSON(inputs.creds).password }}",
           "${{ upper(fromJSON(inputs.creds).user) }}",
           "${{ fromJSON(inputs.creds)['pin'] }}",
           "${{ toJSON(fromJSON(inputs.creds)) }}",
           "${{ inputs.pin }}",
           "${{ inputs.pin + 1 }}",
           "${{ inputs.pin * 3 - 2 }}",
           "${{ -inputs.pin }}",
           "pin ${{ inputs.pin / 7 }}",
           "${{ toJSON(inputs.pin % 1000000 + 10000000) }}",
       })
    check_hidden(fx.shown(e), e);
}

TEST_CASE("only the secret's part of a computed text is hidden") {
  Fixture fx;
  CHECK(fx.eval("a ${{ upper(inputs.pw) }} b") == "a MIXED\"CASE\\SECRET-77 b");  // the flow sees the value
  CHECK(fx.shown("a ${{ upper(inputs.pw) }} b") == R"("a [REDACTED] b")");
  CHECK(fx.shown("${{ format('<{0}>', lower(inputs.pw)) }}") == R"("<[REDACTED]>")");
  CHECK(fx.shown("${{ toJSON(toJSON(inputs.pw)) }}") == R"("\"\\\"[REDACTED]\\\"\"")");
  CHECK(fx.shown("${{ fromJSON(inputs.creds).user }}") == R"("[REDACTED]")");
  // Numbers computed from a sensitive number, as they are and as text.
  CHECK(fx.eval("${{ inputs.pin * 3 - 2 }}") == 144640129);
  CHECK(fx.shown("${{ inputs.pin * 3 - 2 }}") == R"("[REDACTED]")");
  CHECK(fx.shown("pin ${{ inputs.pin / 7 }}!") == R"("pin [REDACTED]!")");
  // The names in a sensitive JSON text are its structure, not its secrets.
  CHECK(SecretScrubber::instance().scrub(std::string("password user pin")) == "password user pin");
}

TEST_CASE("booleans and numbers computed from a secret stay visible, and register nothing") {
  Fixture fx;
  const std::size_t before = SecretScrubber::instance().size();
  CHECK(fx.eval("${{ startsWith(inputs.pw, 'Mixed') }}") == true);
  CHECK(fx.eval("${{ endsWith(inputs.pw, '78') }}") == false);
  CHECK(fx.eval("${{ contains(inputs.pw, 'Case') }}") == true);
  CHECK(fx.eval("${{ inputs.pw == 'guess' }}") == false);
  CHECK(fx.eval("${{ inputs.pw < 'N' }}") == true);
  CHECK(fx.eval("${{ length(inputs.pw) }}") == 20);
  CHECK(fx.eval("${{ !inputs.pw }}") == false);
  CHECK(fx.shown("${{ length(inputs.pw) }}") == "20");
  CHECK(fx.scope.derived == 0);
  CHECK(SecretScrubber::instance().size() == before);
}

TEST_CASE("values from no secret register nothing; a scope that does not track changes no value") {
  Fixture fx;
  const std::size_t before = SecretScrubber::instance().size();
  CHECK(fx.eval("${{ upper(inputs.name) }}") == "ADA LOVELACE");
  CHECK(fx.eval("${{ toJSON(toJSON(inputs.name)) }}") == R"("\"Ada Lovelace\"")");
  CHECK(fx.eval("${{ fromJSON('{\"a\":[\"bcdef\",12345]}').a }}") == Json::parse(R"(["bcdef",12345])"));
  CHECK(fx.eval("${{ 1234567 + 1 }}") == 1234568);
  CHECK(fx.scope.derived == 0);
  CHECK(SecretScrubber::instance().size() == before);

  SecretScope plain(roots(), false);
  auto t = std::get<Template>(Template::parse("${{ upper(inputs.pw) }}"));
  CHECK(*t.evaluate(plain) == "MIXED\"CASE\\SECRET-77");
  CHECK(plain.derived == 0);
}
