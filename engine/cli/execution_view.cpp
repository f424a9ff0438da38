// `executions show` for people: the step tree, readable values, loop summaries.
#include "cli/execution_view.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <set>

#include "cli/shell.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"
#include "common/suggest.hpp"
#include "run/engine.hpp"

namespace spokeflow::cli {

namespace {

// A loop with more iterations than this is summarised; so many failed ones are shown.
constexpr std::size_t kIterationsShownInFull = 5;
constexpr std::size_t kFailedIterationsShown = 20;

bool failed_status(const std::string& s) { return s == "failed" || s == "interrupted"; }

// `path` is `step` or inside it (`step.x`, `step[3].y`, `step@page2`).
bool within(const std::string& path, const std::string& step) {
  if (path.size() < step.size() || path.compare(0, step.size(), step) != 0) return false;
  return path.size() == step.size() || path[step.size()] == '.' || path[step.size()] == '[' || path[step.size()] == '@';
}

// `path` one level up (`each[3].add` -> `each[3]` -> `each`); false at the top.
bool step_out(std::string& path) {
  const auto cut = path.find_last_of(".[@");
  if (cut == std::string::npos || cut == 0) return false;
  path.resize(cut);
  return true;
}

// The nearest enclosing path among `known` ("" when none): `each[3].add` -> `each`.
std::string parent_in(std::string path, const std::set<std::string>& known) {
  while (step_out(path))
    if (known.count(path)) return path;
  return {};
}

// "2 retries (429 rate_limited, then 503 server), 1.50s waited before them; 300ms waiting for the rate limit"
std::string client_text(const Json& client) {
  std::string out;
  const auto retries = client.value("retries", 0);
  if (retries > 0) {
    out = std::to_string(retries) + (retries == 1 ? " retry" : " retries");
    std::string why;
    if (const auto it = client.find("retried"); it != client.end() && it->is_array())
      for (const auto& r : *it) {
        if (!why.empty()) why += ", ";
        const Json& status = r.contains("status") ? r["status"] : Json();
        why += (status.is_number() ? std::to_string(status.get<int>()) + " " : std::string()) + r.value("kind", std::string());
      }
    if (!why.empty()) out += " (after " + why + ")";
    out += ", " + ms_text(client.value("retry_wait_ms", std::int64_t{0})) + " waited before them";
  }
  if (const auto wait = client.value("rate_wait_ms", std::int64_t{0}); wait > 0)
    out += (out.empty() ? "" : "; ") + ms_text(wait) + " waiting for the rate limit";
  return out;
}

std::int64_t duration_of(const store::StepRun& r) { return r.finished_at && r.started_at ? r.finished_at - r.started_at : -1; }

class TreePrinter {
 public:
  TreePrinter(std::ostream& out, const std::vector<const store::StepRun*>& shown, const std::set<const store::StepRun*>& full,
              bool summarise)
      : out_(out), full_(full), summarise_(summarise) {
    for (const auto* r : shown) paths_.insert(r->path);
    for (const auto* r : shown) children_[parent_in(r->path, paths_)].push_back(r);
    for (auto& [_, list] : children_)
      std::stable_sort(list.begin(), list.end(), [](auto* a, auto* b) {
        if (a->path == b->path) return a->attempt < b->attempt;
        return a->started_at < b->started_at;
      });
    // Final attempt of each path, for an iteration's status.
    for (const auto* r : shown) {
      auto& last = last_attempt_[r->path];
      if (!last || last->attempt < r->attempt) last = r;
    }
  }

  void print(const std::string& parent, int depth) {
    auto it = children_.find(parent);
    if (it == children_.end()) return;
    print_runs(it->second, depth);
  }

