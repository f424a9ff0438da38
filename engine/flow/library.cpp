// FlowLibrary: flows found by name in a folder (file name or `name:`), cached, and the checks
// across flows (subflow calls: cycles, the callee's inputs).
#include "flow/loader.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <system_error>

#include "common/duration.hpp"
#include "common/json_schema.hpp"
#include "common/utf8.hpp"
#include "flow/located.hpp"
#include "flow/schema_check.hpp"
#include "flow/loader_builder.hpp"

namespace spokeflow::flow {

using building::matches_type;
using namespace detail;

namespace {
// The `name:` of a flow file, read cheaply (no checks), or "".
std::string peek_name(const std::filesystem::path& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxFlowFileBytes) return "";
  std::ifstream in(file, std::ios::binary);
  std::string line;
  // Only a top-level `name:` line counts: no indentation.
  while (std::getline(in, line)) {
    if (line.rfind("name:", 0) != 0) continue;
    std::string value = line.substr(5);
    if (auto hash = value.find(" #"); hash != std::string::npos) value.resize(hash);
    auto b = value.find_first_not_of(" \t\r");
    auto e = value.find_last_not_of(" \t\r");
    if (b == std::string::npos) return "";
    value = value.substr(b, e - b + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return "";
}
}  // namespace


// ---------------------------------------------------------------------------------------------
// FlowLibrary

FlowLibrary::FlowLibrary(std::string dir, const ActionRegistry& actions) : dir_(std::move(dir)), actions_(actions) {}
LoadResult FlowLibrary::load(const std::string& name) {
  if (auto it = cache_.find(name); it != cache_.end()) {
    LoadResult cached;
    cached.flow = it->second;
    cached.diagnostics = Diagnostics(it->second->source_file);
    return cached;
  }
  namespace fs = std::filesystem;
  std::vector<std::string> tried;
  std::optional<LoadResult> mismatch;
  auto accept = [&](LoadResult r) {
    if (r.ok()) cache_[name] = r.flow;
    return r;
  };
  for (const char* ext : {".yaml", ".yml"}) {
    fs::path p = fs::path(dir_) / (name + ext);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) continue;
    tried.push_back(p.string());
    LoadResult r = load_flow_file(p.string(), actions_);
    if (!r.ok()) {
      // A broken file under the flow's own name: most likely the flow itself.
      if (peek_name(p) == name || peek_name(p).empty()) return r;
      continue;
    }
    if (r.flow->name == name) return accept(std::move(r));
    if (!mismatch) {
      mismatch.emplace();
      mismatch->diagnostics = Diagnostics(p.string());
      mismatch->diagnostics.error({}, "this file holds flow '" + r.flow->name + "', not '" + name +
                                          "' (a flow file is best named after its flow)");
    }
  }
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code fec;
    if (!fs::is_regular_file(p, fec)) continue;
    if (p.extension() != ".yaml" && p.extension() != ".yml") continue;
    files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    if (std::find(tried.begin(), tried.end(), p.string()) != tried.end()) continue;
    if (peek_name(p) != name) continue;
    LoadResult r = load_flow_file(p.string(), actions_);
    if (!r.ok() || r.flow->name == name) return accept(std::move(r));
  }
  if (mismatch) return std::move(*mismatch);
  LoadResult missing;
  missing.diagnostics = Diagnostics(dir_);
  missing.diagnostics.error({}, "no flow named '" + name + "' (looked for " + name + ".yaml and " + name +
                                    ".yml, and at the name: of every .yaml/.yml file in " + dir_ + ")");
  return missing;
}

namespace {
void subflow_steps(const StepList& steps, std::vector<const Step*>& out) {
  for (const auto& step : steps) {
    if (step.kind == Step::Kind::subflow) out.push_back(&step);
    subflow_steps(step.steps, out);
    subflow_steps(step.else_steps, out);
    subflow_steps(step.try_steps, out);
    subflow_steps(step.catch_steps, out);
    subflow_steps(step.finally_steps, out);
    for (const auto& b : step.branches) subflow_steps(b.steps, out);
  }
}

// `with:` of a flow step against the subflow's declared inputs.
void check_subflow_inputs(const Flow& caller, const Step& step, const Flow& callee, Diagnostics& diags) {
  std::vector<std::string> names;
  for (const auto& in : callee.inputs) names.push_back(in.name);
  std::set<std::string> given;
  const auto& root = step.with.root();
  if (root.kind == ValueTemplate::Node::Kind::object) {
    for (const auto& [key, node] : root.members) {
      given.insert(key);
      const InputDecl* decl = nullptr;
      for (const auto& in : callee.inputs)
        if (in.name == key) decl = &in;
      if (!decl) {
        diags.add({caller.source_file, node.pos,
                   "flow '" + callee.name + "' has no input '" + key + "'" +
                       (names.empty() ? std::string(" (it takes no inputs)") : " (inputs: " + join(names) + ")") +
                       did_you_mean(key, names)});
        continue;
      }
      if (node.kind == ValueTemplate::Node::Kind::expression || decl->type.empty()) continue;
      Json value;
      ValueTemplate constant(node);
      if (!constant.is_constant()) continue;
      value = constant.constant_value();
      if (!matches_type(value, decl->type))
        diags.add({caller.source_file, node.pos,
                   "input '" + key + "' of flow '" + callee.name + "' should be " + describe_type(decl->type) +
                       ", not " + describe_value(value)});
      else if (!decl->enum_values.empty() &&
               std::find(decl->enum_values.begin(), decl->enum_values.end(), value) == decl->enum_values.end())
        diags.add({caller.source_file, node.pos,
                   "input '" + key + "' of flow '" + callee.name + "' must be one of its enum values (got " +
                       short_value(value) + ")"});
    }
  }
  for (const auto& in : callee.inputs)
    if (in.required && !in.default_value && !given.count(in.name))
      diags.add({caller.source_file, step.pos, "flow '" + callee.name + "' needs input '" + in.name + "'"});
}
}  // namespace

void FlowLibrary::check_subflows(const Flow& flow, Diagnostics& diagnostics) {
  std::set<std::string> done;  // flows whose calls were checked
  std::vector<std::string> stack;
  std::function<void(const Flow&)> visit = [&](const Flow& f) {
    if (stack.size() > 64) return;
    stack.push_back(f.name);
    done.insert(f.name);
    std::vector<const Step*> calls;
    subflow_steps(f.steps, calls);
    for (const Step* step : calls) {
      const std::string& callee = step->flow_name;
      if (callee.empty()) continue;
      if (auto at = std::find(stack.begin(), stack.end(), callee); at != stack.end()) {
        std::string cycle;
        for (auto it = at; it != stack.end(); ++it) cycle += *it + " -> ";
        cycle += callee;
        diagnostics.add({f.source_file, step->pos, "subflow cycle: " + cycle});
        continue;
      }
      LoadResult r = load(callee);
      if (!r.ok()) {
        bool missing = !r.diagnostics.empty() && r.diagnostics.items().front().file == dir_;
        if (missing) {
          diagnostics.add({f.source_file, step->pos, r.diagnostics.items().front().message});
        } else {
          diagnostics.add({f.source_file, step->pos,
                           "subflow '" + callee + "' has errors (in " +
                               (r.diagnostics.empty() ? dir_ : r.diagnostics.items().front().file) + ")"});
          diagnostics.append(r.diagnostics);
        }
        continue;
      }
      check_subflow_inputs(f, *step, *r.flow, diagnostics);
      if (!done.count(callee)) visit(*r.flow);
    }
    stack.pop_back();
  };
  visit(flow);
  diagnostics.sort_unique();
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace spokeflow::flow

