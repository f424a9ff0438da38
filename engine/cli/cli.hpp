#pragma once
#include <functional>

#include "action/action.hpp"

namespace spokeflow::cli {

// The whole command line. `extra_actions` lets a test build add actions of its own; the
// shipped executable passes none. Returns the process exit code:
// 0 succeeded, 1 the flow failed or was cancelled, 2 invalid input (flow, inputs, usage),
// 3 the environment failed (store cannot be opened, ...).
int run(int argc, char** argv, const std::function<void(ActionRegistry&)>& extra_actions = {});

}  // namespace spokeflow::cli