 private:
  void print_runs(const std::vector<const store::StepRun*>& list, int depth) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const store::StepRun* r = list[i];
      print_run(*r, depth);
      // The children of a step are printed once, after its last attempt.
      if (i + 1 < list.size() && list[i + 1]->path == r->path) continue;
      if (summarise_ && r->kind == "for_each") print_loop(r->path, depth + 1);
      else print(r->path, depth + 1);
    }
  }

  void print_run(const store::StepRun& r, int depth) {
    const std::string pad(2 + 2 * depth, ' ');
    const std::int64_t ms = duration_of(r);
    out_ << pad << status_mark(r.status) << " " << r.path << "  " << r.kind << "  attempt " << r.attempt << "  "
         << (ms >= 0 ? ms_text(ms) : "-") << "\n";
    if (!full_.count(&r)) return;
    const std::size_t label_col = pad.size() + 4;
    auto value = [&](const char* label, const Json& v) {
      if (v.is_null()) return;
      const std::string head = std::string(label);
      out_ << std::string(label_col, ' ') << head << readable_json(v, label_col + head.size(), label_col + 2) << "\n";
    };
    value("inputs:  ", r.inputs);
    value("outputs: ", run::without_sealed(r.outputs));
    value("error:   ", r.error);
    if (r.client.is_object()) out_ << std::string(label_col, ' ') << "client:  " << client_text(r.client) << "\n";
  }

  // A loop's iterations: all of them when few, else a summary and the failed ones.
  void print_loop(const std::string& loop, int depth) {
    auto it = children_.find(loop);
    if (it == children_.end()) return;
    struct Iteration {
      std::vector<const store::StepRun*> direct;  // runs whose parent is the loop
      std::int64_t started = 0, finished = 0;
      bool failed = false, running = false;
    };
    std::map<std::size_t, Iteration> iterations;  // by index
    std::vector<const store::StepRun*> other;     // the loop's pages and anything not an iteration
    const std::string open = loop + "[";
    auto index_of = [&](const std::string& path) -> std::optional<std::size_t> {
      if (path.compare(0, open.size(), open) != 0) return std::nullopt;
      auto close = path.find(']', open.size());
      if (close == std::string::npos || close == open.size()) return std::nullopt;
      std::size_t n = 0;
      for (std::size_t i = open.size(); i < close; ++i) {
        if (path[i] < '0' || path[i] > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(path[i] - '0');
      }
      return n;
    };
    for (const auto* r : it->second) {
      if (auto n = index_of(r->path)) iterations[*n].direct.push_back(r);
      else other.push_back(r);
    }
    if (iterations.size() <= kIterationsShownInFull) {
      print_runs(it->second, depth);
      return;
    }
    // Status and span of each iteration over every run inside it, nested ones included.
    for (const auto& [path, last] : last_attempt_) {
      auto n = index_of(path);
      if (!n) continue;
      auto found = iterations.find(*n);
      if (found == iterations.end()) continue;
      Iteration& iter = found->second;
      iter.failed = iter.failed || failed_status(last->status);
      iter.running = iter.running || last->status == "running";
    }
    for (const auto& [_, list] : children_)
      for (const auto* r : list) {
        auto n = index_of(r->path);
        if (!n) continue;
        auto found = iterations.find(*n);
        if (found == iterations.end()) continue;
        Iteration& iter = found->second;
        if (r->started_at && (!iter.started || r->started_at < iter.started)) iter.started = r->started_at;
        iter.finished = std::max(iter.finished, r->finished_at);
      }
    std::size_t failed = 0, running = 0;
    const std::pair<const std::size_t, Iteration>* slowest = nullptr;
    for (const auto& entry : iterations) {
      const Iteration& iter = entry.second;
      if (iter.failed) ++failed;
      else if (iter.running) ++running;
      if (iter.started && iter.finished &&
          (!slowest || iter.finished - iter.started > slowest->second.finished - slowest->second.started))
        slowest = &entry;
    }
    print_runs(other, depth);
    const std::string pad(2 + 2 * depth, ' ');
    out_ << pad << with_thousands(iterations.size()) << " iterations: "
         << with_thousands(iterations.size() - failed - running) << " without a failed step, " << with_thousands(failed)
         << " with one";
    if (running) out_ << ", " << with_thousands(running) << " running";
    if (slowest)
      out_ << "; slowest " << open << slowest->first << "] (" << ms_text(slowest->second.finished - slowest->second.started)
           << ")";
    out_ << "\n";
    std::size_t shown = 0;
    for (const auto& [n, iter] : iterations) {
      if (!iter.failed) continue;
      if (shown++ == kFailedIterationsShown) {
        out_ << pad << "... and " << with_thousands(failed - kFailedIterationsShown)
             << " more iterations with a failed step (--failed lists them all)\n";
        break;
      }
      print_runs(iter.direct, depth);
    }
    out_ << pad << "(--all-iterations prints every iteration)\n";
  }

  std::ostream& out_;
  const std::set<const store::StepRun*>& full_;
  bool summarise_;
  std::set<std::string> paths_;
  std::map<std::string, std::vector<const store::StepRun*>> children_;
  std::map<std::string, const store::StepRun*> last_attempt_;
};

}  // namespace

