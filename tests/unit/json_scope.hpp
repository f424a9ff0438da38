#pragma once
// An expression scope read from a JSON object of roots: {"inputs": ..., "steps": ...}.
#include <string>
#include <string_view>

#include "expr/expr.hpp"

namespace spokeflow::test {

class JsonScope : public expr::Scope {
 public:
  explicit JsonScope(Json roots) : roots_(std::move(roots)) {}
  const Json* lookup(std::string_view root) const override {
    auto it = roots_.find(std::string(root));
    return it == roots_.end() ? nullptr : &*it;
  }

 private:
  Json roots_;
};

}  // namespace spokeflow::test
