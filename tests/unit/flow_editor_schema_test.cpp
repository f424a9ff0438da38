// schemas/flow.schema.json, the schema editors complete and check flows with (issue 21): it is the one
// the action catalog gives today, it knows every action and its inputs, every flow the loader accepts
// passes it, and the mistakes an author makes in `action:` and `with:` fail it.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "action/action.hpp"
#include "core/core.hpp"
#include "okta/okta.hpp"
#include "common/json_schema.hpp"
#include "flow/editor_schema.hpp"
#include "flow/loader.hpp"
#include "flow/located.hpp"

using namespace spokeflow;
namespace fs = std::filesystem;

namespace {

const fs::path& source_dir() {
  static const fs::path dir = fs::weakly_canonical(fs::path(SPOKEFLOW_TEST_DIR) / ".." / "..");
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every action `validate` and `run` know: the catalog as the CLI registers it.
const ActionRegistry& catalog() {
  static const ActionRegistry registry = [] {
    ActionRegistry r;
    actions::register_core_actions(r);
    actions::register_http_action(r, nullptr);
    okta::register_actions(r, nullptr);
    return r;
  }();
  return registry;
}

const Json& committed_schema_json() {
  static const Json doc = Json::parse(read_text(source_dir() / "schemas" / "flow.schema.json"));
  return doc;
}

const JsonSchema& committed_schema() {
  static const std::shared_ptr<const JsonSchema> schema = JsonSchema::compile(committed_schema_json());
  return *schema;
}

// A flow file as the loader reads it (YAML -> JSON), to be checked as an editor would.
Json flow_json(const std::string& text) {
  flow::detail::SourceMap map(text);
  flow::detail::LocatedDoc doc;
  Diagnostics diags;
  REQUIRE_MESSAGE(flow::detail::parse_yaml(text, map, doc, diags), text);
  return doc.root;
}

std::string issues_text(const std::vector<SchemaIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += "\n  " + (i.pointer.empty() ? "/" : i.pointer) + ": " + i.message;
  return out;
}

bool any_issue_under(const std::vector<SchemaIssue>& issues, const std::string& pointer) {
  for (const auto& i : issues)
    if (i.pointer.rfind(pointer, 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("schemas/flow.schema.json is the one the action catalog gives (regenerate it when this fails)") {
  const std::string generated = flow::editor_flow_schema_text(source_dir() / "schemas");
  const std::string committed = read_text(source_dir() / "schemas" / "flow.schema.json");
  // Compared as a flag, with the first differing line, rather than printing 200 KB twice.
  const bool same = generated == committed;
  std::size_t line = 1;
  for (std::size_t i = 0; i < std::min(generated.size(), committed.size()) && generated[i] == committed[i]; ++i)
    if (generated[i] == '\n') ++line;
  CHECK_MESSAGE(same, "first difference on line ", line, ": ",
                "schemas/flow.schema.json is stale (an action schema or schemas/flow-structure.schema.json changed): "
                "regenerate it with `cmake --build BUILD_DIR --target update_flow_schema` and commit it");
}

TEST_CASE("flow.schema.json lists every action of the catalog and checks each one's with: by its input schema") {
  const Json& schema = committed_schema_json();
  const Json& step = schema.at("definitions").at("step");
  std::vector<std::string> names;
  for (const Action* a : catalog().list()) names.push_back(a->info().name);
  REQUIRE(names.size() >= 57);
  CHECK(step.at("properties").at("action").at("enum").get<std::vector<std::string>>() == names);
  CHECK(step.at("properties").at("action").at("enumDescriptions").size() == names.size());

  std::set<std::string> checked;
  for (const Json& rule : step.at("allOf")) {
    const std::string name = rule.at("if").at("properties").at("action").at("const").get<std::string>();
    const Action* action = catalog().find(name);
    REQUIRE_MESSAGE(action != nullptr, name);
    const Json& inputs = action->info().input_schema;
    const Json& with = rule.at("then").at("properties").at("with");
    INFO(name);
    // The same inputs, the same required ones, and closed where the action's schema is closed.
    std::set<std::string> want, got;
    const Json want_properties = inputs.value("properties", Json::object());
    const Json got_properties = with.value("properties", Json::object());
    for (const auto& [k, v] : want_properties.items()) want.insert(k);
    for (const auto& [k, v] : got_properties.items()) got.insert(k);
    CHECK(got == want);
    CHECK(with.value("required", Json::array()) == inputs.value("required", Json::array()));
    CHECK(with.value("additionalProperties", Json(true)) == inputs.value("additionalProperties", Json(true)));
    const bool needs_with = !inputs.value("required", Json::array()).empty();
    CHECK(rule.at("then").contains("required") == needs_with);
    checked.insert(name);
  }
  CHECK(checked.size() == names.size());
}

TEST_CASE("every shipped flow, example and good test flow the loader accepts passes flow.schema.json") {
  // A flow the engine accepts must never show an error in the editor. Files the loader refuses
  // (broken on purpose, test-only actions, not flows at all) are outside this check.
  int accepted = 0, shipped = 0;
  for (const char* dir : {"flows", "examples", "tests/unit/flows", "tests/integration/flows",
                          "tests/integration/metrics_flows", "tests/integration/serve_flows"}) {
    for (const auto& entry : fs::recursive_directory_iterator(source_dir() / dir)) {
      const fs::path& path = entry.path();
      if (!entry.is_regular_file() || (path.extension() != ".yaml" && path.extension() != ".yml")) continue;
      const auto loaded = flow::load_flow_file(path.string(), catalog());
      const bool in_flows = std::string(dir) == "flows";
      if (in_flows) {
        ++shipped;
        CHECK_MESSAGE(loaded.ok(), path.string(), " is a shipped flow the loader refuses");
      }
      if (!loaded.ok()) continue;
      ++accepted;
      const auto issues = committed_schema().validate(flow_json(read_text(path)));
      CHECK_MESSAGE(issues.empty(), fs::relative(path, source_dir()).string(), issues_text(issues));
    }
  }
  CHECK(shipped >= 10);
  CHECK(accepted >= 30);
  MESSAGE(accepted, " flows the loader accepts were checked");
}

namespace {
// A flow that is right, and the variants of it an author gets wrong.
const char* const kGoodFlow = R"(name: editor_check
inputs:
  n: { type: integer, default: 3 }
  mode: { type: string, default: succeed }
  who: { type: string, default: someone@example.com }
steps:
  - id: users
    action: okta.list_users
    with: { max_items: "${{ inputs.n }}", page_size: 5 }
  - for_each: { action: okta.list_users, with: { max_items: "${{ inputs.n }}" } }
    as: user
    steps:
      - action: core.log
        with: { message: "${{ user.id }}" }
  - try:
      - id: off
        action: okta.deactivate_user
        with: { user_id: "${{ inputs.who }}", send_email: true, if_already: "${{ inputs.mode }}" }
    catch:
      - action: core.log
        with: { message: "not deactivated: ${{ error.message }}", level: warn }
)";

std::string variant(const std::string& from, const std::string& to) {
  std::string text = kGoodFlow;
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  text.replace(at, from.size(), to);
  return text;
}
}  // namespace

TEST_CASE("flow.schema.json accepts expressions where with: values are typed, as the loader does") {
  const auto loaded = flow::load_flow_text(kGoodFlow, "good.yaml", catalog());
  REQUIRE_MESSAGE(loaded.ok(), loaded.diagnostics.size(), " diagnostics");
  const auto issues = committed_schema().validate(flow_json(kGoodFlow));
  CHECK_MESSAGE(issues.empty(), issues_text(issues));
}

TEST_CASE("flow.schema.json refuses the action and with: mistakes the loader refuses") {
  struct Case {
    const char* what;
    std::string text;
    const char* pointer;  // where the editor shows the error
  };
  const std::vector<Case> cases = {
      {"unknown action name", variant("action: okta.deactivate_user", "action: okta.deactivate"), "/steps/2/try/0"},
      {"wrong with: field type", variant("send_email: true", "send_email: yes please"), "/steps/2/try/0/with/send_email"},
      {"integer field given text", variant("page_size: 5", "page_size: five"), "/steps/0/with/page_size"},
      {"value outside an enum", variant("if_already: \"${{ inputs.mode }}\"", "if_already: maybe"),
       "/steps/2/try/0/with/if_already"},
      {"missing required with: input", variant("user_id: \"${{ inputs.who }}\", ", ""), "/steps/2/try/0/with"},
      {"unknown with: field of a closed schema", variant("send_email: true", "sendEmail: true"), "/steps/2/try/0/with"},
      {"unknown for_each action", variant("action: okta.list_users, with", "action: okta.list_user, with"), "/steps/1/for_each"},
      {"wrong for_each with: field type", variant("with: { max_items: \"${{ inputs.n }}\" } }", "with: { max_items: many } }"),
       "/steps/1/for_each/with/max_items"},
      {"no with: for an action with required inputs",
       variant("      - action: core.log\n        with: { message: \"not deactivated: ${{ error.message }}\", level: warn }\n",
               "      - action: core.log\n"),
       "/steps/2/catch/0"},
  };
  for (const Case& c : cases) {
    const std::string what = c.what;
    INFO(what);
    const auto loaded = flow::load_flow_text(c.text, "bad.yaml", catalog());
    CHECK_FALSE(loaded.ok());  // the engine refuses it too: the editor shows nothing the engine accepts
    const auto issues = committed_schema().validate(flow_json(c.text));
    CHECK_FALSE(issues.empty());
    CHECK_MESSAGE(any_issue_under(issues, c.pointer), "expected an issue under ", c.pointer, issues_text(issues));
  }
}

TEST_CASE("accept_expressions: a constrained value also takes an expression, an unconstrained string is kept") {
  using flow::OrderedJson;
  const OrderedJson number = {{"type", "integer"}, {"minimum", 1}, {"description", "how many"}};
  const OrderedJson wrapped = flow::accept_expressions(number);
  CHECK(wrapped.at("description") == "how many");
  REQUIRE(wrapped.at("anyOf").size() == 2);
  CHECK(wrapped.at("anyOf")[0] == OrderedJson({{"type", "integer"}, {"minimum", 1}}));
  CHECK(wrapped.at("anyOf")[1] == OrderedJson({{"$ref", "#/definitions/expression"}}));
  const OrderedJson text = {{"type", "string"}, {"description", "any text"}};
  CHECK(flow::accept_expressions(text) == text);
  // Inside arrays and maps too.
  const OrderedJson list = {{"type", "array"}, {"items", {{"type", "integer"}}}};
  CHECK(flow::accept_expressions(list).at("anyOf")[0].at("items").contains("anyOf"));
}