std::string readable_json(const Json& value, std::size_t column, std::size_t indent, std::size_t width) {
  std::string one_line = dump_json(value);
  if (!value.is_structured() || value.empty() || column + one_line.size() <= width) return one_line;
  const bool object = value.is_object();
  const std::string pad(indent, ' ');
  std::string out = object ? "{\n" : "[\n";
  std::size_t i = 0;
  for (auto it = value.begin(); it != value.end(); ++it, ++i) {
    std::string head = object ? dump_json(Json(it.key())) + ": " : std::string();
    out += pad + head + readable_json(*it, indent + head.size(), indent + 2, width);
    out += i + 1 < value.size() ? ",\n" : "\n";
  }
  out += std::string(indent >= 2 ? indent - 2 : 0, ' ') + (object ? "}" : "]");
  return out;
}

std::vector<const store::StepRun*> select_runs(const std::vector<store::StepRun>& runs, const StepSelection& sel) {
  std::vector<const store::StepRun*> kept;
  for (const auto& r : runs) {
    if (!sel.step.empty() && !within(r.path, sel.step)) continue;
    if (sel.failed_only && !failed_status(r.status)) continue;
    kept.push_back(&r);
  }
  return kept;
}

std::string unknown_step_message(const std::vector<store::StepRun>& runs, const std::string& step) {
  std::set<std::string> distinct;
  for (const auto& r : runs) distinct.insert(r.path);
  return "no step '" + step + "' ran in this execution" +
         did_you_mean(step, std::vector<std::string>(distinct.begin(), distinct.end()));
}

void print_step_tree(std::ostream& out, const std::vector<store::StepRun>& runs, const StepSelection& sel) {
  std::vector<const store::StepRun*> kept = select_runs(runs, sel);
  std::set<const store::StepRun*> full(kept.begin(), kept.end());
  std::vector<const store::StepRun*> shown = kept;
  if (sel.failed_only) {
    // Where each failure sits: the last attempt of every step that holds one, without its values.
    std::map<std::string, const store::StepRun*> last;
    for (const auto& r : runs) {
      auto& slot = last[r.path];
      if (!slot || slot->attempt < r.attempt) slot = &r;
    }
    std::set<std::string> context;
    for (const auto* r : kept)
      for (std::string p = r->path; step_out(p);) {
        if (!sel.step.empty() && !within(p, sel.step)) break;
        if (last.count(p) && !context.insert(p).second) break;  // the rest of the way is known
      }
    for (const auto& path : context)
      if (!full.count(last[path])) shown.push_back(last[path]);
  }
  TreePrinter(out, shown, full, !sel.all_iterations && !sel.failed_only).print("", 0);
}

}  // namespace spokeflow::cli
