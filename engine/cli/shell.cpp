#include "cli/shell.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/rate_budget.hpp"
#include "common/ids.hpp"
#include "common/scrub.hpp"
#include "core/core.hpp"
#include "okta/okta.hpp"
#include "store/pg_conn.hpp"

namespace spokeflow::cli {
namespace asio = boost::asio;
namespace fs = std::filesystem;

std::string default_store_path() {
  if (const char* env = std::getenv("SPOKEFLOW_STORE"); env && *env) return env;
  fs::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) base = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home) base = fs::path(home) / ".local" / "share";
  else base = ".";
  return (base / "spokeflow" / "store.db").string();
}

std::string flows_dir_or_default(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("SPOKEFLOW_FLOWS_DIR"); env && *env) return env;
  return "flows";
}

std::string store_location(const GlobalOptions& g) { return g.store_path.empty() ? default_store_path() : g.store_path; }

std::unique_ptr<store::ExecutionStore> open_store_or_report(const GlobalOptions& g) {
  try {
    const std::string location = store_location(g);
    if (fs::path p(location); !store::pg::is_url(location) && p.has_parent_path()) {
      std::error_code ec;
      fs::create_directories(p.parent_path(), ec);
    }
    return store::on_own_thread(store::open_store(location, g.migrate));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return nullptr;
  }
}

Shell::Shell(const GlobalOptions& g, const ExtraActions& extra)
    : connect(ConnectSetup::load(g.connections_path, io.get_executor())) {
  actions::register_core_actions(actions);
  actions::register_http_action(actions, connect.connections);
  okta::register_actions(actions, connect.connections);
  if (extra) extra(actions);
}

namespace {
std::optional<Millis> duration_option(const std::string& name, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) std::cerr << "error: " << name << " '" << text << "' is not a duration (such as 500ms, 30s, 5m)\n";
  return d;
}
}  // namespace

int Shell::start(const GlobalOptions& g, const QueueOptions& q, StepOutput steps, bool claim_others, bool park) {
  runtime::RuntimeOptions o;
  o.flows_dir = flows_dir_or_default(q.flows_dir);
  auto lease = duration_option("--lease", q.lease);
  if (!lease) return kExitInvalid;
  if (*lease < Millis(300)) {
    std::cerr << "error: --lease must be at least 300ms (it is renewed a few times per period)\n";
    return kExitInvalid;
  }
  o.worker.lease = *lease;
  o.worker.concurrency = q.concurrency;
  o.worker.max_strikes = q.max_strikes;
  o.worker.claim_others = claim_others;
  o.worker.exit_when_idle = q.exit_when_idle;
  if (park && !q.park_after.empty()) {
    auto p = duration_option("--park-after", q.park_after);
    if (!p) return kExitInvalid;
    o.worker.park_after = *p;
  } else {
    o.worker.park_after = Millis::max();
  }
  connect.add_sealer(o.engine);
  if (!connect.vault_problem.empty())
    spdlog::warn("vault unavailable ({}): sensitive values are recorded redacted, without a sealed copy",
                 connect.vault_problem);
  if (steps != StepOutput::none) {
    printer = std::make_unique<StepPrinter>(std::cout, steps, steps == StepOutput::progress ? terminal_width() : 100);
    o.engine.on_step = [p = printer.get()](const run::StepEvent& ev) { p->step(ev); };
    o.engine.on_loop = [p = printer.get()](const run::LoopProgress& lp) { p->loop(lp); };
  }
  if (q.on_step) {
    o.engine.on_step = [print = std::move(o.engine.on_step), also = q.on_step](const run::StepEvent& ev) {
      if (print) print(ev);
      also(ev);
    };
  }
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  if (connect.connections) share_rate_budget(*connect.connections, store_location(g));
  runtime = std::make_unique<runtime::Runtime>(io.get_executor(), actions, std::move(st), std::move(o));
  return kExitOk;
}

