#pragma once
// What the CLI's commands share: global options, exit codes, the store, the wired runtime, the
// event loop with its signals, and how results are printed.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "action/action.hpp"
#include "cli/connect_setup.hpp"
#include "cli/step_output.hpp"
#include "common/diagnostics.hpp"
#include "run/engine.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace spokeflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitInvalid = 2;
inline constexpr int kExitEnvironment = 3;
// The execution was stopped without an end (SIGTERM): it stays queued for a worker or
// `spokeflow resume` (sysexits' EX_TEMPFAIL).
inline constexpr int kExitReleased = 75;

using ExtraActions = std::function<void(ActionRegistry&)>;

struct GlobalOptions {
  std::string store_path;
  std::string connections_path;  // "" = $SPOKEFLOW_CONNECTIONS or the default places
  std::string log_format = "text";
  std::string log_level = "warn";
  // Migrate a store of an older schema when opening it (`serve`/`worker --migrate`); other
  // commands refuse such a store, naming `spokeflow store migrate`.
  bool migrate = false;
};

// How a command runs executions, from its flags and the environment.
struct QueueOptions {
  std::string flows_dir;          // "" = $SPOKEFLOW_FLOWS_DIR or ./flows
  int concurrency = 16;
  std::string lease = "30s";
  std::string park_after = "5s";  // "" = never park (waits stay in the process)
  std::string drain_grace = "30s";
  int max_strikes = 3;
  bool exit_when_idle = false;    // `resume`: stop once nothing is runnable
  std::function<void(const run::StepEvent&)> on_step;  // told of each journaled step (serve's metrics)
};

std::string default_store_path();
// --store, or the default store path when not given (a path or a postgresql:// URL).
std::string store_location(const GlobalOptions& g);
std::string flows_dir_or_default(const std::string& given);
// The store, or null after saying on stderr why it cannot be opened.
std::unique_ptr<store::ExecutionStore> open_store_or_report(const GlobalOptions& g);

// Everything a command that runs flows needs, wired once. Declared in the order they must be
// built; destroyed in reverse, so the io_context outlives every timer and socket.
struct Shell {
  boost::asio::io_context io{1};
  ConnectSetup connect;
  ActionRegistry actions;
  std::unique_ptr<StepPrinter> printer;  // null when steps are not printed
  std::unique_ptr<runtime::Runtime> runtime;

  Shell(const GlobalOptions& g, const ExtraActions& extra);
  // Opens the store and builds the runtime: kExitOk, or (said on stderr) kExitInvalid for a
  // malformed option, kExitEnvironment for a store that cannot be opened. `steps`: what is
  // printed on stdout while executions run.
  int start(const GlobalOptions& g, const QueueOptions& q, StepOutput steps, bool claim_others, bool park);
};

// Runs `work` on the shell's loop until it is done. SIGTERM calls on_term, SIGINT on_int (each
// may be called again on a second signal).
void run_loop(Shell& shell, std::function<boost::asio::awaitable<void>()> work, std::function<void(int)> on_term,
              std::function<void(int)> on_int);

// The trigger of an execution started from the command line: {"type": "cli", "user", "host"}.
Json cli_trigger();
std::string status_mark(std::string_view status);
std::string ms_text(std::int64_t ms);
Json diagnostics_json(const Diagnostics& d);
// JSON pretty-printed with every line after the first indented by `pad`.
std::string indent_json(const Json& j, const std::string& pad);
void print_outcome(const run::ExecutionOutcome& o);
Json outcome_json(const run::ExecutionOutcome& o);
// Failed on a network error (host unreachable, TLS refused) or an auth error (the credential
// refused, a scope missing): the environment, exit 3.
bool failed_on_environment(const run::ExecutionOutcome& o);
int exit_for(const run::ExecutionOutcome& o);

}  // namespace spokeflow::cli
