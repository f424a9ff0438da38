#pragma once
// The CLI's side of connections: finds and loads the connections file, opens the vault when a
// master key is at hand, and builds the live Connections on the command's io_context.
#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"
#include "connect/client.hpp"
#include "connect/config.hpp"
#include "connect/secrets.hpp"
#include "connect/vault.hpp"
#include "flow/model.hpp"
#include "run/engine.hpp"

namespace spokeflow::cli {

struct ConnectSetup {
  std::string path;                 // the connections file used ("" when none)
  bool explicit_path = false;       // given with --connections / SPOKEFLOW_CONNECTIONS
  Diagnostics problems;             // why the file could not be used
  std::optional<connect::ConnectionsConfig> config;
  std::shared_ptr<connect::Vault> vault;  // null without a usable master key and vault
  std::string vault_problem;              // why there is none ("" when no key was given at all)
  std::shared_ptr<connect::SecretResolver> secrets;
  std::shared_ptr<connect::Connections> connections;  // null without a usable file

  // `given`: --connections value ("" = $SPOKEFLOW_CONNECTIONS or the default places).
  static ConnectSetup load(const std::string& given, boost::asio::any_io_executor executor);

  bool ok() const { return problems.empty(); }
  // Sealing for the execution store, when a master key is at hand.
  void add_sealer(run::EngineOptions& options) const;
};

// Opens sealed record values with `key` (what run::open_sealed needs).
run::UnsealFn unsealer(connect::MasterKey key);
// Opens in place the sealed copies of an execution's inputs, outputs and step outputs (values
// without one stay as they are); false when one does not open with this key.
bool open_sealed_record(store::ExecutionRecord& rec, std::vector<store::StepRun>& steps, const run::UnsealFn& unseal);

// Every alias the flow's steps use (okta.* default to the flow's `connection`, core.http needs
// one), each with the position of the first step naming it. Checks each exists and that its
// credential's secrets resolve, at the step's file:line:col. Problems of the flow (an alias
// the file does not define, core.http without one) go to `diags`; those of the environment (no
// or a broken connections file, a secret or master key missing) to `environment`.
// Without any connections file, `require_file` false only notes (in `unchecked`) the aliases
// that could not be checked: `validate` on an author's machine checks the flow itself.
void check_flow_aliases(const flow::Flow& flow, const ConnectSetup& setup, Diagnostics& diags,
                        Diagnostics& environment, bool require_file = true,
                        std::vector<std::string>* unchecked = nullptr);

// Warns (in `warnings`, which should hold nothing else) for each for_each whose concurrency is
// greater than the calls-in-flight cap (connect/cap.hpp) of an alias that a step inside it uses,
// nested steps included, at the for_each's file:line:col. Nothing without a connections file.
// Its items are held as errors (Diagnostics has no other kind); shown with format_warnings.
void check_flow_concurrency(const flow::Flow& flow, const ConnectSetup& setup, Diagnostics& warnings);
// "flows/x.yaml:5:5: warning: message" lines.
std::string format_warnings(const Diagnostics& warnings);

}  // namespace spokeflow::cli
