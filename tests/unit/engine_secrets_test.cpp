// Sensitive values in the engine's records where the scrubber alone did not see them (issue 16):
// a resumed run's secrets from sealed records, a parent's secret in a child's plain input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "common/scrub.hpp"
#include "engine_fixture.hpp"

using namespace spokeflow;
using namespace spokeflow::test;
namespace fs = std::filesystem;

namespace {

// An action whose output is marked sensitive, like an activation link.
struct Linker final : Action {
  ActionInfo info_ = [] {
    ActionInfo info = object_action_info("test.link");
    info.output_schema = Json::parse(R"({"type":"object","properties":{"url":{"type":"string","x-sensitive":true}}})");
    info.outputs_checker = JsonSchema::compile(info.output_schema);
    info.outputs_sensitive = true;
    return info;
  }();
  mutable int calls = 0;
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext&) const override {
    ++calls;
    co_return Json{{"url", "https://org.test/welcome/not-this-one"}};
  }
};

// A toy sealer: reversible, bound to the aad, and not the clear text.
run::EngineOptions toy_sealing() {
  run::EngineOptions opts;
  opts.seal = [](const std::string& aad, const std::string& plain) {
    std::string out = aad + "|";
    for (char c : plain) out += static_cast<char>(c ^ 0x55);
    return out;
  };
  opts.unseal = [](const std::string& aad, const std::string& sealed) -> std::optional<std::string> {
    if (sealed.rfind(aad + "|", 0) != 0) return std::nullopt;
    std::string out;
    for (char c : sealed.substr(aad.size() + 1)) out += static_cast<char>(c ^ 0x55);
    return out;
  };
  return opts;
}

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Every record of the execution `id` (its own and its step runs'), as text.
std::string records_of(store::ExecutionStore& st, const std::string& id) {
  auto rec = st.get_execution(id);
  REQUIRE(rec);
  std::string all = rec->inputs.dump() + rec->outputs.dump() + rec->error.dump();
  for (const auto& r : st.step_runs(id)) all += r.inputs.dump() + r.outputs.dump() + r.error.dump();
  return all;
}

}  // namespace

TEST_CASE("a resumed run hides again what its sealed records hid: sensitive outputs and values derived from secrets") {
  SecretScrubber::instance().clear();
  Fixture fx;
  auto linker = std::make_unique<Linker>();
  Linker* link_action = linker.get();
  fx.registry.add(std::move(linker));
  auto f = fx.load(R"(
name: resumed
steps:
  - id: link
    action: test.link
  - id: derive
    action: core.echo
    with: { d: "computed in the process that stopped" }
  - id: copy
    action: core.echo
    with: { url: "${{ steps.link.outputs.url }}", d: "at ${{ steps.derive.outputs.d }}", up: "${{ upper(steps.derive.outputs.d) }}" }
outputs:
  url: ${{ steps.link.outputs.url }}
  d: ${{ steps.derive.outputs.d }}
)");
  run::EngineOptions opts = toy_sealing();
  std::string id = fx.create(f, Json::object(), opts);
  // What a process that stopped after two steps left: records scrubbed there, clear copies sealed.
  const std::string link = "https://org.test/welcome/tok-Q7w9Zr";
  const std::string derived = "derived-from-a-secret-0042";
  fx.crash(id);
  auto sealed = [&](const std::string& path, Json shown, const Json& clear) {
    shown[run::kSealedKey] = opts.seal(id + "/" + path, clear.dump());
    return shown;
  };
  fx.store->record_step(journaled(id, "link", "test.link", "succeeded",
                                  sealed("link", {{"url", "[REDACTED]"}}, {{"url", link}})), {});
  fx.store->record_step(journaled(id, "derive", "core.echo", "succeeded",
                                  sealed("derive", {{"d", "[REDACTED]"}}, {{"d", derived}})), {});

  run::ExecutionOutcome out = fx.run_id(id, nullptr, opts);
  REQUIRE(out.status == "succeeded");
  CHECK(link_action->calls == 0);  // taken from the journal
  CHECK(out.outputs["url"] == "[REDACTED]");
  CHECK(out.outputs["d"] == "[REDACTED]");
  const std::string all = lower_ascii(records_of(*fx.store, id));
  CHECK(all.find("tok-q7w9zr") == std::string::npos);
  CHECK(all.find("derived-from-a-secret") == std::string::npos);
  CHECK(all.find("at [redacted]") != std::string::npos);  // the text around it is kept
  SecretScrubber::instance().clear();
}

TEST_CASE("a parent's secret passed to a child's plain input is not stored in clear in the child's record") {
  SecretScrubber::instance().clear();
  Fixture fx;
  fs::create_directories(fx.dir / "flows");
  {
    std::ofstream(fx.dir / "flows" / "plain_child.yaml") << R"(
name: plain_child
inputs:
  value: { type: string, required: true }
  up: { type: string, required: true }
steps:
  - id: echo
    action: core.echo
    with: { v: "${{ inputs.value }}", u: "${{ inputs.up }}" }
outputs:
  v: ${{ inputs.value }}
)";
  }
  flow::FlowLibrary lib((fx.dir / "flows").string(), fx.registry);
  auto parent = fx.load(R"(
name: parent
inputs:
  pw: { type: string, sensitive: true, required: true }
steps:
  - id: child
    flow: plain_child
    with: { value: "${{ inputs.pw }}", up: "${{ upper(inputs.pw) }}" }
outputs:
  v: ${{ steps.child.outputs.v }}
)");
  run::EngineOptions opts = toy_sealing();
  std::string id = fx.create(parent, {{"pw", "Parent-Secret-81"}}, opts);
  auto out = fx.run_id(id, &lib, opts);
  REQUIRE(out.status == "succeeded");
  CHECK(out.outputs["v"] == "[REDACTED]");
  std::string child_id;
  for (const auto& r : fx.store->step_runs(id))
    if (r.path == "child") child_id = r.inputs.value("execution_id", "");
  REQUIRE(!child_id.empty());
  auto child = fx.store->get_execution(child_id);
  REQUIRE(child);
  CHECK(child->status == "succeeded");
  CHECK(run::without_sealed(child->inputs) == Json{{"value", "[REDACTED]"}, {"up", "[REDACTED]"}});
  const std::string all = lower_ascii(records_of(*fx.store, id) + records_of(*fx.store, child_id));
  CHECK(all.find("parent-secret-81") == std::string::npos);
  SecretScrubber::instance().clear();
}
