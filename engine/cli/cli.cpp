// The command line: the composition root, the one place that names concrete spokes.
#include "cli/cli.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/connect_commands.hpp"
#include "cli/connect_setup.hpp"
#include "cli/logging.hpp"
#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "common/scrub.hpp"
#include "common/utf8.hpp"
#include "core/core.hpp"
#include "okta/okta.hpp"
#include "flow/loader.hpp"
#include "run/engine.hpp"
#include "store/store.hpp"

namespace spokeflow::cli {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitInvalid = 2;
constexpr int kExitEnvironment = 3;

// Inputs files larger than this are refused before reading.
constexpr std::uintmax_t kMaxInputsFileBytes = 16u << 20;

struct GlobalOptions {
  std::string store_path;
  std::string connections_path;  // "" = $SPOKEFLOW_CONNECTIONS or the default places
  std::string log_format = "text";
  std::string log_level = "warn";
};

std::string default_store_path() {
  if (const char* env = std::getenv("SPOKEFLOW_STORE"); env && *env) return env;
  fs::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) base = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home) base = fs::path(home) / ".local" / "share";
  else base = ".";
  return (base / "spokeflow" / "store.db").string();
}

std::string process_owner() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

// True when the owner string names a process on this host that is still alive.
bool owner_alive(const std::string& owner) {
  auto colon = owner.rfind(':');
  if (colon == std::string::npos) return false;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  if (owner.substr(0, colon) != host) return true;  // another machine's: not ours to judge
  pid_t pid = static_cast<pid_t>(std::strtol(owner.c_str() + colon + 1, nullptr, 10));
  if (pid <= 0) return false;
  if (pid == getpid()) return false;
  return kill(pid, 0) == 0 || errno == EPERM;
}

std::unique_ptr<store::ExecutionStore> open_store(const GlobalOptions& g) {
  fs::path p = g.store_path.empty() ? fs::path(default_store_path()) : fs::path(g.store_path);
  if (p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
  }
  return store::on_own_thread(store::open_sqlite_store(p.string()));
}

// The store, or null after saying on stderr why it cannot be opened.
std::unique_ptr<store::ExecutionStore> open_store_or_report(const GlobalOptions& g) {
  try {
    return open_store(g);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return nullptr;
  }
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

void print_diagnostics(const Diagnostics& d) { std::cerr << d.format(); }

Json diagnostics_json(const Diagnostics& d) {
  Json out = Json::array();
  for (const auto& item : d.items())
    out.push_back({{"file", item.file}, {"line", item.pos.line}, {"col", item.pos.col}, {"message", item.message}});
  return out;
}

bool looks_like_file(const std::string& ref) {
  return ref.find('/') != std::string::npos || ref.ends_with(".yaml") || ref.ends_with(".yml");
}

// Everything a command that runs flows needs, wired once.
struct Runtime {
  // Declared in the order they must be built; destroyed in reverse, so the io_context
  // outlives every timer and socket the connections and actions hold.
  asio::io_context io{1};
  ConnectSetup connect;
  ActionRegistry actions;
  std::unique_ptr<store::ExecutionStore> store;
  std::unique_ptr<flow::FlowLibrary> library;
  std::unique_ptr<run::Engine> engine;

  Runtime(const GlobalOptions& g, const std::function<void(ActionRegistry&)>& extra)
      : connect(ConnectSetup::load(g.connections_path, io.get_executor())) {
    actions::register_core_actions(actions);
    actions::register_http_action(actions, connect.connections);
    okta::register_actions(actions, connect.connections);
    if (extra) extra(actions);
  }
};

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

// Runs `work` on the io_context until it is done; SIGINT/SIGTERM cancel it.
template <class Work>
void run_loop(Runtime& rt, Work work) {
  asio::cancellation_signal cancel;
  asio::signal_set signals(rt.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::warn("signal {} received: cancelling", sig);
    cancel.emit(asio::cancellation_type::terminal);
  });
  asio::co_spawn(rt.io, work(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                   signals.cancel();
                   if (e) std::rethrow_exception(e);
                 }));
  rt.io.run();
}

