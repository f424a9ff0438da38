#pragma once
// The editor's flow schema (schemas/flow.schema.json): the hand-written structure of a flow file
// (schemas/flow-structure.schema.json, which the loader checks with) plus, from the action catalog
// (schemas/actions/), the list of action names for `action:` and each action's input schema for the
// `with:` of a step that calls it. Generated at build time; the loader does not use it, since it
// checks `with:` itself with positions and expression types.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace spokeflow::flow {

// Keeps the key order of the hand-written files, so that the generated file reads like them.
using OrderedJson = nlohmann::ordered_json;

// Where a `with:` value may be written, a `${{ }}` expression may stand instead (its result is known
// only when the flow runs): returns `schema` with every constrained value also accepting a string
// that holds an expression (definitions/expression of the flow schema).
OrderedJson accept_expressions(const OrderedJson& schema);

// structure: schemas/flow-structure.schema.json; actions: the action schema files
// ({name, description, inputs, outputs}), in any order.
OrderedJson make_editor_flow_schema(const OrderedJson& structure, std::vector<OrderedJson> actions);

// Reads SCHEMAS_DIR/flow-structure.schema.json and SCHEMAS_DIR/actions/**/*.json and returns the
// text of flow.schema.json (2-space indent, ending in a newline). Throws std::runtime_error naming
// the file that cannot be read or parsed.
std::string editor_flow_schema_text(const std::filesystem::path& schemas_dir);

}  // namespace spokeflow::flow
