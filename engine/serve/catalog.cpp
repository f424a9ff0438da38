#include "serve/catalog.hpp"

#include <algorithm>
#include <filesystem>

#include "flow/loader.hpp"

namespace spokeflow::serve {
namespace fs = std::filesystem;

FlowCatalog::FlowCatalog(std::string dir, const ActionRegistry& actions) : dir_(std::move(dir)), actions_(actions) {}

bool FlowCatalog::load() {
  std::map<std::string, flow::FlowPtr> flows;
  std::vector<CatalogProblem> problems;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    if (entry.is_regular_file() && (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml"))
      files.push_back(entry.path());
  if (ec) {
    CatalogProblem p;
    p.file = dir_;
    p.diagnostics = Diagnostics(dir_);
    p.diagnostics.error({}, "cannot read the flows directory: " + ec.message());
    problems_ = {std::move(p)};
    return false;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto r = flow::load_flow_file(f.string(), actions_);
    if (!r.ok()) {
      problems.push_back({f.string(), std::move(r.diagnostics)});
      continue;
    }
    if (flows.count(r.flow->name)) {
      CatalogProblem p;
      p.file = f.string();
      p.diagnostics = Diagnostics(f.string());
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
