// `spokeflow run`, `resume`, `worker` and `flows list`: thin shells over the runtime.
#include "cli/run_commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <filesystem>

#include "flow/files.hpp"
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "common/utf8.hpp"
#include "common/scrub.hpp"
#include "connect/vault.hpp"
#include "flow/loader.hpp"

namespace spokeflow::cli {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// Inputs files larger than this are refused before reading.
constexpr std::uintmax_t kMaxInputsFileBytes = 16u << 20;

void print_diagnostics(const Diagnostics& d) { std::cerr << d.format(); }

bool looks_like_file(const std::string& ref) {
  return ref.find('/') != std::string::npos || ref.ends_with(".yaml") || ref.ends_with(".yml");
}

std::string read_file_capped(const std::string& path, std::uintmax_t cap, std::string& error) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) {
    error = path + ": cannot read: " + ec.message();
    return {};
  }
  if (size > cap) {
    error = path + ": file is too large (" + std::to_string(size) + " bytes; the limit is " + std::to_string(cap) + ")";
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) {
    error = path + ": cannot read";
    return {};
  }
  return ss.str();
}

std::optional<Millis> grace_of(const QueueOptions& q) {
  auto d = parse_duration(q.drain_grace);
  if (!d) std::cerr << "error: --drain-grace '" << q.drain_grace << "' is not a duration\n";
  return d;
}

// The sealed copies of an execution's sensitive outputs, opened: {"outputs": ..., "steps":
// {path: outputs}} with only what was sealed; null when nothing was (a key that does not open
// them is said on stderr).
Json reveal_outputs(store::ExecutionStore& store, const std::string& id, const connect::MasterKey& key) {
  auto rec = store.get_execution(id);
  if (!rec) return nullptr;
  auto steps = store.step_runs(id);
  auto sealed = [](const Json& v) { return v.is_object() && v.contains(run::kSealedKey); };
  const bool outputs_sealed = sealed(rec->outputs);
  std::vector<bool> step_sealed;
  for (const auto& s : steps) step_sealed.push_back(sealed(s.outputs));
  if (!open_sealed_record(*rec, steps, unsealer(key)))
    std::cerr << "warning: some sealed values could not be opened with this master key\n";
  // What did not open keeps its sealed copy: it is left out. A connection's own credential never
  // shows, even here.
  Json out = Json::object();
  if (outputs_sealed && !sealed(rec->outputs)) out["outputs"] = SecretScrubber::instance().scrub(std::move(rec->outputs));
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (step_sealed[i] && !sealed(steps[i].outputs))
      out["steps"][steps[i].path] = SecretScrubber::instance().scrub(std::move(steps[i].outputs));
  return out.empty() ? Json() : out;
}

asio::awaitable<void> run_mine(runtime::Worker& worker, std::string id, std::optional<run::Engine::Fresh> fresh,
                               run::ExecutionOutcome& out) {
  out = co_await worker.run_one(std::move(id), std::move(fresh));
}

}  // namespace

// ---- run ------------------------------------------------------------------------------------

