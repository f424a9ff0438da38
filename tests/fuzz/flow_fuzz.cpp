// Fuzz target: the flow loader (YAML text -> a checked Flow, or every problem with its place).
// Properties: no crash; a text is either a flow without problems or problems (at least one),
// never an "internal error" (the loader's catch-all for a bug); every problem says something.
#include <string>

#include "flow/loader.hpp"
#include "fuzz_actions.hpp"
#include "fuzz_support.hpp"

using namespace spokeflow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  flow::LoadResult r = flow::load_flow_text(text, "fuzz.yaml", fuzz::shipped_actions());
  fuzz::check(r.flow != nullptr || !r.diagnostics.empty(), "a flow that does not load says why");
  fuzz::check(r.flow == nullptr || r.diagnostics.empty(), "a flow with problems is not loaded");
  for (const auto& d : r.diagnostics.items()) {
    fuzz::check(!d.message.empty(), "every problem has a message");
    fuzz::check(d.message.rfind("internal error while loading", 0) != 0, "the loader has no internal error", d.message);
    (void)d.format();
  }
  if (r.flow) {
    fuzz::check(r.flow->source_text == text, "a loaded flow keeps its source");
    fuzz::check(!r.flow->name.empty(), "a loaded flow has a name");
    (void)r.flow->subflow_names();
  }
  return 0;
}
