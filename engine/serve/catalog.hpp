#pragma once
// The flows a service offers: every flow file of its flows directory, loaded once at start
// (and again on reload), by name; files that do not load are kept with their problems.
#include <map>
#include <string>
#include <vector>

#include "action/action.hpp"
#include "common/diagnostics.hpp"
#include "flow/model.hpp"

namespace spokeflow::serve {

struct CatalogProblem {
  std::string file;
  Diagnostics diagnostics;
};

class FlowCatalog {
 public:
  FlowCatalog(std::string dir, const ActionRegistry& actions);
  // Reads the directory again. False (with problems()) when it cannot be read at all.
  bool load();
  const std::string& dir() const { return dir_; }
  flow::FlowPtr find(const std::string& name) const;
  const std::map<std::string, flow::FlowPtr>& flows() const { return flows_; }
  const std::vector<CatalogProblem>& problems() const { return problems_; }
  bool loaded() const { return loaded_; }

 private:
  std::string dir_;
  const ActionRegistry& actions_;
  std::map<std::string, flow::FlowPtr> flows_;
  std::vector<CatalogProblem> problems_;
  bool loaded_ = false;
};

}  // namespace spokeflow::serve