// Resumes every unfinished top-level execution whose owner is gone.
// They run concurrently, like the executions they were before the crash.
asio::awaitable<void> resume_one(Runtime& rt, std::string id, run::ExecutionOutcome& out) {
  out = co_await rt.engine->run(std::move(id));
}

asio::awaitable<std::vector<run::ExecutionOutcome>> resume_all(Runtime& rt, const std::string& owner) {
  std::vector<std::string> claimed;
  for (const auto& rec : rt.store->unfinished_executions()) {
    if (!rec.owner.empty() && owner_alive(rec.owner)) {
      spdlog::info("execution {} ({}) is still running in {}; leaving it", rec.id, rec.flow_name, rec.owner);
      continue;
    }
    if (!rt.store->claim_execution(rec.id, rec.owner, owner)) continue;
    spdlog::warn("resuming execution {} ({})", rec.id, rec.flow_name);
    claimed.push_back(rec.id);
  }
  std::vector<run::ExecutionOutcome> outcomes(claimed.size());
  if (claimed.empty()) co_return outcomes;
  using Op = decltype(asio::co_spawn(rt.io, resume_one(rt, claimed[0], outcomes[0]), asio::deferred));
  std::vector<Op> ops;
  for (std::size_t i = 0; i < claimed.size(); ++i)
    ops.push_back(asio::co_spawn(rt.io, resume_one(rt, claimed[i], outcomes[i]), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  co_return outcomes;
}

// What is printed is scrubbed of secrets, like what is stored.
run::ExecutionOutcome scrubbed(const run::ExecutionOutcome& o) {
  run::ExecutionOutcome out = o;
  out.outputs = SecretScrubber::instance().scrub(o.outputs);
  out.error = SecretScrubber::instance().scrub(o.error);
  return out;
}

void print_outcome(const run::ExecutionOutcome& raw, bool json) {
  if (json) return;
  run::ExecutionOutcome o = scrubbed(raw);
  std::cout << "execution " << o.id << " " << o.status << "\n";
  if (!o.outputs.is_null() && !o.outputs.empty()) std::cout << "outputs: " << o.outputs.dump(2) << "\n";
  if (!o.error.is_null()) {
    Error e = Error::from_json(o.error);
    std::cout << "error: [" << to_string(e.kind) << (e.code.empty() ? "" : " " + e.code) << "] "
              << (e.step.empty() ? "" : e.step + ": ") << e.message << "\n";
  }
}

Json outcome_json(const run::ExecutionOutcome& raw) {
  run::ExecutionOutcome o = scrubbed(raw);
  return {{"execution_id", o.id}, {"flow", o.flow}, {"status", o.status}, {"outputs", o.outputs}, {"error", o.error}};
}

int exit_for(const std::string& status) { return status == "succeeded" ? kExitOk : kExitFailed; }

void make_engine(Runtime& rt, const std::string& flows_dir, bool print_steps) {
  rt.library = std::make_unique<flow::FlowLibrary>(flows_dir, rt.actions);
  run::EngineOptions opts;
  opts.owner = process_owner();
  rt.connect.add_sealer(opts);
  if (print_steps) {
    opts.on_step = [](const run::StepEvent& ev) {
      std::string line = "  " + status_mark(ev.status) + " " + std::string(ev.path) + "  (" + std::string(ev.kind);
      if (ev.attempt > 1) line += ", attempt " + std::to_string(ev.attempt);
      line += ev.replayed ? ", from journal" : ", " + ms_text(ev.duration_ms);
      line += ")";
      if (ev.error) {
        Error e = Error::from_json(*ev.error);
        line += "  " + std::string(to_string(e.kind)) + (e.code.empty() ? "" : " " + e.code) + ": " + e.message;
      }
      std::cout << SecretScrubber::instance().scrub(line) << "\n";
    };
  }
  rt.engine = std::make_unique<run::Engine>(rt.io.get_executor(), rt.actions, *rt.store, rt.library.get(), opts);
}

// ---- validate -----------------------------------------------------------------------------

int cmd_validate(const GlobalOptions& g, const std::vector<std::string>& files, const std::string& flows_dir, bool json,
                 const std::function<void(ActionRegistry&)>& extra) {
  Runtime rt(g, extra);
  flow::FlowLibrary library(flows_dir, rt.actions);
  Json report = Json::array();
  bool all_ok = true;
  for (const auto& file : files) {
    flow::LoadResult r = flow::load_flow_file(file, rt.actions);
    Diagnostics diags = r.diagnostics;
    if (r.flow) library.check_subflows(*r.flow, diags);
    std::vector<std::string> unchecked;
    if (r.flow) check_flow_aliases(*r.flow, rt.connect, diags, false, &unchecked);
    if (!unchecked.empty() && !json) {
      std::string names;
      for (const auto& n : unchecked) names += (names.empty() ? "" : ", ") + n;
      std::cerr << file << ": note: aliases not checked (" << names
                << "): no connections file (give --connections FILE or set SPOKEFLOW_CONNECTIONS)\n";
    }
    diags.sort_unique();
    bool ok = r.flow && diags.empty();
    all_ok = all_ok && ok;
    if (json) {
      report.push_back({{"file", file}, {"ok", ok}, {"flow", r.flow ? Json(r.flow->name) : Json(nullptr)},
                        {"errors", diagnostics_json(diags)}, {"aliases_unchecked", unchecked}});
    } else if (ok) {
      std::cout << file << ": ok (flow " << r.flow->name << ", " << r.flow->steps.size() << " top-level steps)\n";
    } else {
      print_diagnostics(diags);
    }
  }
  if (json) std::cout << report.dump(2) << "\n";
  else if (!all_ok) std::cerr << "validation failed\n";
  return all_ok ? kExitOk : kExitInvalid;
}

// ---- run ----------------------------------------------------------------------------------

struct RunOptions {
  std::string flow_ref;
  std::string flows_dir = "flows";
  std::vector<std::string> inputs;
  std::string inputs_file;
  bool json = false;
  bool quiet = false;
};

int cmd_run(const GlobalOptions& g, const RunOptions& o, const std::function<void(ActionRegistry&)>& extra) {
  Runtime rt(g, extra);
  // Load and check everything before touching the store: bad input writes nothing.
  flow::LoadResult loaded;
  flow::FlowLibrary library(o.flows_dir, rt.actions);
  if (looks_like_file(o.flow_ref) || fs::is_regular_file(o.flow_ref)) loaded = flow::load_flow_file(o.flow_ref, rt.actions);
  else loaded = library.load(o.flow_ref);
  Diagnostics diags = loaded.diagnostics;
  if (loaded.flow) library.check_subflows(*loaded.flow, diags);
  if (loaded.flow) check_flow_aliases(*loaded.flow, rt.connect, diags);
  if (!loaded.flow || !diags.empty()) {
    diags.sort_unique();
    if (o.json) std::cout << Json{{"status", "invalid"}, {"errors", diagnostics_json(diags)}}.dump(2) << "\n";
    else print_diagnostics(diags);
    return kExitInvalid;
  }

  Json given = Json::object();
  auto invalid = [&](const std::string& msg) {
    if (o.json) std::cout << Json{{"status", "invalid"}, {"errors", Json::array({{{"message", msg}}})}}.dump(2) << "\n";
    else std::cerr << "error: " << msg << "\n";
    return kExitInvalid;
  };
  if (!o.inputs_file.empty()) {
    std::string err;
    std::string text = read_file_capped(o.inputs_file, kMaxInputsFileBytes, err);
    if (!err.empty()) return invalid(err);
    if (auto bad = find_invalid_utf8(text)) return invalid(o.inputs_file + ": not UTF-8 (byte " + std::to_string(*bad) + ")");
    // Nested at most kMaxJsonDepth levels, as everything read from outside.
    auto parsed = parse_json(text);
    if (!parsed) return invalid("inputs file " + o.inputs_file + ": " + parsed.error().message);
    given = std::move(*parsed);
    if (!given.is_object()) return invalid(o.inputs_file + ": must hold a JSON object of inputs");
  }
  for (const auto& kv : o.inputs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return invalid("--input expects NAME=VALUE, got '" + kv + "'");
    if (auto bad = find_invalid_utf8(kv)) return invalid("--input is not UTF-8 (byte " + std::to_string(*bad) + ")");
    // The engine reads the value as JSON when the input is not declared a string: refuse here
    // what would nest too deeply then (text that is not JSON stays text).
    const std::string name = kv.substr(0, eq);
    const bool is_string = std::any_of(loaded.flow->inputs.begin(), loaded.flow->inputs.end(),
                                       [&](const auto& d) { return d.name == name && d.type == "string"; });
    if (auto as_json = is_string ? Result<Json>(Json()) : parse_json(std::string_view(kv).substr(eq + 1));
        !as_json && as_json.error().code == kTooDeepCode)
      return invalid("--input " + name + ": " + as_json.error().message);
    given[name] = kv.substr(eq + 1);
  }

  rt.store = open_store_or_report(g);
  if (!rt.store) return kExitEnvironment;
  make_engine(rt, o.flows_dir, !o.json && !o.quiet);
  auto inputs = rt.engine->check_inputs(*loaded.flow, given, true);
  if (!inputs.ok()) return invalid(inputs.error().message);

  run::ExecutionOutcome outcome;
  std::vector<run::ExecutionOutcome> resumed;
  std::string owner = process_owner();
  auto run_new = [&]() -> asio::awaitable<void> {
    std::string id = rt.engine->create(loaded.flow, *inputs, {{"type", "cli"}});
    if (!o.json) std::cout << "execution " << id << " started (flow " << loaded.flow->name << ")\n" << std::flush;
    outcome = co_await rt.engine->run(id, loaded.flow);
  };
  auto resume_others = [&]() -> asio::awaitable<void> { resumed = co_await resume_all(rt, owner); };
  run_loop(rt, [&]() -> asio::awaitable<void> {
    // Executions a crash left behind continue alongside the new one (not before it: a
    // resumed execution may be in a long wait).
    using namespace asio::experimental::awaitable_operators;
    co_await (resume_others() && run_new());
  });
  if (o.json) {
    Json j = outcome_json(outcome);
    if (!resumed.empty()) {
      j["resumed"] = Json::array();
      for (const auto& r : resumed) j["resumed"].push_back(outcome_json(r));
    }
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& r : resumed) std::cout << "resumed execution " << r.id << " (" << r.flow << ") " << r.status << "\n";
    print_outcome(outcome, false);
  }
  return exit_for(outcome.status);
}

// ---- resume -------------------------------------------------------------------------------

int cmd_resume(const GlobalOptions& g, const std::string& flows_dir, bool json, bool quiet,
               const std::function<void(ActionRegistry&)>& extra) {
  Runtime rt(g, extra);
  rt.store = open_store_or_report(g);
  if (!rt.store) return kExitEnvironment;
  make_engine(rt, flows_dir, !json && !quiet);
  std::vector<run::ExecutionOutcome> outcomes;
  run_loop(rt, [&]() -> asio::awaitable<void> { outcomes = co_await resume_all(rt, process_owner()); });
  bool all_ok = true;
  Json report = Json::array();
  for (const auto& oc : outcomes) {
    all_ok = all_ok && oc.status == "succeeded";
    if (json) report.push_back(outcome_json(oc));
    else print_outcome(oc, false);
  }
  if (json) std::cout << report.dump(2) << "\n";
  else if (outcomes.empty()) std::cout << "nothing to resume\n";
  return all_ok ? kExitOk : kExitFailed;
}

// ---- executions ---------------------------------------------------------------------------

Json execution_json(const store::ExecutionRecord& r, bool with_source) {
  Json j = {{"id", r.id},
            {"flow", r.flow_name},
            {"flow_file", r.flow_file},
            {"flow_hash", r.flow_hash},
            {"status", r.status},
            {"trigger", r.trigger},
            {"inputs", run::without_sealed(r.inputs)},
            {"outputs", run::without_sealed(r.outputs)},
            {"error", r.error},
            {"created_at", format_timestamp(r.created_at)},
            {"started_at", r.started_at ? Json(format_timestamp(r.started_at)) : Json(nullptr)},
            {"finished_at", r.finished_at ? Json(format_timestamp(r.finished_at)) : Json(nullptr)},
            {"duration_ms", r.finished_at && r.started_at ? Json(r.finished_at - r.started_at) : Json(nullptr)},
            {"parent_id", r.parent_id.empty() ? Json(nullptr) : Json(r.parent_id)},
            {"parent_step", r.parent_step.empty() ? Json(nullptr) : Json(r.parent_step)}};
  if (with_source) j["flow_source"] = r.flow_source;
  return j;
}

Json step_json(const store::StepRun& s) {
  return {{"path", s.path},
          {"attempt", s.attempt},
          {"kind", s.kind},
          {"status", s.status},
          {"inputs", s.inputs},
          {"outputs", run::without_sealed(s.outputs)},
          {"error", s.error},
          {"started_at", s.started_at ? Json(format_timestamp(s.started_at)) : Json(nullptr)},
          {"finished_at", s.finished_at ? Json(format_timestamp(s.finished_at)) : Json(nullptr)},
          {"duration_ms", s.finished_at && s.started_at ? Json(s.finished_at - s.started_at) : Json(nullptr)}};
}

int cmd_list(const GlobalOptions& g, const store::ExecutionFilter& f, bool json) {
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  auto rows = st->list_executions(f);
  if (json) {
    Json out = Json::array();
    for (const auto& r : rows) out.push_back(execution_json(r, false));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-26s  %-24s  %-9s  %-24s  %s\n", "ID", "FLOW", "STATUS", "STARTED", "DURATION");
  for (const auto& r : rows) {
    std::string dur = r.finished_at && r.started_at ? ms_text(r.finished_at - r.started_at) : "-";
    std::string started = r.started_at ? format_timestamp(r.started_at) : "-";
    std::printf("%-26s  %-24s  %-9s  %-24s  %s\n", r.id.c_str(), r.flow_name.c_str(), r.status.c_str(),
                started.c_str(), dur.c_str());
  }
  return kExitOk;
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

int cmd_show(const GlobalOptions& g, const std::string& id, bool json, bool reveal) {
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  auto rec = st->get_execution(id);
  if (!rec) {
    std::cerr << "error: no execution with id '" << id << "' in the store\n";
    return kExitInvalid;
  }
  auto steps = st->step_runs(id);
  if (reveal) {
    // The owner asked for the sensitive values (an activation link to hand over, say): they
    // come from the sealed copies, with the master key; nothing else ever shows them.
    auto key = connect::MasterKey::from_environment();
    if (!key.ok()) {
      std::cerr << "error: --reveal needs the master key: " << key.error().message << "\n";
      return kExitEnvironment;
    }
    const run::UnsealFn unseal = unsealer(*key);
    bool all = run::open_sealed(rec->inputs, id + "/inputs", unseal) && run::open_sealed(rec->outputs, id + "/outputs", unseal);
    for (auto& s : steps) all = run::open_sealed(s.outputs, id + "/" + s.path, unseal) && all;
    if (!all) std::cerr << "warning: some sealed values could not be opened with this master key\n";
    std::cerr << "warning: showing sensitive values in clear\n";
  }
  if (json) {
    Json j = execution_json(*rec, true);
    j["steps"] = Json::array();
    for (const auto& s : steps) j["steps"].push_back(step_json(s));
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "execution " << rec->id << "\n  flow:     " << rec->flow_name << " (" << rec->flow_file << ", sha256 "
            << rec->flow_hash.substr(0, 12) << ")\n  status:   " << rec->status << "\n  trigger:  " << rec->trigger.dump()
            << "\n  started:  " << (rec->started_at ? format_timestamp(rec->started_at) : "-") << "\n  finished: "
            << (rec->finished_at ? format_timestamp(rec->finished_at) : "-") << "\n";
  if (!rec->parent_id.empty()) std::cout << "  parent:   " << rec->parent_id << " (step " << rec->parent_step << ")\n";
  std::cout << "  inputs:   " << indent_json(run::without_sealed(rec->inputs), "  ") << "\n";
  if (!rec->outputs.is_null()) std::cout << "  outputs:  " << indent_json(run::without_sealed(rec->outputs), "  ") << "\n";
  if (!rec->error.is_null()) std::cout << "  error:    " << indent_json(rec->error, "  ") << "\n";
  std::cout << "steps:\n";
  // A tree: each run sits under the nearest enclosing step that has a record
  // (`each_user[3].add` under `each_user`, `t.catch.log` under `t`), in start order.
  std::map<std::string, std::vector<const store::StepRun*>> children;
  std::set<std::string> paths;
  for (const auto& st : steps) paths.insert(st.path);
  auto parent_of = [&](const std::string& path) {
    std::string p = path;
    while (true) {
      auto cut = p.find_last_of(".[@");
      if (cut == std::string::npos || cut == 0) return std::string();
      p = p.substr(0, cut);
      if (paths.count(p)) return p;
    }
  };
  for (const auto& st : steps) children[parent_of(st.path)].push_back(&st);
  for (auto& [_, list] : children)
    std::stable_sort(list.begin(), list.end(), [](auto* a, auto* b) {
      if (a->path == b->path) return a->attempt < b->attempt;
      return a->started_at < b->started_at;
    });
  std::function<void(const std::string&, int)> print_level = [&](const std::string& parent, int depth) {
    auto it = children.find(parent);
    if (it == children.end()) return;
    const auto& list = it->second;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const store::StepRun* st = list[i];
      std::string pad(2 + 2 * depth, ' ');
      std::string dur = st->finished_at && st->started_at ? ms_text(st->finished_at - st->started_at) : "-";
      std::cout << pad << status_mark(st->status) << " " << st->path << "  " << st->kind << "  attempt " << st->attempt
                << "  " << dur << "\n";
      if (!st->inputs.is_null()) std::cout << pad << "    inputs:  " << st->inputs.dump() << "\n";
      if (!st->outputs.is_null()) std::cout << pad << "    outputs: " << run::without_sealed(st->outputs).dump() << "\n";
      if (!st->error.is_null()) std::cout << pad << "    error:   " << st->error.dump() << "\n";
      // The children of a step are printed once, after its last attempt.
      if (i + 1 == list.size() || list[i + 1]->path != st->path) print_level(st->path, depth + 1);
    }
  };
  print_level("", 0);
  return kExitOk;
}

// ---- actions ------------------------------------------------------------------------------

int cmd_actions_list(const GlobalOptions& g, bool json, const std::function<void(ActionRegistry&)>& extra) {
  Runtime rt(g, extra);
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

int cmd_actions_show(const GlobalOptions& g, const std::string& name, bool json,
                     const std::function<void(ActionRegistry&)>& extra) {
  Runtime rt(g, extra);
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

}  // namespace

int run(int argc, char** argv, const std::function<void(ActionRegistry&)>& extra) {
  CLI::App app{"spokeflow: a flow engine for identity automation", "spokeflow"};
  app.set_version_flag("--version", "spokeflow 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();  // global options may come after the command too
  GlobalOptions g;
  app.add_option("--store", g.store_path, "Execution store (SQLite file); default $SPOKEFLOW_STORE or " + default_store_path());
  app.add_option("--connections", g.connections_path,
                 "Connections file (aliases, connections, credentials); default $SPOKEFLOW_CONNECTIONS, "
                 "./connections.yaml or " + connect::default_connections_path());
  app.add_option("--log-format", g.log_format, "Log format on stderr")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", g.log_level, "Log level")->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  int code = kExitOk;
  bool json = false;

  auto* validate = app.add_subcommand("validate", "Check flow files; exit 2 on any error");
  std::vector<std::string> files;
  std::string validate_dir = "flows";
  validate->add_option("files", files, "Flow files")->required();
  validate->add_option("--flows-dir", validate_dir, "Where subflows are looked up");
  validate->add_flag("--json", json, "Machine-readable output");

  auto* runc = app.add_subcommand("run", "Run a flow by name or file; exit 0 succeeded, 1 failed, 2 invalid");
  RunOptions ro;
  runc->add_option("flow", ro.flow_ref, "Flow name (looked up in --flows-dir) or file")->required();
  runc->add_option("--flows-dir", ro.flows_dir, "Directory of flows");
  runc->add_option("--input", ro.inputs, "An input as NAME=VALUE (repeatable)");
  runc->add_option("--inputs-file", ro.inputs_file, "A JSON file with an object of inputs");
  runc->add_flag("--json", ro.json, "Print one JSON document with the result");
  runc->add_flag("-q,--quiet", ro.quiet, "Do not print each step as it finishes");

  auto* resume = app.add_subcommand("resume", "Continue every execution a crash left unfinished");
  std::string resume_dir = "flows";
  bool resume_quiet = false;
  resume->add_option("--flows-dir", resume_dir, "Directory of flows (for subflows)");
  resume->add_flag("--json", json, "Machine-readable output");
  resume->add_flag("-q,--quiet", resume_quiet, "Do not print each step");

  auto* execs = app.add_subcommand("executions", "Inspect recorded executions");
  execs->require_subcommand(1);
  auto* list = execs->add_subcommand("list", "List executions, newest first");
  store::ExecutionFilter filter;
  filter.top_level_only = false;
  list->add_option("--flow", filter.flow, "Only this flow");
  list->add_option("--status", filter.status, "Only this status")
      ->check(CLI::IsMember({"queued", "running", "succeeded", "failed", "cancelled"}));
  list->add_option("--limit", filter.limit, "At most this many")->check(CLI::Range(1, 100000));
  list->add_flag("--json", json, "Machine-readable output");
  auto* show = execs->add_subcommand("show", "One execution with its step runs");
  std::string show_id;
  show->add_option("id", show_id, "Execution id")->required();
  show->add_flag("--json", json, "Machine-readable output");
  bool reveal = false;
  show->add_flag("--reveal", reveal, "Show sensitive values in clear, from their sealed copies (needs the master key)");

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

  auto* auth = app.add_subcommand("auth", "Sign in for credentials that need a user");
  auth->require_subcommand(1);
  auto* login = auth->add_subcommand("login", "Authorization code flow with PKCE; stores the refresh token in the vault");
  login->add_option("alias", alias_name, "Alias of an okta_oauth_refresh credential")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
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
    else if (*resume) code = cmd_resume(g, resume_dir, json, resume_quiet, extra);
    else if (*list) code = cmd_list(g, filter, json);
    else if (*show) code = cmd_show(g, show_id, json, reveal);
    else if (*alist) code = cmd_actions_list(g, json, extra);
    else if (*ashow) code = cmd_actions_show(g, action_name, json, extra);
    else if (*sinit) code = cmd_secrets_init();
    else if (*sset) code = cmd_secrets_set(secret_name);
    else if (*slist) code = cmd_secrets_list(json);
    else if (*srm) code = cmd_secrets_rm(secret_name);
    else if (*clist) code = cmd_connections_list(g.connections_path, json);
    else if (*ctest) code = cmd_connections_test(g.connections_path, alias_name, json);
    else if (*login) code = cmd_auth_login(g.connections_path, alias_name);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitEnvironment;
  }
  std::cout.flush();
  return code;
}

}  // namespace spokeflow::cli
