#pragma once
// An action the flow loader's tests and the fuzz targets stand in for a real one with: the loader
// reads only an action's name and input schema, so neither connections nor an HTTP client are
// needed. Invoking it echoes its inputs.
#include <boost/asio/awaitable.hpp>

#include "action/action.hpp"

namespace spokeflow::test {

class SchemaOnlyAction : public Action {
 public:
  explicit SchemaOnlyAction(ActionInfo info) : info_(std::move(info)) {}
  const ActionInfo& info() const override { return info_; }
  boost::asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override { co_return ctx.inputs; }

 private:
  ActionInfo info_;
};

}  // namespace spokeflow::test
