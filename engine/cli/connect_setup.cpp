#include "cli/connect_setup.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "connect/cap.hpp"

namespace spokeflow::cli {
namespace fs = std::filesystem;

ConnectSetup ConnectSetup::load(const std::string& given, boost::asio::any_io_executor executor) {
  ConnectSetup s;
  if (!given.empty()) {
    s.path = given;
    s.explicit_path = true;
  } else if (const char* env = std::getenv("SPOKEFLOW_CONNECTIONS"); env && *env) {
    s.path = env;
    s.explicit_path = true;
  } else {
    s.path = connect::default_connections_path();
  }
  std::error_code ec;
  if (!s.explicit_path && !fs::exists(s.path, ec)) {
    s.path.clear();  // no file: flows that use no connection still run
  }

  // The vault needs the master key; without one, {secret: ...} references cannot resolve,
  // which only matters to credentials that use them. A vault that is there but unusable (a
  // refused key file, a corrupt or unreadable vault, a key that does not open it) keeps its
  // reason, which is what such a reference reports (not "no master key" or "secret not found").
  // It is not said here: a reference that needs the vault reports it as its error, and a run
  // that needs none is warned by Shell::start (its sensitive values cannot be sealed); saying
  // it here too printed a warning before the same error.
  auto key = connect::MasterKey::from_environment();
  if (key.ok()) {
    auto vault = connect::Vault::open(connect::Vault::default_path(), *key);
    if (vault.ok()) {
      if (auto opens = vault->check_key(); opens.ok()) s.vault = std::make_shared<connect::Vault>(std::move(*vault));
      else s.vault_problem = opens.error().message;
    } else {
      s.vault_problem = vault.error().message;
    }
  } else if (key.error().code != connect::MasterKey::kNoMasterKey) {
    s.vault_problem = key.error().message;
  }

  if (s.path.empty()) return s;
  Diagnostics diags(s.path);
  auto cfg = connect::load_connections_file(s.path, diags);
  if (!cfg.ok() || !diags.empty()) {
    if (diags.empty()) diags.error({}, cfg.ok() ? std::string("unusable connections file") : cfg.error().message);
    s.problems = std::move(diags);
    return s;
  }
  s.config = std::move(*cfg);
  s.secrets = std::make_shared<connect::SecretResolver>(s.vault, s.config->base_dir, s.vault_problem);
  s.connections = std::make_shared<connect::Connections>(executor, *s.config, s.secrets);
  return s;
}

void ConnectSetup::add_sealer(run::EngineOptions& options) const {
  if (!vault) return;
  std::shared_ptr<connect::Vault> v = vault;
  options.seal = [v](const std::string& aad, const std::string& plain) { return connect::seal(v->key(), aad, plain); };
  options.unseal = unsealer(v->key());
}

run::UnsealFn unsealer(connect::MasterKey key) {
  return [key = std::move(key)](const std::string& aad, const std::string& sealed) -> std::optional<std::string> {
    auto r = connect::unseal(key, aad, sealed);
    if (!r.ok()) return std::nullopt;
    return std::move(*r);
  };
}

bool open_sealed_record(store::ExecutionRecord& rec, std::vector<store::StepRun>& steps, const run::UnsealFn& unseal) {
  bool all = run::open_sealed(rec.inputs, rec.id + "/inputs", unseal);
  all = run::open_sealed(rec.outputs, rec.id + "/outputs", unseal) && all;
  for (auto& s : steps) all = run::open_sealed(s.outputs, rec.id + "/" + s.path, unseal) && all;
  return all;
}

namespace {

struct AliasUse {
  SourcePos pos;
  std::string step;
};

void collect_aliases(const flow::StepList& steps, const std::string& flow_default, std::map<std::string, AliasUse>& out,
                     std::vector<std::pair<SourcePos, std::string>>& missing) {
  for (const auto& step : steps) {
    std::string action = step.kind == flow::Step::Kind::action ? step.action : std::string();
    if (action.empty() && step.kind == flow::Step::Kind::for_each) action = step.items_action;
    if (!action.empty()) {
      std::string alias = step.connection;
      if (alias.empty() && action.rfind("okta.", 0) == 0) alias = flow_default;
      if (alias.empty() && action == "core.http")
        missing.emplace_back(step.pos, "step '" + step.id + "': core.http needs `connection:` (an alias from the connections file)");
      if (!alias.empty()) out.try_emplace(alias, AliasUse{step.pos, step.id});
    }
    for (const auto* list : {&step.steps, &step.else_steps, &step.try_steps, &step.catch_steps, &step.finally_steps})
      collect_aliases(*list, flow_default, out, missing);
    for (const auto& b : step.branches) collect_aliases(b.steps, flow_default, out, missing);
  }
}

std::vector<const connect::SecretRef*> secret_refs(const connect::Credential& c) {
  std::vector<const connect::SecretRef*> refs;
  for (const auto* r : {&c.token, &c.client_secret, &c.private_key, &c.refresh_token, &c.password})
    if (r->has_value()) refs.push_back(&**r);
  return refs;
}

}  // namespace

void check_flow_aliases(const flow::Flow& flow, const ConnectSetup& setup, Diagnostics& diags, Diagnostics& environment,
                        bool require_file, std::vector<std::string>* unchecked) {
  std::map<std::string, AliasUse> used;
  std::vector<std::pair<SourcePos, std::string>> missing;
  collect_aliases(flow.steps, flow.connection, used, missing);
  for (auto& [pos, msg] : missing) diags.error(pos, msg);
  if (used.empty()) return;
  if (!setup.config) {
    const auto& [alias, use] = *used.begin();
    if (!setup.problems.empty()) {
      // One problem without a position (the file cannot be read) is said in the step's own
      // error; several are listed under the file's name, wherever the caller prints them.
      const auto& problems = setup.problems.items();
      if (problems.size() == 1 && problems.front().pos.line == 0) {
        environment.error(use.pos, "step '" + use.step + "' uses alias '" + alias + "': " + problems.front().message);
      } else {
        environment.error(use.pos, "step '" + use.step + "' uses alias '" + alias + "', but the connections file " +
                                       setup.path + " has " + std::to_string(problems.size()) +
                                       (problems.size() == 1 ? " error" : " errors") + ", listed under its own name");
        environment.append(setup.problems);
      }
    } else if (!require_file) {
      if (unchecked)
        for (const auto& [name, _] : used) unchecked->push_back(name);
    } else {
      environment.error(use.pos, "step '" + use.step + "' uses alias '" + alias +
                               "', but no connections file was found (give --connections FILE, set SPOKEFLOW_CONNECTIONS "
                               "or create ./connections.yaml; see examples/connections/)");
    }
    return;
  }
  for (const auto& [alias, use] : used) {
    const connect::Alias* a = setup.config->alias(alias);
    if (!a) {
      std::string known;
      for (const auto& [name, _] : setup.config->aliases) known += (known.empty() ? "" : ", ") + name;
      diags.error(use.pos, "step '" + use.step + "' uses alias '" + alias + "', which " + setup.path +
                               " does not define (it defines: " + (known.empty() ? "none" : known) + ")");
      continue;
    }
    const connect::Connection* c = setup.config->connection_of(*a);
    const connect::Credential* cred = c ? setup.config->credential_of(*c) : nullptr;
    if (!cred) continue;  // the loader already reported it
    for (const connect::SecretRef* ref : secret_refs(*cred)) {
      auto v = setup.secrets->resolve(*ref);
      if (!v.ok()) {
        std::string hint = cred->refresh_token && ref == &*cred->refresh_token ? " (run `spokeflow auth login " + alias + "` to sign in)" : "";
        environment.error(use.pos, "alias '" + alias + "' (credential '" + cred->name + "'): " + v.error().message + hint);
      }
    }
  }
}

namespace {

// The alias of a step that calls a connection ("" when none), as collect_aliases reads it.
std::string alias_of(const flow::Step& step, const std::string& flow_default) {
  std::string action = step.kind == flow::Step::Kind::action ? step.action : std::string();
  if (action.empty() && step.kind == flow::Step::Kind::for_each) action = step.items_action;
  if (action.empty()) return {};
  if (!step.connection.empty()) return step.connection;
  return action.rfind("okta.", 0) == 0 ? flow_default : std::string();
}

template <class Visit>
void each_child_list(const flow::Step& step, Visit&& visit) {
  for (const auto* list : {&step.steps, &step.else_steps, &step.try_steps, &step.catch_steps, &step.finally_steps})
    visit(*list);
  for (const auto& b : step.branches) visit(b.steps);
}

// Every step in `steps` and below that uses an alias, with it, in source order.
void alias_uses(const flow::StepList& steps, const std::string& flow_default,
                std::vector<std::pair<std::string, const flow::Step*>>& out) {
  for (const auto& step : steps) {
    if (auto alias = alias_of(step, flow_default); !alias.empty()) out.emplace_back(std::move(alias), &step);
    each_child_list(step, [&](const flow::StepList& list) { alias_uses(list, flow_default, out); });
  }
}

std::string label(const flow::Step& step) { return step.id.empty() ? step.path_name : step.id; }

void check_loops(const flow::StepList& steps, const std::string& flow_default, const connect::ConnectionsConfig& config,
                 Diagnostics& warnings) {
  for (const auto& step : steps) {
    if (step.kind == flow::Step::Kind::for_each && step.concurrency > 1) {
      // The loop's own list action fetches its pages one after another: only the steps inside
      // run concurrently.
      std::vector<std::pair<std::string, const flow::Step*>> uses;
      alias_uses(step.steps, flow_default, uses);
      std::set<std::string> warned;
      for (const auto& [alias_name, inner] : uses) {
        const connect::Alias* alias = config.alias(alias_name);
        if (!alias || !warned.insert(alias_name).second) continue;  // an unknown alias is check_flow_aliases' error
        const connect::Connection* conn = config.connection_of(*alias);
        const connect::CallCap cap = connect::effective_call_cap(*alias, conn);
        if (step.concurrency <= cap.calls) continue;
        warnings.error(step.pos, "for_each '" + label(step) + "' runs up to " + std::to_string(step.concurrency) +
                                     " iterations at once, but its step '" + label(*inner) + "' uses alias '" +
                                       alias_name + "', which allows " + std::to_string(cap.calls) +
                                       " calls in flight (" + connect::describe(cap, *alias, conn) + "); " +
                                                 connect::raise_hint(cap, *alias, conn));
      }
    }
    each_child_list(step, [&](const flow::StepList& list) { check_loops(list, flow_default, config, warnings); });
  }
}

}  // namespace

void check_flow_concurrency(const flow::Flow& flow, const ConnectSetup& setup, Diagnostics& warnings) {
  if (!setup.config) return;
  check_loops(flow.steps, flow.connection, *setup.config, warnings);
}

std::string format_warnings(const Diagnostics& warnings) {
  static constexpr std::string_view kError = ": error: ";
  std::string out;
  for (const auto& d : warnings.items()) {
    std::string line = d.format();
    line.replace(line.size() - d.message.size() - kError.size(), kError.size(), ": warning: ");
    out += line + "\n";
  }
  return out;
}

}  // namespace spokeflow::cli
