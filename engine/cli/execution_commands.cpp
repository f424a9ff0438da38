// `spokeflow executions ...`: list, show, cancel, retry, rerun.
#include "cli/execution_commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "common/ids.hpp"
#include "connect/vault.hpp"
#include "store/async.hpp"
#include "store/pg_conn.hpp"

namespace spokeflow::cli {
namespace asio = boost::asio;

namespace {

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
  if (r.run_at && (r.status == "queued" || r.status == "waiting")) j["run_at"] = format_timestamp(r.run_at);
  if (!r.lease_owner.empty()) {
    j["lease_owner"] = r.lease_owner;
    j["lease_until"] = format_timestamp(r.lease_until);
  }
  if (r.cancel_requested) j["cancel_requested"] = true;
  if (r.retried_at) j["retried_at"] = format_timestamp(r.retried_at);
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
          {"duration_ms", s.finished_at && s.started_at ? Json(s.finished_at - s.started_at) : Json(nullptr)},
          {"client", s.client}};
}

bool json_has_redacted(const Json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>() == "[REDACTED]";
  if (v.is_array() || v.is_object())
    for (const auto& item : v)
      if (json_has_redacted(item)) return true;
  return false;
}

// Runs `id` here to its end (it was just made runnable) and prints the outcome; when another
// worker got it first, follows its record until it ends.
int run_here(const GlobalOptions& g, Shell& shell, const std::string& id, bool json, const char* what) {
  runtime::Runtime& rt = *shell.runtime;
  run::ExecutionOutcome outcome;
  run_loop(
      shell,
      [&]() -> asio::awaitable<void> {
        outcome = co_await rt.worker().run_one(id);
        if (outcome.status != "not_claimed") co_return;
        // Someone else runs it (its lease is live): follow the record.
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (;;) {
          auto read = [id](store::ExecutionStore& s) { return s.get_execution(id); };
          auto rec = co_await store::on_store(rt.store(), std::move(read));
          if (!rec) co_return;
          if (rec->status == "succeeded" || rec->status == "failed" || rec->status == "cancelled") {
            outcome.status = rec->status;
            outcome.flow = rec->flow_name;
            outcome.outputs = run::without_sealed(rec->outputs);
            outcome.error = rec->error;
            co_return;
          }
          if (rec->status != "running" || rec->lease_until <= now_unix_ms()) {
            outcome = co_await rt.worker().run_one(id);
            if (outcome.status != "not_claimed") co_return;
          }
          t.expires_after(std::chrono::milliseconds(200));
          co_await t.async_wait(asio::use_awaitable);
        }
      },
      [&](int) { rt.worker().drain(Millis(30'000)); },
      [&](int) {
        if (!rt.worker().cancel(id)) rt.worker().drain(Millis(0));
      });
  (void)g;
  if (shell.printer) shell.printer->end(nullptr);
  if (json) {
    std::cout << outcome_json(outcome).dump(2) << "\n";
  } else {
    std::cout << what << ": ";
    print_outcome(outcome);
  }
  return exit_for(outcome);
}

}  // namespace

int cmd_show(const GlobalOptions& g, const std::string& id, bool json, bool reveal, const StepSelection& sel) {
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  auto rec = st->get_execution(id);
  if (!rec) {
    std::cerr << "error: no execution with id '" << id << "' in the store\n";
    return kExitInvalid;
  }
  auto steps = st->step_runs(id);
  if (!sel.step.empty() && select_runs(steps, StepSelection{false, sel.step, true}).empty()) {
    std::cerr << "error: " << unknown_step_message(steps, sel.step) << "\n";
    return kExitInvalid;
  }
  if (reveal) {
    // The owner asked for the sensitive values (an activation link to hand over, say): they
    // come from the sealed copies, with the master key; nothing else ever shows them.
    auto key = connect::MasterKey::from_environment();
    if (!key.ok()) {
      std::cerr << "error: --reveal needs the master key: " << key.error().message << "\n";
      return kExitEnvironment;
    }
    if (!open_sealed_record(*rec, steps, unsealer(*key))) std::cerr << "warning: some sealed values could not be opened with this master key\n";
    std::cerr << "warning: showing sensitive values in clear\n";
  }
  if (json) {
    Json j = execution_json(*rec, true);
    j["steps"] = Json::array();
    for (const auto* s : select_runs(steps, sel)) j["steps"].push_back(step_json(*s));
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "execution " << rec->id << "\n  flow:     " << rec->flow_name << " (" << rec->flow_file << ", sha256 "
            << rec->flow_hash.substr(0, 12) << ")\n  status:   " << rec->status << "\n  trigger:  " << rec->trigger.dump()
            << "\n  started:  " << (rec->started_at ? format_timestamp(rec->started_at) : "-") << "\n  finished: "
            << (rec->finished_at ? format_timestamp(rec->finished_at) : "-") << "\n";
  if (rec->status == "waiting" || (rec->status == "queued" && rec->run_at > now_unix_ms()))
    std::cout << "  runs at:  " << format_timestamp(rec->run_at) << "\n";
  if (!rec->lease_owner.empty())
    std::cout << "  lease:    " << rec->lease_owner << " until " << format_timestamp(rec->lease_until) << "\n";
  if (!rec->parent_id.empty()) std::cout << "  parent:   " << rec->parent_id << " (step " << rec->parent_step << ")\n";
  std::cout << "  inputs:   " << readable_json(run::without_sealed(rec->inputs), 12, 4) << "\n";
  if (!rec->outputs.is_null()) std::cout << "  outputs:  " << readable_json(run::without_sealed(rec->outputs), 12, 4) << "\n";
  if (!rec->error.is_null()) std::cout << "  error:    " << readable_json(rec->error, 12, 4) << "\n";
  std::cout << "steps:\n";
  print_step_tree(std::cout, steps, sel);
  return kExitOk;
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

int cmd_cancel(const GlobalOptions& g, const QueueOptions& q, const std::string& id, bool json, const ExtraActions& extra) {
  Shell shell(g, extra);
  if (int rc = shell.start(g, q, StepOutput::none, false, false); rc != kExitOk) return rc;
  auto res = shell.runtime->store().request_cancel(id, now_unix_ms());
  if (!res.found) {
    std::cerr << "error: no execution with id '" << id << "' in the store\n";
    return kExitInvalid;
  }
  auto rec = shell.runtime->store().get_execution(id);
  if (rec && !rec->parent_id.empty()) {
    std::cerr << "error: " << id << " is a subflow's execution; cancel its top-level execution " << rec->parent_id << "\n";
    return kExitInvalid;
  }
  if (res.finished_now) {
    if (json) std::cout << Json{{"execution_id", id}, {"status", "cancelled"}}.dump(2) << "\n";
    else std::cout << "execution " << id << " cancelled (it had not started)\n";
    return kExitOk;
  }
  if (res.status == "succeeded" || res.status == "failed" || res.status == "cancelled") {
    std::cerr << "error: execution " << id << " has already ended (" << res.status << ")\n";
    return kExitInvalid;
  }
  // Queued or parked: it runs here now, to run its cancellation (its finally steps). Under a
  // live lease: its worker sees the request at its next renewal; this follows the record.
  int rc = run_here(g, shell, id, json, "cancel");
  return rc == kExitFailed ? kExitOk : rc;  // a cancelled execution is what was asked for
}

int cmd_retry(const GlobalOptions& g, const QueueOptions& q, const std::string& id, bool json, bool quiet,
              const ExtraActions& extra) {
  Shell shell(g, extra);
  if (int rc = shell.start(g, q, choose_step_output(false, json || quiet, false, stdout_is_terminal()), false, false); rc != kExitOk) return rc;
  auto rec = shell.runtime->store().get_execution(id);
  if (!rec) {
    std::cerr << "error: no execution with id '" << id << "' in the store\n";
    return kExitInvalid;
  }
  if (!rec->parent_id.empty()) {
    std::cerr << "error: " << id << " is a subflow's execution; retry its top-level execution " << rec->parent_id << "\n";
    return kExitInvalid;
  }
  if (!shell.runtime->store().reopen(id, now_unix_ms())) {
    std::cerr << "error: only a failed or cancelled execution can be retried; " << id << " is " << rec->status
              << (rec->status == "succeeded" ? " (use `executions rerun` for a new execution with its inputs)" : "")
              << "\n";
    return kExitInvalid;
  }
  if (!json) std::cout << "execution " << id << " retried: its failed steps run again (flow " << rec->flow_name
                       << " as it ran, sha256 " << rec->flow_hash.substr(0, 12) << ")\n" << std::flush;
  return run_here(g, shell, id, json, "retry");
}

int cmd_rerun(const GlobalOptions& g, const QueueOptions& q, const std::string& id, bool same_version, bool json,
              bool quiet, const ExtraActions& extra) {
  Shell shell(g, extra);
  if (int rc = shell.start(g, q, choose_step_output(false, json || quiet, false, stdout_is_terminal()), false, false); rc != kExitOk) return rc;
  runtime::Runtime& rt = *shell.runtime;
  auto rec = rt.store().get_execution(id);
  if (!rec) {
    std::cerr << "error: no execution with id '" << id << "' in the store\n";
    return kExitInvalid;
  }
  if (!rec->parent_id.empty()) {
    std::cerr << "error: " << id << " is a subflow's execution; rerun its top-level execution " << rec->parent_id << "\n";
    return kExitInvalid;
  }
  // The inputs in clear: sensitive ones come from their sealed copies, with the master key.
  Json inputs = rec->inputs;
  if (inputs.is_object() && inputs.contains(run::kSealedKey)) {
    auto key = connect::MasterKey::from_environment();
    if (!key.ok()) {
      std::cerr << "error: its sensitive inputs are sealed; opening them needs the master key: " << key.error().message << "\n";
      return kExitEnvironment;
    }
    if (!run::open_sealed(inputs, id + "/inputs", unsealer(*key))) {
      std::cerr << "error: its sensitive inputs were sealed with another master key: they cannot be opened\n";
      return kExitEnvironment;
    }
  }
  if (json_has_redacted(inputs)) {
    std::cerr << "error: its sensitive inputs were recorded redacted without a sealed copy (no master key when it "
                 "ran): they cannot be given again\n";
    return kExitInvalid;
  }
  flow::LoadResult loaded;
  if (same_version) loaded = flow::load_flow_text(rec->flow_source, rec->flow_file, shell.actions);
  else loaded = rt.library().load(rec->flow_name);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.format();
    return kExitInvalid;
  }
  std::optional<Error> refused;
  std::string new_id;
  run::ExecutionOutcome outcome;
  run_loop(
      shell,
      [&]() -> asio::awaitable<void> {
        Json trigger = cli_trigger();  // (not braced in the call: GCC 12)
        trigger["type"] = "rerun";
        trigger["of"] = id;
        auto started = co_await rt.enqueue(loaded.flow, inputs, false, std::move(trigger));
        if (!started.ok()) {
          refused = started.error();
          co_return;
        }
        new_id = started->id;
        if (!json) std::cout << "execution " << new_id << " started (rerun of " << id << ", flow " << loaded.flow->name
                             << (same_version ? " as it ran" : " as it is now") << ")\n" << std::flush;
        outcome = co_await rt.worker().run_one(new_id, std::move(started->fresh));
      },
      [&](int) { rt.worker().drain(Millis(30'000)); },
      [&](int) {
        if (!rt.worker().cancel(new_id)) rt.worker().drain(Millis(0));
      });
  if (refused) {
    std::cerr << "error: " << refused->message << "\n";
    return kExitInvalid;
  }
  if (json) std::cout << outcome_json(outcome).dump(2) << "\n";
  else print_outcome(outcome);
  return exit_for(outcome);
}

int cmd_store_migrate(const GlobalOptions& g, bool json) {
  const std::string location = store_location(g);
  const std::string shown = store::pg::redact_url(location);
  store::SchemaChange change;
  try {
    change = store::migrate_store(location);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitEnvironment;
  }
  if (json) {
    std::cout << Json{{"store", shown}, {"from", change.from}, {"to", change.to}}.dump(2) << "\n";
  } else if (change.from == change.to) {
    std::cout << "store " << shown << ": schema " << change.to << ", already current\n";
  } else if (change.from == 0) {
    std::cout << "store " << shown << ": created at schema " << change.to << "\n";
  } else {
    std::cout << "store " << shown << ": migrated from schema " << change.from << " to " << change.to << "\n";
  }
  return kExitOk;
}

}  // namespace spokeflow::cli

namespace spokeflow::cli {

int cmd_purge(const GlobalOptions& g, const PurgeOptions& o) {
  store::PurgeFilter f;
  const std::int64_t now = now_unix_ms();
  if (!o.older_than.empty()) {
    auto d = parse_duration(o.older_than);
    if (!d || d->count() <= 0) {
      std::cerr << "error: --older-than '" << o.older_than << "' is not a duration (such as 30d, 12h, 90m)\n";
      return kExitInvalid;
    }
    f.finished_before = now - d->count();
  }
  if (o.older_than.empty() && o.keep_last <= 0) {
    std::cerr << "error: say what to purge: --older-than DURATION and/or --keep-last N "
                 "(without either, every finished execution would go)\n";
    return kExitInvalid;
  }
  f.flow = o.flow;
  f.status = o.status;
  f.keep_last = o.keep_last;
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  store::PurgeResult total;
  for (bool more = true; more;) {
    const auto started = std::chrono::steady_clock::now();
    const auto r = st->purge_executions(f, o.batch);
    total.executions += r.executions;
    total.top_level += r.top_level;
    more = r.more;
    f.after = r.next;
    // As long again as the batch took: workers and services sharing the store get the write
    // lock in between (SQLite's waiting writers poll; back-to-back transactions starve them).
    if (more) std::this_thread::sleep_for(std::max<std::chrono::steady_clock::duration>(
                  std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2)));
  }
  if (o.json) {
    std::cout << Json{{"purged", total.executions}, {"top_level", total.top_level}}.dump() << "\n";
  } else {
    std::cout << "purged " << total.executions << " executions (" << total.top_level << " top-level, "
              << total.executions - total.top_level << " subflow)\n";
  }
  return kExitOk;
}

}  // namespace spokeflow::cli
