#pragma once
// An action registry holding every shipped action's schema, for the targets that load flows.
#include <memory>

#include "action/action.hpp"
#include "common/embedded_schemas.hpp"

namespace spokeflow::fuzz {

// Stands in for a shipped action: the loader reads only an action's name and input schema, so
// the targets need neither connections nor an HTTP client.
class SchemaOnlyAction : public Action {
 public:
  explicit SchemaOnlyAction(ActionInfo info) : info_(std::move(info)) {}
  const ActionInfo& info() const override { return info_; }
  boost::asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override { co_return ctx.inputs; }

 private:
  ActionInfo info_;
};

// Every action whose schema is under schemas/actions/, as `validate` and `run` know them.
inline const ActionRegistry& shipped_actions() {
  static const ActionRegistry registry = [] {
    ActionRegistry r;
    for (const auto& [path, text] : embedded_schemas())
      if (path.rfind("actions/", 0) == 0) r.add(std::make_unique<SchemaOnlyAction>(ActionInfo::from_embedded(path)));
    return r;
  }();
  return registry;
}

}  // namespace spokeflow::fuzz