void run_loop(Shell& shell, std::function<asio::awaitable<void>()> work, std::function<void(int)> on_term,
              std::function<void(int)> on_int) {
  asio::signal_set signals(shell.io, SIGINT, SIGTERM);
  bool done = false;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec || done) return;
    if (sig == SIGTERM && on_term) on_term(sig);
    if (sig == SIGINT && on_int) on_int(sig);
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  asio::co_spawn(shell.io, work(), [&](std::exception_ptr e) {
    done = true;
    signals.cancel();
    if (e) std::rethrow_exception(e);
  });
  shell.io.run();
}

Json cli_trigger() {
  // Who ran it, for the record: the OS user (the password database first: $USER can be anything)
  // and the host. Neither is a secret.
  std::string user;
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) user = pw->pw_name;
  else if (const char* env = std::getenv("USER"); env && *env) user = env;
  char host[256] = {};
  std::string hostname = gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string();
  return Json{{"type", "cli"}, {"user", user.empty() ? Json(nullptr) : Json(user)},
              {"host", hostname.empty() ? Json(nullptr) : Json(hostname)}};
}

std::string status_mark(std::string_view status) {
  if (status == "succeeded") return "ok     ";
  if (status == "failed") return "FAILED ";
  if (status == "skipped") return "skipped";
  if (status == "running") return "running";
  return std::string(status);
}

std::string ms_text(std::int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + "ms";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

Json diagnostics_json(const Diagnostics& d) {
  Json out = Json::array();
  for (const auto& item : d.items())
    out.push_back({{"file", item.file}, {"line", item.pos.line}, {"col", item.pos.col}, {"message", item.message}});
  return out;
}

std::string indent_json(const Json& j, const std::string& pad) {
  std::string text = j.dump(2);
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

void print_outcome(const run::ExecutionOutcome& o) {
  if (o.status == "waiting") {
    std::cout << "execution " << o.id << " waiting until " << format_timestamp(o.wake_at)
              << " (parked in the store; a worker or `spokeflow resume` after that time continues it)\n";
    return;
  }
  if (o.status == "released") {
    std::cout << "execution " << o.id << " released: stopped before its end; it stays queued for a worker or "
                                          "`spokeflow resume`\n";
    return;
  }
  if (o.status == "lost") {
    // Either another worker claimed it, or a commit failed and this process stopped writing.
    std::cout << "execution " << o.id << " stopped here: its lease was lost to another worker, or the store "
                                          "could not record its progress (see the log); a worker or `spokeflow "
                                          "resume` continues it from its journal once the lease lapses\n";
    return;
  }
  if (o.status == "not_claimed") {
    std::cout << "execution " << o.id << " is not runnable here: another worker holds it, or it is not queued\n";
    return;
  }
  std::cout << "execution " << o.id << " " << o.status << "\n";
  if (!o.outputs.is_null() && !o.outputs.empty()) std::cout << "outputs: " << o.outputs.dump(2) << "\n";
  if (!o.error.is_null()) {
    Error e = Error::from_json(o.error);
    std::cout << "error: [" << to_string(e.kind) << (e.code.empty() ? "" : " " + e.code) << "] "
              << (e.step.empty() ? "" : e.step + ": ") << e.message << "\n";
  }
}

Json outcome_json(const run::ExecutionOutcome& o) {
  Json j = {{"execution_id", o.id}, {"flow", o.flow}, {"status", o.status}, {"outputs", o.outputs}, {"error", o.error}};
  if (o.wake_at) j["wake_at"] = format_timestamp(o.wake_at);
  return j;
}

bool failed_on_environment(const run::ExecutionOutcome& o) {
  if (o.status != "failed" || o.error.is_null()) return false;
  const ErrorKind kind = Error::from_json(o.error).kind;
  return kind == ErrorKind::network || kind == ErrorKind::auth;
}

int exit_for(const run::ExecutionOutcome& o) {
  if (o.status == "succeeded") return kExitOk;
  if (o.status == "released" || o.status == "lost" || o.status == "waiting") return kExitReleased;
  if (o.status == "not_claimed") return kExitEnvironment;
  // A host that cannot be reached or a credential refused is the environment's fault, not the
  // flow's: a cron wrapper must be able to tell them apart.
  if (failed_on_environment(o)) return kExitEnvironment;
  return kExitFailed;
}

}  // namespace spokeflow::cli