int cmd_run(const GlobalOptions& g, const RunOptions& o, const ExtraActions& extra) {
  Shell shell(g, extra);
  const std::string flows_dir = flows_dir_or_default(o.queue.flows_dir);
  // Load and check everything before touching the store: bad input writes nothing.
  flow::LoadResult loaded;
  flow::FlowLibrary library(flows_dir, shell.actions);
  if (looks_like_file(o.flow_ref) || fs::is_regular_file(o.flow_ref)) loaded = flow::load_flow_file(o.flow_ref, shell.actions);
  else loaded = library.load(o.flow_ref);
  Diagnostics diags = loaded.diagnostics;
  Diagnostics environment(diags.file());
  if (loaded.flow) library.check_subflows(*loaded.flow, diags);
  if (loaded.flow) check_flow_aliases(*loaded.flow, shell.connect, diags, environment);
  if (!loaded.flow || !diags.empty() || !environment.empty()) {
    // The flow's own errors first: it is invalid (2) whatever the environment; otherwise a
    // missing connections file, secret or master key is the environment (3).
    const int code = !loaded.flow || !diags.empty() ? kExitInvalid : kExitEnvironment;
    diags.sort_unique();
    diags.append(environment);
    if (o.json)
      std::cout << Json{{"status", code == kExitInvalid ? "invalid" : "environment"}, {"errors", diagnostics_json(diags)}}.dump(2)
                << "\n";
    else print_diagnostics(diags);
    return code;
  }
  {
    // Said, not refused: the run goes ahead (on stderr, so --json's stdout stays one document).
    Diagnostics warnings(diags.file());
    check_flow_concurrency(*loaded.flow, shell.connect, warnings);
    std::cerr << format_warnings(warnings);
  }

  Json given = Json::object();
  auto invalid = [&](const std::string& msg) {
    if (o.json) std::cout << Json{{"status", "invalid"}, {"errors", Json::array({{{"message", msg}}})}}.dump(2) << "\n";
    else std::cerr << "error: " << msg << "\n";
    return kExitInvalid;
  };
  std::optional<connect::MasterKey> reveal_key;
  if (o.reveal) {
    // A helpdesk person's temporary password is for their eyes: never a pipe or a log file.
    if (o.detach) return invalid("--reveal needs the run to end here; it cannot go with --detach");
    if (!isatty(STDOUT_FILENO)) return invalid("--reveal prints sensitive values to a terminal only, and stdout is not one");
    auto key = connect::MasterKey::from_environment();
    if (!key.ok()) {
      std::cerr << "error: --reveal needs the master key: " << key.error().message << "\n";
      return kExitEnvironment;
    }
    reveal_key = std::move(*key);
  }
  if (!o.inputs_file.empty()) {
    std::string err;
    std::string text = read_file_capped(o.inputs_file, kMaxInputsFileBytes, err);
    if (!err.empty()) return invalid(err);
    if (auto bad = find_invalid_utf8(text)) return invalid(o.inputs_file + ": not UTF-8 (byte " + std::to_string(*bad) + ")");
    // Nested at most kMaxJsonDepth levels, as everything read from outside.
    auto parsed = parse_json(text);
    if (!parsed.ok()) return invalid("inputs file " + o.inputs_file + ": " + parsed.error().message);
    given = std::move(*parsed);
    if (!given.is_object()) return invalid(o.inputs_file + ": must hold a JSON object of inputs");
  }
  for (const auto& kv : o.inputs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return invalid("--input expects NAME=VALUE, got '" + kv + "'");
    if (auto bad = find_invalid_utf8(kv)) return invalid("--input is not UTF-8 (byte " + std::to_string(*bad) + ")");
    given[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  // A one-shot run waits for its own waits in the process; --resume-others also takes what
  // other processes left runnable, as a worker would.
  QueueOptions q = o.queue;
  q.exit_when_idle = true;  // with --resume-others: the others are run until none is left
  if (int rc = shell.start(g, q, choose_step_output(o.events, o.json || o.quiet, o.verbose, stdout_is_terminal()), o.resume_others, false); rc != kExitOk) return rc;
  auto grace = grace_of(o.queue);
  if (!grace) return kExitInvalid;
  runtime::Runtime& rt = *shell.runtime;

  run::ExecutionOutcome outcome;
  std::vector<run::ExecutionOutcome> others;
  std::optional<Error> refused;
  std::string id;
  rt.worker().on_outcome = [&](const run::ExecutionOutcome& oc) {
    if (oc.id != id) others.push_back(oc);
  };
  run_loop(
      shell,
      [&]() -> asio::awaitable<void> {
        Json trigger = cli_trigger();  // (not in the call: GCC 12 miscompiles braced JSON in a coroutine)
        auto started = co_await rt.enqueue(loaded.flow, given, true, std::move(trigger));
        if (!started.ok()) {
          refused = started.error();
          co_return;
        }
        id = started->id;
        if (o.detach) co_return;
        if (!o.json && !o.events) std::cout << "execution " << id << " started (flow " << loaded.flow->name << ")\n" << std::flush;
        if (!o.resume_others) {
          outcome = co_await rt.worker().run_one(id, std::move(started->fresh));
          co_return;
        }
        using namespace asio::experimental::awaitable_operators;
        co_await (run_mine(rt.worker(), id, std::move(started->fresh), outcome) && rt.worker().run());
      },
      // SIGTERM: stop here, keep the execution runnable (a service restart must not cancel).
      [&](int) {
        spdlog::warn("SIGTERM: draining (in-flight steps get {}; the execution stays queued)", format_duration(*grace));
        rt.worker().drain(*grace);
      },
      // Ctrl-C: the person means it: cancel (finally steps run, recorded cancelled). Others
      // run with --resume-others are only stopped (they stay runnable); a second Ctrl-C stops all.
      [&, interrupted = false](int) mutable {
        const bool again = std::exchange(interrupted, true);
        if (!again && !id.empty() && rt.worker().cancel(id)) {
          spdlog::warn("SIGINT: cancelling execution {} (again to stop at once)", id);
          for (const auto& other : rt.worker().running_ids())
            if (other != id) rt.worker().stop(other);
          return;
        }
        rt.worker().drain(Millis(0));
      });
  if (refused) return invalid(refused->message);
  if (o.detach) {
    if (o.json) std::cout << Json{{"execution_id", id}, {"status", "queued"}}.dump(2) << "\n";
    else std::cout << "execution " << id << " queued (flow " << loaded.flow->name << "): a worker runs it\n";
    return kExitOk;
  }
  Json revealed;
  if (reveal_key && !id.empty()) revealed = reveal_outputs(rt.store(), id, *reveal_key);
  if (o.events || o.json) {
    Json j = outcome_json(outcome);
    if (!revealed.is_null()) j["revealed"] = revealed;
    if (!others.empty()) {
      j["resumed"] = Json::array();
      for (const auto& r : others) j["resumed"].push_back(outcome_json(r));
    }
    // --events ends its lines with the outcome (event "end"); --json prints it alone.
    if (o.events) shell.printer->end(&j);
    else std::cout << j.dump(2) << "\n";
    return exit_for(outcome);
  }
  if (shell.printer) shell.printer->end(nullptr);
  for (const auto& r : others) std::cout << "resumed execution " << r.id << " (" << r.flow << ") " << r.status << "\n";
  print_outcome(outcome);
  if (!revealed.is_null())
    std::cout << "sensitive outputs in clear (shown this once; the store keeps them sealed):\n  "
              << indent_json(revealed, "  ") << "\n";
  return exit_for(outcome);
}

// ---- resume and worker ----------------------------------------------------------------------

int cmd_resume(const GlobalOptions& g, const QueueOptions& given, bool json, bool quiet, const ExtraActions& extra) {
  Shell shell(g, extra);
  QueueOptions q = given;
  q.exit_when_idle = true;
  // Waits stay in the process: with no worker running, a parked execution would sleep past its time.
  if (int rc = shell.start(g, q, choose_step_output(false, json || quiet, false, stdout_is_terminal()), true, false); rc != kExitOk) return rc;
  auto grace = grace_of(q);
  if (!grace) return kExitInvalid;
  runtime::Runtime& rt = *shell.runtime;
  std::vector<run::ExecutionOutcome> outcomes;
  rt.worker().on_outcome = [&](const run::ExecutionOutcome& oc) { outcomes.push_back(oc); };
  run_loop(
      shell, [&]() -> asio::awaitable<void> { co_await rt.worker().run(); },
      [&](int) { rt.worker().drain(*grace); }, [&](int) { rt.worker().drain(Millis(0)); });
  if (shell.printer) shell.printer->end(nullptr);
  int code = kExitOk;
  Json report = Json::array();
  for (const auto& oc : outcomes) {
    // One execution failed by the environment makes the whole run the environment's (3).
    if (oc.status != "succeeded" && oc.status != "waiting")
      code = code == kExitEnvironment || failed_on_environment(oc) ? kExitEnvironment : kExitFailed;
    if (json) report.push_back(outcome_json(oc));
    else print_outcome(oc);
  }
  if (json) std::cout << report.dump(2) << "\n";
  else if (outcomes.empty()) std::cout << "nothing to resume\n";
  return code;
}

int cmd_worker(const GlobalOptions& g, const QueueOptions& q, bool quiet, const ExtraActions& extra) {
  Shell shell(g, extra);
  if (int rc = shell.start(g, q, quiet ? StepOutput::none : StepOutput::lines, true, true); rc != kExitOk) return rc;
  auto grace = grace_of(q);
  if (!grace) return kExitInvalid;
  runtime::Runtime& rt = *shell.runtime;
  rt.worker().on_outcome = [&](const run::ExecutionOutcome& oc) {
    if (quiet) return;
    std::cout << "execution " << oc.id << " (" << oc.flow << ") " << oc.status;
    if (oc.status == "waiting") std::cout << " until " << format_timestamp(oc.wake_at);
    std::cout << "\n" << std::flush;
  };
  spdlog::info("worker started: concurrency {}, lease {}", q.concurrency, q.lease);
  run_loop(
      shell, [&]() -> asio::awaitable<void> { co_await rt.worker().run(); },
      // SIGTERM: a restart; what runs stays runnable for the next worker.
      [&](int) {
        spdlog::warn("SIGTERM: draining (in-flight steps get {})", format_duration(*grace));
        rt.worker().drain(*grace);
      },
      // SIGINT: stop now; the same, without the grace period (a second signal does too).
      [&](int) {
        spdlog::warn("SIGINT: stopping now (what runs stays runnable)");
        rt.worker().drain(Millis(0));
      });
  return kExitOk;
}

// ---- flows ----------------------------------------------------------------------------------

namespace {

// "schedule 0 6 * * 1-5", "okta_event a, b": a trigger as written, in one short line.
std::string trigger_label(const Json& t) {
  auto text = [](const Json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_array()) {
      std::string out;
      for (const auto& e : v) out += (out.empty() ? "" : " ") + (e.is_string() ? e.get<std::string>() : e.dump());
      return out;
    }
    return v.dump();
  };
  if (auto s = t.find("schedule"); s != t.end())
    return "schedule " + (s->is_object() && s->contains("cron") ? text((*s)["cron"]) : text(*s));
  if (auto e = t.find("okta_event"); e != t.end()) return "okta_event " + text(*e);
  return t.dump();
}

}  // namespace

int cmd_flows_list(const GlobalOptions& g, const std::string& flows_dir_given, bool json, const ExtraActions& extra) {
  Shell shell(g, extra);
  const std::string dir = flows_dir_or_default(flows_dir_given);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "error: flows directory '" << dir << "' does not exist (give --flows-dir or set SPOKEFLOW_FLOWS_DIR)\n";
    return kExitInvalid;
  }
  const std::vector<std::string> files = flow::flow_files_in(dir, ec);
  Json out = Json::array();
  bool all_ok = true;
  for (const auto& f : files) {
    flow::LoadResult r = flow::load_flow_file(f, shell.actions);
    Json row = {{"file", f}};
    if (!r.flow || !r.diagnostics.empty()) {
      all_ok = false;
      row["ok"] = false;
      row["errors"] = diagnostics_json(r.diagnostics);
    } else {
      row["ok"] = true;
      row["name"] = r.flow->name;
      row["description"] = r.flow->description;
      Json inputs = Json::array();
      for (const auto& d : r.flow->inputs) inputs.push_back(d.name);
      row["inputs"] = inputs;
      Json triggers = Json::array();
      for (const auto& t : r.flow->triggers) triggers.push_back(t.spec);
      row["triggers"] = triggers;
    }
    out.push_back(std::move(row));
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("%-40s  %-32s  %s\n", "FLOW", "TRIGGERS", "DESCRIPTION");
    for (const auto& row : out) {
      if (!row["ok"].get<bool>()) {
        std::printf("%-40s  (does not load: %zu errors; see `spokeflow validate %s`)\n",
                    fs::path(row["file"].get<std::string>()).filename().c_str(), row["errors"].size(),
                    row["file"].get<std::string>().c_str());
        continue;
      }
      std::string triggers;
      for (const auto& t : row["triggers"]) triggers += (triggers.empty() ? "" : ", ") + trigger_label(t);
      std::printf("%-40s  %-32s  %s\n", row["name"].get<std::string>().c_str(), triggers.empty() ? "-" : triggers.c_str(),
                  row["description"].get<std::string>().c_str());
    }
  }
  return all_ok ? kExitOk : kExitInvalid;
}

}  // namespace spokeflow::cli
