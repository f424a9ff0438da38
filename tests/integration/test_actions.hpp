#pragma once
#include "action/action.hpp"

namespace spokeflow::testing {
// test.side_effect: appends "<execution> <path> <attempt>" to a file, then waits `delay_ms`.
// Tests count those lines to prove that a finished step never runs twice.
void register_test_actions(ActionRegistry& registry);
}  // namespace spokeflow::testing
