#include "action/action.hpp"

#include <stdexcept>

#include "common/redact.hpp"

namespace spokeflow {

ActionInfo ActionInfo::from_embedded(const std::string& schema_path, bool local) {
  const Json& doc = embedded_schema_json(schema_path);
  ActionInfo info;
  info.name = doc.at("name").get<std::string>();
  info.description = doc.value("description", "");
  info.input_schema = doc.at("inputs");
  info.output_schema = doc.at("outputs");
  info.inputs_checker = JsonSchema::compile(info.input_schema);
  info.outputs_checker = JsonSchema::compile(info.output_schema);
  info.inputs_sensitive = schema_has_sensitive(info.input_schema);
  info.outputs_sensitive = schema_has_sensitive(info.output_schema);
  info.local = local;
  return info;
}

void ActionRegistry::add(std::unique_ptr<Action> action) {
  std::string name = action->info().name;
  auto [it, inserted] = actions_.emplace(name, std::move(action));
  if (!inserted) throw std::logic_error("action registered twice: " + name);
}

const Action* ActionRegistry::find(std::string_view name) const {
  auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : it->second.get();
}

std::vector<const Action*> ActionRegistry::list() const {
  std::vector<const Action*> out;
  out.reserve(actions_.size());
  for (const auto& [_, a] : actions_) out.push_back(a.get());
  return out;
}

}  // namespace spokeflow
