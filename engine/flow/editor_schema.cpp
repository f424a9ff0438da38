// Builds schemas/flow.schema.json from the structure schema and the action catalog (see the header).
#include "flow/editor_schema.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace spokeflow::flow {
namespace {

const char* const kExpressionRef = "#/definitions/expression";

// Keywords that can refuse a string. A schema without them (and whose type allows strings) already
// takes an expression as written.
bool refuses_some_strings(const OrderedJson& s) {
  for (const char* k : {"pattern", "enum", "const", "minLength", "maxLength", "format", "not", "anyOf", "oneOf", "allOf"})
    if (s.contains(k)) return true;
  if (!s.contains("type")) return false;
  const OrderedJson& t = s["type"];
  if (t.is_string()) return t != "string";
  if (t.is_array()) return std::find(t.begin(), t.end(), OrderedJson("string")) == t.end();
  return false;
}

// Annotations stay on the outside of the wrapper, where an editor's hover and completion read them.
bool is_annotation(const std::string& key) {
  return key == "description" || key == "default" || key == "title" || key == "examples";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

OrderedJson parse_file(const std::filesystem::path& path) {
  try {
    return OrderedJson::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

// The first sentence of an action's description, for the completion list.
std::string first_sentence(const std::string& text) {
  const auto end = text.find(". ");
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

// The schema with its sub-schemas (properties, items, ...) accepting expressions; the value itself
// is left as it is.
OrderedJson accept_expressions_inside(const OrderedJson& schema) {
  if (!schema.is_object()) return schema;
  OrderedJson inner = schema;
  if (inner.contains("properties") && inner["properties"].is_object())
    for (auto& [name, sub] : inner["properties"].items()) sub = accept_expressions(sub);
  if (inner.contains("patternProperties") && inner["patternProperties"].is_object())
    for (auto& [name, sub] : inner["patternProperties"].items()) sub = accept_expressions(sub);
  if (inner.contains("additionalProperties") && inner["additionalProperties"].is_object())
    inner["additionalProperties"] = accept_expressions(inner["additionalProperties"]);
  if (inner.contains("items")) {
    if (inner["items"].is_object()) {
      inner["items"] = accept_expressions(inner["items"]);
    } else if (inner["items"].is_array()) {
      for (auto& sub : inner["items"]) sub = accept_expressions(sub);
    }
  }
  if (inner.contains("additionalItems") && inner["additionalItems"].is_object())
    inner["additionalItems"] = accept_expressions(inner["additionalItems"]);
  for (const char* k : {"anyOf", "oneOf", "allOf"})
    if (inner.contains(k) && inner[k].is_array())
      for (auto& sub : inner[k]) sub = accept_expressions(sub);
  return inner;
}

}  // namespace

OrderedJson accept_expressions(const OrderedJson& schema) {
  if (!schema.is_object()) return schema;
  OrderedJson inner = accept_expressions_inside(schema);
  if (!refuses_some_strings(inner)) return inner;

  OrderedJson outer = OrderedJson::object();
  OrderedJson checked = OrderedJson::object();
  for (auto& [key, value] : inner.items()) (is_annotation(key) ? outer : checked)[key] = value;
  outer["anyOf"] = OrderedJson::array({checked, OrderedJson{{"$ref", kExpressionRef}}});
  return outer;
}

OrderedJson make_editor_flow_schema(const OrderedJson& structure, std::vector<OrderedJson> actions) {
  std::sort(actions.begin(), actions.end(),
            [](const OrderedJson& a, const OrderedJson& b) { return a.at("name").get<std::string>() < b.at("name").get<std::string>(); });
  OrderedJson out = structure;
  out["$id"] = "https://spokeflow.dev/schemas/flow.schema.json";
  out["$comment"] =
      "Generated from schemas/flow-structure.schema.json and the action catalog (schemas/actions/) by "
      "engine/flow/editor_schema.cpp; do not edit. Regenerate: cmake --build BUILD_DIR --target update_flow_schema";
  out["definitions"]["expression"] = {
      {"type", "string"},
      {"pattern", "\\$\\{\\{"},
      {"description", "A ${{ }} expression: its value is known when the flow runs, and checked then."}};

  OrderedJson names = OrderedJson::array();
  OrderedJson summaries = OrderedJson::array();
  OrderedJson per_action = OrderedJson::array();
  for (const OrderedJson& a : actions) {
    const std::string name = a.at("name").get<std::string>();
    const std::string description = a.value("description", std::string());
    names.push_back(name);
    summaries.push_back(first_sentence(description));
    // `with:` itself is a mapping (the structure schema says so); its values may be expressions.
    OrderedJson with = accept_expressions_inside(a.at("inputs"));
    with["description"] = "Inputs of " + name + ". " + description;
    OrderedJson then = {{"properties", {{"with", with}}}};
    // An action with required inputs cannot be called without `with:`.
    if (a.at("inputs").contains("required") && !a.at("inputs")["required"].empty()) then["required"] = {"with"};
    // "type": "object" keeps the rule off the expression form of for_each (a string).
    per_action.push_back(
        {{"if", {{"type", "object"}, {"properties", {{"action", {{"const", name}}}}}, {"required", {"action"}}}}, {"then", then}});
  }

  // `action:` takes the catalog's names (described beside each in VS Code's completion list),
  // and the object holding it gets the per-action rules.
  auto name_actions = [&](OrderedJson& holder) {
    OrderedJson& action = holder["properties"]["action"];
    action.erase("pattern");
    action.erase("patternErrorMessage");
    action["enum"] = names;
    action["enumDescriptions"] = summaries;
    holder["allOf"] = per_action;
  };
  OrderedJson& step = out["definitions"]["step"];
  name_actions(step);
  // for_each: {action, with} takes the same names and inputs (the loader checks it as a step's).
  name_actions(step["properties"]["for_each"]);
  return out;
}

std::string editor_flow_schema_text(const std::filesystem::path& schemas_dir) {
  const OrderedJson structure = parse_file(schemas_dir / "flow-structure.schema.json");
  std::vector<OrderedJson> actions;
  const std::filesystem::path actions_dir = schemas_dir / "actions";
  if (!std::filesystem::is_directory(actions_dir)) throw std::runtime_error("no action catalog at " + actions_dir.string());
  for (const auto& entry : std::filesystem::recursive_directory_iterator(actions_dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      OrderedJson a = parse_file(entry.path());
      if (!a.contains("name") || !a["name"].is_string() || !a.contains("inputs"))
        throw std::runtime_error(entry.path().string() + ": an action schema needs name and inputs");
      actions.push_back(std::move(a));
    }
  return make_editor_flow_schema(structure, std::move(actions)).dump(2) + "\n";
}

}  // namespace spokeflow::flow
