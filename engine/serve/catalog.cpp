#include "serve/catalog.hpp"

#include "flow/files.hpp"
#include "flow/loader.hpp"

namespace spokeflow::serve {
FlowCatalog::FlowCatalog(std::string dir, const ActionRegistry& actions) : dir_(std::move(dir)), actions_(actions) {}

bool FlowCatalog::load() {
  std::map<std::string, flow::FlowPtr> flows;
  std::vector<CatalogProblem> problems;
  std::error_code ec;
  const std::vector<std::string> files = flow::flow_files_in(dir_, ec);
  if (ec) {
    CatalogProblem p;
    p.file = dir_;
    p.diagnostics = Diagnostics(dir_);
    p.diagnostics.error({}, "cannot read the flows directory: " + ec.message());
    problems_ = {std::move(p)};
    return false;
  }
  for (const auto& f : files) {
    auto r = flow::load_flow_file(f, actions_);
    if (!r.ok()) {
      problems.push_back({f, std::move(r.diagnostics)});
      continue;
    }
    if (flows.count(r.flow->name)) {
      CatalogProblem p;
      p.file = f;
      p.diagnostics = Diagnostics(f);
      p.diagnostics.error(r.flow->pos, "another file of the directory has the name '" + r.flow->name + "' too");
      problems.push_back(std::move(p));
      continue;
    }
    flows[r.flow->name] = r.flow;
  }
  flows_ = std::move(flows);
  problems_ = std::move(problems);
  loaded_ = true;
  return true;
}

flow::FlowPtr FlowCatalog::find(const std::string& name) const {
  auto it = flows_.find(name);
  return it == flows_.end() ? nullptr : it->second;
}

}  // namespace spokeflow::serve
