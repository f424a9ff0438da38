// The command line: the composition root, the one place that names concrete spokes.
#include "cli/cli.hpp"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/connect_commands.hpp"
#include "cli/connect_setup.hpp"
#include "cli/execution_commands.hpp"
#include "cli/logging.hpp"
#include "cli/run_commands.hpp"
#include "store/pg_conn.hpp"
#include "cli/schedule_commands.hpp"
#include "cli/serve_commands.hpp"
#include "cli/shell.hpp"
#include "cli/store_commands.hpp"
#include "connect/config.hpp"
#include "flow/loader.hpp"

namespace spokeflow::cli {

namespace {

// ---- validate -----------------------------------------------------------------------------

int cmd_validate(const GlobalOptions& g, const std::vector<std::string>& files, const std::string& flows_dir, bool json,
                 const ExtraActions& extra) {
  Shell rt(g, extra);
  flow::FlowLibrary library(flows_dir_or_default(flows_dir), rt.actions);
  Json report = Json::array();
  bool all_ok = true;
  bool any_invalid = false;
  for (const auto& file : files) {
    flow::LoadResult r = flow::load_flow_file(file, rt.actions);
    Diagnostics diags = r.diagnostics;
    Diagnostics environment(diags.file());
    if (r.flow) library.check_subflows(*r.flow, diags);
    std::vector<std::string> unchecked;
    if (r.flow) check_flow_aliases(*r.flow, rt.connect, diags, environment, false, &unchecked);
    Diagnostics warnings(diags.file());
    if (r.flow) check_flow_concurrency(*r.flow, rt.connect, warnings);
    if (!json) std::cerr << format_warnings(warnings);
    any_invalid = any_invalid || !r.flow || !diags.empty();
    if (!unchecked.empty() && !json) {
      std::string names;
      for (const auto& n : unchecked) names += (names.empty() ? "" : ", ") + n;
      std::cerr << file << ": note: aliases not checked (" << names
                << "): no connections file (give --connections FILE or set SPOKEFLOW_CONNECTIONS)\n";
    }
    diags.sort_unique();
    diags.append(environment);
    bool ok = r.flow && diags.empty();
    all_ok = all_ok && ok;
    if (json) {
      report.push_back({{"file", file}, {"ok", ok}, {"flow", r.flow ? Json(r.flow->name) : Json(nullptr)},
                        {"errors", diagnostics_json(diags)}, {"warnings", diagnostics_json(warnings)},
                        {"aliases_unchecked", unchecked}});
    } else if (ok) {
      std::cout << file << ": ok (flow " << r.flow->name << ", " << r.flow->steps.size() << " top-level steps)\n";
    } else {
      std::cerr << diags.format();
    }
  }
  if (json) std::cout << report.dump(2) << "\n";
  else if (!all_ok) std::cerr << "validation failed\n";
  // An invalid flow is 2; flows that are valid but whose connections file, secrets or master
  // key are missing or unusable are the environment's problem, 3.
  return all_ok ? kExitOk : any_invalid ? kExitInvalid : kExitEnvironment;
}

// ---- actions ------------------------------------------------------------------------------

int cmd_actions_list(const GlobalOptions& g, bool json, const ExtraActions& extra) {
  Shell rt(g, extra);
  if (json) {
    Json out = Json::array();
    for (const Action* a : rt.actions.list())
      out.push_back({{"name", a->info().name}, {"description", a->info().description}});
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  for (const Action* a : rt.actions.list()) std::printf("%-32s  %s\n", a->info().name.c_str(), a->info().description.c_str());
  return kExitOk;
}

int cmd_actions_show(const GlobalOptions& g, const std::string& name, bool json, const ExtraActions& extra) {
  Shell rt(g, extra);
  const Action* a = rt.actions.find(name);
  if (!a) {
    std::cerr << "error: no action named '" << name << "' (see `spokeflow actions list`)\n";
    return kExitInvalid;
  }
  const ActionInfo& info = a->info();
  Json j = {{"name", info.name}, {"description", info.description}, {"inputs", info.input_schema}, {"outputs", info.output_schema}};
  if (json) {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << info.name << "\n  " << info.description << "\ninputs:\n  " << indent_json(info.input_schema, "  ")
            << "\noutputs:\n  " << indent_json(info.output_schema, "  ") << "\n";
  return kExitOk;
}

// A command group (`executions`, `secrets`...) given no command or one it does not know: CLI11
// says only "A subcommand is required" (the unknown word falls through to the top). Names the
// word and the valid commands instead; false when the parse error is something else.
bool report_unknown_command(const CLI::App& app) {
  const CLI::App* group = &app;
  std::string path = app.get_name();
  for (;;) {
    auto chosen = group->get_subcommands();
    if (chosen.empty()) break;
    group = chosen.front();
    path += " " + group->get_name();
  }
  auto commands = group->get_subcommands([](const CLI::App*) { return true; });
  if (commands.empty()) return false;
  std::string names;
  for (const CLI::App* c : commands) names += (names.empty() ? "" : ", ") + c->get_name();
  std::string unknown;
  for (const auto& word : app.remaining(true))
    if (!word.empty() && word.front() != '-') {
      unknown = word;
      break;
    }
  if (unknown.empty()) {
    if (!app.remaining(true).empty()) return false;  // an unknown option: CLI11's own message names it
    std::cerr << "error: " << path << " needs a command: " << names << " (see `" << path << " --help`)\n";
    return true;
  }
  const std::string shown = group == &app ? unknown : path.substr(app.get_name().size() + 1) + " " + unknown;
  std::cerr << "error: unknown command '" << shown << "'; the commands of " << path << " are: " << names << "\n";
  return true;
}

}  // namespace

int run(int argc, char** argv, const std::function<void(ActionRegistry&)>& extra) {
  CLI::App app{"spokeflow: a flow engine for identity automation", "spokeflow"};
  app.set_version_flag("--version", "spokeflow 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();  // global options may come after the command too
  GlobalOptions g;
  app.add_option("--store", g.store_path, "Execution store: an SQLite file or a postgresql:// URL; default $SPOKEFLOW_STORE or " +
                                     store::pg::redact_url(default_store_path()));
  app.add_option("--connections", g.connections_path,
                 "Connections file (aliases, connections, credentials); default $SPOKEFLOW_CONNECTIONS, "
                 "./connections.yaml or " + connect::default_connections_path());
  app.add_option("--log-format", g.log_format, "Log format on stderr")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", g.log_level, "Log level")->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  int code = kExitOk;
  bool json = false;

  auto* validate = app.add_subcommand("validate", "Check flow files; exit 2 on any error in a flow, 3 when only "
                                                  "the environment (connections file, secrets) fails");
  std::vector<std::string> files;
  std::string validate_dir;
  validate->add_option("files", files, "Flow files")->required();
  validate->add_option("--flows-dir", validate_dir, "Where subflows are looked up");
  validate->add_flag("--json", json, "Machine-readable output");

  // Options of every command that runs executions.
  auto add_queue_options = [](CLI::App* c, QueueOptions& q, bool workers) {
    c->add_option("--flows-dir", q.flows_dir, "Directory of flows (default $SPOKEFLOW_FLOWS_DIR or ./flows)");
    c->add_option("--lease", q.lease, "Lease on each execution run here; renewed while it runs, anyone's after it "
                                      "lapses (default 30s)");
    c->add_option("--drain-grace", q.drain_grace, "On SIGTERM: how long steps in flight may take to end before "
                                                  "their executions are given back (default 30s)");
    c->add_option("--max-crashes", q.max_strikes, "Fail an execution whose runs stopped the process this many times "
                                                  "in a row without progress (default 3)")
        ->check(CLI::Range(1, 1000));
    if (!workers) return;
    c->add_option("--concurrency", q.concurrency, "Executions run at once (default 16)")->check(CLI::Range(1, 100000));
    c->add_option("--park-after", q.park_after, "Waits longer than this park their execution in the store, "
                                                "freeing its memory (default 5s)");
  };

  auto* runc = app.add_subcommand("run", "Run a flow by name or file; exit 0 succeeded, 1 failed, 2 invalid, "
                                         "3 the environment failed, 75 stopped by SIGTERM (it stays queued)");
  RunOptions ro;
  runc->add_option("flow", ro.flow_ref, "Flow name (looked up in --flows-dir) or file")->required();
  runc->add_option("--input", ro.inputs, "An input as NAME=VALUE (repeatable)");
  runc->add_option("--inputs-file", ro.inputs_file, "A JSON file with an object of inputs");
  runc->add_flag("--json", ro.json, "Print one JSON document with the result");
  runc->add_flag("-q,--quiet", ro.quiet, "Do not print steps as they finish");
  runc->add_flag("-v,--verbose", ro.verbose,
                 "A line per finished step, also inside loops (on a terminal, loops show a live progress line instead)");
  runc->add_flag("--events", ro.events,
                 "JSON lines on stdout: each step event, each loop's start and end, then the outcome (event \"end\")");
  runc->add_flag("--resume-others", ro.resume_others, "Also run the executions other processes left runnable");
  runc->add_flag("--detach", ro.detach, "Only queue the execution and print its id: a worker runs it");
  runc->add_flag("--reveal", ro.reveal,
                 "Print the execution's sensitive outputs (its own and its steps') in clear once it ends, to a "
                 "terminal only (needs the master key); the store keeps them sealed");
  add_queue_options(runc, ro.queue, false);

  auto* resume = app.add_subcommand("resume", "Run every execution that is runnable now (queued, left by a stopped "
                                              "process once its lease lapses, or due to wake), then exit");
  QueueOptions resume_q;
  bool resume_quiet = false;
  resume->add_flag("--json", json, "Machine-readable output");
  resume->add_flag("-q,--quiet", resume_quiet, "Do not print each step");
  add_queue_options(resume, resume_q, false);
  resume->add_option("--concurrency", resume_q.concurrency, "Executions run at once (default 16)")->check(CLI::Range(1, 100000));

  auto* worker = app.add_subcommand("worker", "Run the queue until SIGTERM (drain: what runs stays runnable) or "
                                              "SIGINT (the same, at once)");
  QueueOptions worker_q;
  bool worker_quiet = false;
  worker->add_flag("-q,--quiet", worker_quiet, "Do not print each step and execution");
  add_queue_options(worker, worker_q, true);
  worker->add_flag("--migrate", g.migrate, "Migrate the store to this spokeflow's schema first (as `store migrate`)");

  auto* flows = app.add_subcommand("flows", "The flows in the flows directory");
  flows->require_subcommand(1);
  auto* flist = flows->add_subcommand("list", "Flows with their triggers");
  std::string flows_dir;
  flist->add_option("--flows-dir", flows_dir, "Directory of flows (default $SPOKEFLOW_FLOWS_DIR or ./flows)");
  flist->add_flag("--json", json, "Machine-readable output");

  auto* scheds = app.add_subcommand("schedules", "The flows' schedule triggers");
  scheds->require_subcommand(1);
  auto* schedlist = scheds->add_subcommand("list", "Each schedule trigger with its next fire times (UTC and local)");
  SchedulesListOptions so;
  schedlist->add_option("--flows-dir", so.flows_dir, "Directory of flows (default $SPOKEFLOW_FLOWS_DIR or ./flows)");
  schedlist->add_option("--count", so.count, "Fire times shown per trigger (default 5)")->check(CLI::Range(1, 1000));
  schedlist->add_option("--from", so.from, "Show the fires after this point in time (RFC 3339; default now)");
  schedlist->add_flag("--json", so.json, "Machine-readable output");

  auto* execs = app.add_subcommand("executions", "Inspect, cancel, retry and rerun recorded executions");
  execs->require_subcommand(1);
  auto* list = execs->add_subcommand("list", "List executions, newest first");
  store::ExecutionFilter filter;
  filter.top_level_only = false;
  list->add_option("--flow", filter.flow, "Only this flow");
  list->add_option("--status", filter.status, "Only this status")
      ->check(CLI::IsMember({"queued", "running", "waiting", "succeeded", "failed", "cancelled"}));
  list->add_option("--limit", filter.limit, "At most this many")->check(CLI::Range(1, 100000));
  list->add_flag("--json", json, "Machine-readable output");
  auto* show = execs->add_subcommand("show", "One execution with its step runs");
  std::string exec_id;
  show->add_option("id", exec_id, "Execution id")->required();
  show->add_flag("--json", json, "Machine-readable output");
  bool reveal = false;
  show->add_flag("--reveal", reveal, "Show sensitive values in clear, from their sealed copies (needs the master key)");
  StepSelection selection;
  show->add_flag("--failed", selection.failed_only, "Only the failed step runs, under the steps that hold them");
  show->add_option("--step", selection.step, "Only this step (every attempt) and what ran inside it, such as each_user[3].add");
  show->add_flag("--all-iterations", selection.all_iterations,
                 "Every iteration of a loop, not a summary (count, failed, slowest) and its failed iterations");
  QueueOptions exec_q;
  bool exec_quiet = false;
  auto* cancel = execs->add_subcommand("cancel", "Cancel an execution: its finally steps run, it is recorded cancelled");
  cancel->add_option("id", exec_id, "Execution id")->required();
  cancel->add_flag("--json", json, "Machine-readable output");
  add_queue_options(cancel, exec_q, false);
  auto* retry = execs->add_subcommand("retry", "Continue a failed or cancelled execution: finished steps are kept, "
                                               "failed ones run again, on the flow as it ran");
  retry->add_option("id", exec_id, "Execution id")->required();
  retry->add_flag("--json", json, "Machine-readable output");
  retry->add_flag("-q,--quiet", exec_quiet, "Do not print each step");
  add_queue_options(retry, exec_q, false);
  auto* rerun = execs->add_subcommand("rerun", "A new execution with the same inputs, on the flow as it is now");
  rerun->add_option("id", exec_id, "Execution id")->required();
  bool same_version = false;
  rerun->add_flag("--same-version", same_version, "Run the flow as the execution ran it, not as it is now");
  rerun->add_flag("--json", json, "Machine-readable output");
  rerun->add_flag("-q,--quiet", exec_quiet, "Do not print each step");
  add_queue_options(rerun, exec_q, false);

  auto* purge = execs->add_subcommand("purge", "Delete finished executions (never queued, running or waiting ones) "
                                               "with their step runs and subflow executions, in small batches");
  PurgeOptions purge_o;
  purge->add_option("--older-than", purge_o.older_than, "Finished longer ago than this (such as 30d, 12h)");
  purge->add_option("--flow", purge_o.flow, "Only this flow's");
  purge->add_option("--status", purge_o.status, "Only those that ended so")
      ->check(CLI::IsMember({"succeeded", "failed", "cancelled"}));
  purge->add_option("--keep-last", purge_o.keep_last, "Keep the newest N of each flow (of those chosen)")
      ->check(CLI::Range(1, 100000000));
  purge->add_option("--batch", purge_o.batch, "Top-level executions per transaction (default 100)")
      ->check(CLI::Range(1, 10000));
  purge->add_flag("--json", purge_o.json, "Machine-readable output");

  auto* acts = app.add_subcommand("actions", "The actions this build knows");
  acts->require_subcommand(1);
  auto* alist = acts->add_subcommand("list", "List actions");
  alist->add_flag("--json", json, "Machine-readable output");
  auto* ashow = acts->add_subcommand("show", "An action's description and input/output schemas");
  std::string action_name;
  ashow->add_option("name", action_name, "Action name")->required();
  ashow->add_flag("--json", json, "Machine-readable output");

  auto* secrets = app.add_subcommand("secrets", "The encrypted secrets vault (AES-256-GCM; master key from "
                                                "SPOKEFLOW_MASTER_KEY or a 0600 key file)");
  secrets->require_subcommand(1);
  auto* sinit = secrets->add_subcommand("init", "Create a new master key file (mode 0600)");
  auto* sset = secrets->add_subcommand("set", "Store a secret; the value is read from stdin (not echoed)");
  std::string secret_name;
  sset->add_option("name", secret_name, "Secret name")->required();
  auto* slist = secrets->add_subcommand("list", "Secret names (never values)");
  slist->add_flag("--json", json, "Machine-readable output");
  auto* srm = secrets->add_subcommand("rm", "Remove a secret");
  srm->add_option("name", secret_name, "Secret name")->required();

  auto* conns = app.add_subcommand("connections", "Aliases, connections and credentials");
  conns->require_subcommand(1);
  auto* clist = conns->add_subcommand("list", "Aliases with their connection and credential type");
  clist->add_flag("--json", json, "Machine-readable output");
  auto* ctest = conns->add_subcommand("test", "Check reachability and authentication with a harmless call");
  std::string alias_name;
  ctest->add_option("alias", alias_name, "Alias")->required();
  ctest->add_flag("--json", json, "Machine-readable output");

  auto* servec = app.add_subcommand("serve", "The service: flows triggered over HTTP and by Okta event hooks, "
                                             "with a worker running the queue (SIGTERM drains, exit 0)");
  ServeFlags serve_flags;
  servec->add_option("--config", serve_flags.config, "serve.yaml (listen, flows_dir, worker, limits, hooks, tls, retention)");
  servec->add_option("--listen", serve_flags.listen, "ADDRESS:PORT to listen on (default 127.0.0.1:8080; port 0 = any free one)");
  servec->add_option("--flows-dir", serve_flags.flows_dir, "Directory of flows (default $SPOKEFLOW_FLOWS_DIR or ./flows)");
  auto* tls_cert_opt = servec->add_option("--tls-cert", serve_flags.tls_cert,
                                          "PEM certificate chain (leaf first): serve HTTPS (TLS 1.2+)");
  auto* tls_key_opt = servec->add_option("--tls-key", serve_flags.tls_key, "PEM private key of --tls-cert");
  tls_cert_opt->needs(tls_key_opt);
  tls_key_opt->needs(tls_cert_opt);
  servec->add_flag("--migrate", g.migrate, "Migrate the store to this spokeflow's schema first (as `store migrate`)");

  auto* storec = app.add_subcommand("store", "The execution store itself");
  storec->require_subcommand(1);
  auto* smigrate = storec->add_subcommand("migrate", "Bring the store (SQLite or PostgreSQL) to this spokeflow's "
                                                     "schema; serve and worker refuse an older one unless --migrate");
  smigrate->add_flag("--json", json, "Machine-readable output");
  CopyFlags copy_flags;
  auto* scopy = storec->add_subcommand("copy", "Copy every record of an SQLite store into a PostgreSQL store, in one "
                                               "transaction (stop the workers first; docs/SCALE-OUT.md)");
  scopy->add_option("--from", copy_flags.from, "The SQLite store file (read only; it is left as it is)")->required();
  scopy->add_option("--to", copy_flags.to, "The PostgreSQL store's postgresql:// URL (its tables are created when "
                                           "missing; it must hold no records unless --merge)")->required();
  scopy->add_flag("--merge", copy_flags.merge, "The target may hold records already: add these beside them (any "
                                               "row it has already fails the copy; nothing is written)");
  scopy->add_flag("--force", copy_flags.force, "Copy even while executions run under a lease in the source (their "
                                               "workers would go on writing to SQLite only)");
  scopy->add_flag("--json", copy_flags.json, "Machine-readable output");

  auto* tokens = app.add_subcommand("tokens", "API tokens of the service (kept as hashes in the store)");
  tokens->require_subcommand(1);
  auto* tcreate = tokens->add_subcommand("create", "Make a token; it is printed once, alone on the last line");
  std::string token_name, token_role, token_expires;
  tcreate->add_option("name", token_name, "Token name")->required();
  tcreate->add_option("--role", token_role, "viewer, operator or admin")->required()
      ->check(CLI::IsMember({"viewer", "operator", "admin"}));
  tcreate->add_option("--expires", token_expires, "Valid for this long (such as 90d); default never");
  auto* tlist = tokens->add_subcommand("list", "Tokens with their roles and states (never the tokens)");
  tlist->add_flag("--json", json, "Machine-readable output");
  auto* trevoke = tokens->add_subcommand("revoke", "Revoke a token at once");
  trevoke->add_option("name", token_name, "Token name")->required();

  auto* auth = app.add_subcommand("auth", "Sign in for credentials that need a user");
  auth->require_subcommand(1);
  auto* login = auth->add_subcommand("login", "Authorization code flow with PKCE; stores the refresh token in the vault");
  login->add_option("alias", alias_name, "Alias of an okta_oauth_refresh credential")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if ((dynamic_cast<const CLI::RequiredError*>(&e) || dynamic_cast<const CLI::ExtrasError*>(&e)) &&
        report_unknown_command(app))
      return kExitInvalid;
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitInvalid;
  }
  if (!setup_logging(g.log_format, g.log_level)) {
    std::cerr << "error: bad --log-format or --log-level\n";
    return kExitInvalid;
  }

  try {
    if (*validate) code = cmd_validate(g, files, validate_dir, json, extra);
    else if (*runc) code = cmd_run(g, ro, extra);
    else if (*resume) code = cmd_resume(g, resume_q, json, resume_quiet, extra);
    else if (*worker) code = cmd_worker(g, worker_q, worker_quiet, extra);
    else if (*flist) code = cmd_flows_list(g, flows_dir, json, extra);
    else if (*schedlist) code = cmd_schedules_list(g, so, extra);
    else if (*list) code = cmd_list(g, filter, json);
    else if (*show) code = cmd_show(g, exec_id, json, reveal, selection);
    else if (*cancel) code = cmd_cancel(g, exec_q, exec_id, json, extra);
    else if (*retry) code = cmd_retry(g, exec_q, exec_id, json, exec_quiet, extra);
    else if (*purge) code = cmd_purge(g, purge_o);
    else if (*rerun) code = cmd_rerun(g, exec_q, exec_id, same_version, json, exec_quiet, extra);
    else if (*alist) code = cmd_actions_list(g, json, extra);
    else if (*ashow) code = cmd_actions_show(g, action_name, json, extra);
    else if (*sinit) code = cmd_secrets_init();
    else if (*sset) code = cmd_secrets_set(secret_name);
    else if (*slist) code = cmd_secrets_list(json);
    else if (*srm) code = cmd_secrets_rm(secret_name);
    else if (*clist) code = cmd_connections_list(g.connections_path, json);
    else if (*ctest) code = cmd_connections_test(g.connections_path, alias_name, json);
    else if (*login) code = cmd_auth_login(g.connections_path, alias_name);
    else if (*servec) code = cmd_serve(g, serve_flags, extra);
    else if (*smigrate) code = cmd_store_migrate(g, json);
    else if (*scopy) code = cmd_store_copy(copy_flags);
    else if (*tcreate) code = cmd_tokens_create(g, token_name, token_role, token_expires);
    else if (*tlist) code = cmd_tokens_list(g, json);
    else if (*trevoke) code = cmd_tokens_revoke(g, token_name);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitEnvironment;
  }
  std::cout.flush();
  return code;
}

}  // namespace spokeflow::cli
