// The live progress line `run` draws on a terminal (cli/step_output): outermost loops with
// their counts, rate and time left, and the loops running inside their iterations.
#include <doctest/doctest.h>

#include <sstream>

#include "cli/step_output.hpp"

using namespace spokeflow;
using cli::StepPrinter;

namespace {

run::LoopProgress progress(std::string_view path, std::size_t done, std::size_t total, bool finished = false) {
  run::LoopProgress p;
  p.execution_id = "01EXEC";
  p.flow = "sync";
  p.path = path;
  p.done = done;
  p.total = total;
  p.finished = finished;
  return p;
}

}  // namespace

TEST_CASE("the progress line: the outer loop with its rate and time left, then the inner loop running in it") {
  std::ostringstream out;
  StepPrinter printer(out, cli::StepOutput::progress, 200);
  const auto t0 = StepPrinter::Clock::now();
  printer.loop(progress("groups", 0, 10), t0);
  printer.loop(progress("groups[0].members", 0, 500), t0);
  CHECK(printer.progress_text(t0) == "  groups 0/10  >  groups[0].members 0/500");
  const auto t1 = t0 + std::chrono::seconds(2);
  printer.loop(progress("groups[0].members", 100, 500), t1);
  // 100 in 2 s: 50/s, 400 left: ~8s.
  CHECK(printer.progress_text(t1) == "  groups 0/10  >  groups[0].members 100/500, 50.0/s, ~8s left");
  printer.loop(progress("groups[0].members", 500, 500, true), t1);
  printer.loop(progress("groups", 1, 10), t1);
  CHECK(printer.progress_text(t1) == "  groups 1/10, 0.5/s, ~18s left");
  // The next group's members start a line of their own.
  printer.loop(progress("groups[1].members", 0, 7), t1);
  CHECK(printer.progress_text(t1).find(">  groups[1].members 0/7") != std::string::npos);
}

TEST_CASE("the progress line: concurrent inner loops, the longest-running first, the rest counted") {
  std::ostringstream out;
  StepPrinter printer(out, cli::StepOutput::progress, 300);
  const auto t0 = StepPrinter::Clock::now();
  printer.loop(progress("users", 0, 4), t0);
  printer.loop(progress("users[2].apps", 0, 3), t0 + std::chrono::milliseconds(1));
  printer.loop(progress("users[0].apps", 0, 5), t0 + std::chrono::milliseconds(2));
  printer.loop(progress("users[1].apps", 0, 6), t0 + std::chrono::milliseconds(3));
  printer.loop(progress("users[3].apps", 0, 2), t0 + std::chrono::milliseconds(4));
  CHECK(printer.progress_text(t0) ==
        "  users 0/4  >  users[2].apps 0/3  |  users[0].apps 0/5  (+2 more inner loops)");
  printer.loop(progress("users[2].apps", 3, 3, true), t0);
  printer.loop(progress("users[0].apps", 5, 5, true), t0);
  CHECK(printer.progress_text(t0) == "  users 0/4  >  users[1].apps 0/6  |  users[3].apps 0/2");
  printer.loop(progress("users[3].apps", 2, 2, true), t0);
  CHECK(printer.progress_text(t0) == "  users 0/4  >  users[1].apps 0/6");
}

TEST_CASE("the progress line fits the terminal; iteration steps that went well print nothing, failures print") {
  std::ostringstream out;
  StepPrinter printer(out, cli::StepOutput::progress, 40);
  const auto t0 = StepPrinter::Clock::now();
  printer.loop(progress("a_loop_with_a_rather_long_name", 0, 100000), t0);
  printer.loop(progress("a_loop_with_a_rather_long_name[0].inner_loop", 0, 100000), t0);
  const std::string text = printer.progress_text(t0);
  CHECK(text.size() == 39);
  CHECK(text.substr(text.size() - 3) == "...");
  run::StepEvent ok;
  ok.execution_id = "01EXEC";
  ok.path = "a_loop_with_a_rather_long_name[0].inner_loop[3].pick";
  ok.kind = "core.echo";
  ok.status = "succeeded";
  const auto before = out.str().size();
  printer.step(ok);
  CHECK(out.str().size() == before);
  run::StepEvent bad = ok;
  bad.status = "failed";
  printer.step(bad);
  CHECK(out.str().find("a_loop_with_a_rather_long_name[0].inner_loop[3].pick") != std::string::npos);
}

TEST_CASE("lines and events modes draw no progress line") {
  std::ostringstream out;
  StepPrinter printer(out, cli::StepOutput::lines, 100);
  printer.loop(progress("each", 1, 3));
  CHECK(printer.progress_text(StepPrinter::Clock::now()).empty());
  CHECK(out.str().empty());
}
