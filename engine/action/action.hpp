#pragma once
// The plugin contract: an action is a typed operation, inputs -> outputs, each described by a
// JSON Schema under schemas/actions/. Spokes register their actions explicitly in a registry.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/call_activity.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/json_schema.hpp"

namespace spokeflow {

struct ActionInfo {
  std::string name;         // "core.echo", "okta.activate_user"
  std::string description;
  Json input_schema;        // JSON Schema of the `with:` object
  Json output_schema;       // JSON Schema of the outputs
  std::shared_ptr<const JsonSchema> inputs_checker;
  std::shared_ptr<const JsonSchema> outputs_checker;
  bool inputs_sensitive = false;   // the input schema marks something x-sensitive
  bool outputs_sensitive = false;  // the output schema marks something x-sensitive
  // Touches nothing outside this process (core.noop, core.echo, core.log): running it twice is
  // harmless, so the executor need not journal its start before calling it.
  bool local = false;

  // Reads schemas/<schema_path> (embedded at build time). The file holds
  // {"name", "description", "inputs": <schema>, "outputs": <schema>}.
  static ActionInfo from_embedded(const std::string& schema_path, bool local = false);
};

// What an action sees of the execution it runs in.
struct ActionContext {
  const Json& inputs;               // checked against the input schema already
  std::string_view execution_id;
  std::string_view step_path;       // e.g. "each_user[3].add"
  int attempt = 1;                  // 1 for the first attempt
  std::string_view connection;      // the alias the step uses ("okta" by default for okta.*)
  boost::asio::any_io_executor executor;
  std::string_view flow = {};       // the flow the step belongs to (for log lines)
  CallActivity* calls = nullptr;    // where HTTP clients note their own retries and waits (may be null)
};

class Action {
 public:
  virtual ~Action() = default;
  virtual const ActionInfo& info() const = 0;
  // Runs the action. Cancellation arrives through the awaiting coroutine's cancellation slot
  // (step timeouts, execution cancel); an action doing I/O must honour it.
  virtual boost::asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const = 0;
};

class ActionRegistry {
 public:
  // Throws std::logic_error on a duplicate name: registration is code, not input.
  void add(std::unique_ptr<Action> action);
  const Action* find(std::string_view name) const;
  std::vector<const Action*> list() const;  // sorted by name

 private:
  std::map<std::string, std::unique_ptr<Action>, std::less<>> actions_;
};

}  // namespace spokeflow
