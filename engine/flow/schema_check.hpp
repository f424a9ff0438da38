#pragma once
// Private to engine/flow: JSON Schema issues (valijson's) turned into messages an author can act
// on, each placed at the file:line:col of the offending key or value.
#include <set>
#include <string>

#include "common/diagnostics.hpp"
#include "common/json_schema.hpp"
#include "flow/located.hpp"

namespace spokeflow::flow::detail {

struct SchemaCheck {
  enum class Mode {
    flow,           // the flow file against flow-structure.schema.json
    action_inputs,  // a step's `with:` against its action's input schema
  };
  Mode mode = Mode::flow;
  std::string action;                  // action_inputs: the action's name, for messages
  std::string base;                    // pointer of the checked value within the document
  // action_inputs: pointers (relative to `base`) of values that are expressions. Their types are
  // only known at run time, so no issue about them (or about what contains them) is reported.
  std::set<std::string> expressions;
};

// Validates `value` against `schema` and reports every issue in `diags`, positioned through `doc`.
void check_schema(const JsonSchema& schema, const Json& value, const SchemaCheck& check, const LocatedDoc& doc,
                  Diagnostics& diags);

}  // namespace spokeflow::flow::detail
