// Step lines, the live loop progress line and --events.
#include "cli/step_output.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <vector>

#include "cli/shell.hpp"
#include "common/json_text.hpp"
#include "common/scrub.hpp"
#include "common/text.hpp"

namespace spokeflow::cli {

namespace {

// The live line is rewritten at most this often.
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
// Loops inside other loops' iterations that the line shows (concurrent iterations may run many).
constexpr std::size_t kInnerLoopsShown = 2;

std::string seconds_text(double s) {
  if (s < 90) return std::to_string(static_cast<long long>(s + 0.5)) + "s";
  if (s < 5400) return std::to_string(static_cast<long long>(s / 60 + 0.5)) + "m";
  return std::to_string(static_cast<long long>(s / 3600 + 0.5)) + "h";
}

}  // namespace

StepOutput choose_step_output(bool events, bool quiet_or_json, bool verbose, bool stdout_is_terminal) {
  if (events) return StepOutput::events;
  if (quiet_or_json) return StepOutput::none;
  if (verbose || !stdout_is_terminal) return StepOutput::lines;
  return StepOutput::progress;
}

std::string full_path(std::string_view outer_path, std::string_view path) {
  if (outer_path.empty()) return std::string(path);
  return std::string(outer_path) + "/" + std::string(path);
}

std::size_t terminal_width(std::size_t fallback) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return fallback;
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

StepPrinter::StepPrinter(std::ostream& out, StepOutput mode, std::size_t width) : out_(out), mode_(mode), width_(width) {}

void StepPrinter::step(const run::StepEvent& ev) {
  if (mode_ == StepOutput::none) return;
  const std::string path = full_path(ev.outer_path, ev.path);
  if (mode_ == StepOutput::events) {
    Json j = {{"event", "step"},          {"execution_id", ev.execution_id}, {"flow", ev.flow},
              {"path", path},             {"kind", ev.kind},                 {"status", ev.status},
              {"attempt", ev.attempt},    {"duration_ms", ev.duration_ms},   {"replayed", ev.replayed},
              {"error", ev.error ? *ev.error : Json()}, {"client", ev.client ? *ev.client : Json()}};
    out_ << SecretScrubber::instance().scrub(dump_json(j)) << "\n" << std::flush;
    return;
  }
  // On a terminal the loop's line stands for its iterations: only their failures are printed.
  if (mode_ == StepOutput::progress && ev.status != "failed" && inside_shown_loop(path)) return;
  std::string text = "  " + status_mark(ev.status) + " " + path + "  (" + std::string(ev.kind);
  if (ev.attempt > 1) text += ", attempt " + std::to_string(ev.attempt);
  text += ev.replayed ? ", from journal" : ", " + ms_text(ev.duration_ms);
  if (ev.client && ev.client->value("retries", 0) > 0) {
    const int n = ev.client->value("retries", 0);
    text += ", " + std::to_string(n) + (n == 1 ? " client retry" : " client retries");
  }
  text += ")";
  if (ev.error) {
    Error e = Error::from_json(*ev.error);
    text += "  " + std::string(to_string(e.kind)) + (e.code.empty() ? "" : " " + e.code) + ": " + e.message;
  }
  line(SecretScrubber::instance().scrub(text));
}

void StepPrinter::loop(const run::LoopProgress& p, Clock::time_point now) {
  if (mode_ != StepOutput::events && mode_ != StepOutput::progress) return;
  const std::string path = full_path(p.outer_path, p.path);
  const std::string key = std::string(p.execution_id) + " " + path;
  if (mode_ == StepOutput::events) {
    // Start and end only: the iterations' steps are events of their own.
    const bool first = p.done == 0 && !loops_.count(key);
    if (!first && !p.finished) return;
    if (first) loops_[key] = Loop{};
    if (p.finished) loops_.erase(key);
    Json j = {{"event", "loop"}, {"execution_id", p.execution_id}, {"flow", p.flow}, {"path", path},
              {"done", p.done}, {"failed", p.failed}, {"total", p.total}, {"total_known", p.total_known},
              {"finished", p.finished}};
    out_ << dump_json(j) << "\n" << std::flush;
    return;
  }
  if (p.finished) {
    loops_.erase(key);
    redraw(now, true);
    return;
  }
  auto [it, fresh] = loops_.try_emplace(key);
  Loop& l = it->second;
  if (fresh) {
    l.path = path;
    l.started = now;
  }
  l.done = p.done;
  l.failed = p.failed;
  l.total = p.total;
  l.total_known = p.total_known;
  redraw(now, fresh);
}

bool StepPrinter::inside_shown_loop(const std::string& full) const {
  // In an iteration of a loop on the line: its own steps, its nested loops, subflows called from it.
  for (const auto& [_, l] : loops_)
    if (full.size() > l.path.size() && full.compare(0, l.path.size(), l.path) == 0 && full[l.path.size()] == '[')
      return true;
  return false;
}

std::string StepPrinter::loop_text(const Loop& l, Clock::time_point now) {
  std::string text = l.path + " " + with_thousands(l.done) + "/" + with_thousands(l.total) + (l.total_known ? "" : "+");
  if (l.failed) text += ", " + with_thousands(l.failed) + " failed";
  const double secs = std::chrono::duration<double>(now - l.started).count();
  if (secs >= 0.5 && l.done > 0) {
    // (Iterations a resumed loop replays from its journal count too: the rate starts high.)
    const double rate = static_cast<double>(l.done) / secs;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f/s", rate);
    text += ", " + std::string(buf);
    if (l.total_known && l.total > l.done) text += ", ~" + seconds_text(static_cast<double>(l.total - l.done) / rate) + " left";
  }
  return text;
}

std::string StepPrinter::progress_text(Clock::time_point now) const {
  // The outermost loops, then the loops running inside their iterations: the longest-running
  // first (the one holding things up), a few of them, and how many more there are.
  std::string text;
  std::vector<const Loop*> inner;
  for (const auto& [_, l] : loops_) {
    if (inside_shown_loop(l.path)) {
      inner.push_back(&l);
      continue;
    }
    if (!text.empty()) text += "  |  ";
    text += loop_text(l, now);
  }
  std::stable_sort(inner.begin(), inner.end(), [](const Loop* a, const Loop* b) { return a->started < b->started; });
  for (std::size_t i = 0; i < inner.size() && i < kInnerLoopsShown; ++i) text += (i ? "  |  " : "  >  ") + loop_text(*inner[i], now);
  if (inner.size() > kInnerLoopsShown)
    text += "  (+" + with_thousands(inner.size() - kInnerLoopsShown) + " more inner " +
            (inner.size() - kInnerLoopsShown == 1 ? "loop)" : "loops)");
  if (!text.empty()) text = "  " + text;
  if (text.size() > width_ - 1) text = text.substr(0, width_ - 4) + "...";
  return text;
}

void StepPrinter::line(const std::string& text) {
  if (drawn_) out_ << "\r\x1b[2K";
  out_ << text << "\n";
  if (drawn_) {
    drawn_ = false;
    redraw(Clock::now(), true);
  } else {
    out_ << std::flush;
  }
}

void StepPrinter::redraw(Clock::time_point now, bool force) {
  if (mode_ != StepOutput::progress) return;
  if (!force && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  const std::string text = progress_text(now);
  if (text.empty() && !drawn_) return;
  out_ << "\r\x1b[2K" << text << std::flush;
  drawn_ = !text.empty();
}

void StepPrinter::end(const Json* outcome) {
  if (mode_ == StepOutput::events && outcome) {
    Json j = *outcome;
    j["event"] = "end";
    out_ << dump_json(j) << "\n" << std::flush;
    return;
  }
  if (drawn_) out_ << "\r\x1b[2K" << std::flush;
  drawn_ = false;
  loops_.clear();
}

}  // namespace spokeflow::cli
