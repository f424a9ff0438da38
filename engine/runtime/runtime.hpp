#pragma once
// The composition every way of running shares (`run`, `resume`, `worker`, `serve`): the store
// with its work queue, the flow library, the engine and a worker, on one event loop. The
// caller (the CLI, the service) names the concrete spokes by filling the action registry.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "flow/loader.hpp"
#include "run/engine.hpp"
#include "runtime/worker.hpp"
#include "store/store.hpp"

namespace spokeflow::runtime {

struct RuntimeOptions {
  std::string flows_dir = "flows";
  run::EngineOptions engine;
  WorkerOptions worker;
};

// A new execution, durably queued.
struct Started {
  std::string id;
  bool created = true;  // false: the dedupe key named an execution that already existed
  std::optional<run::Engine::Fresh> fresh;  // for the first claim, when this process runs it
};

class Runtime {
 public:
  Runtime(boost::asio::any_io_executor executor, const ActionRegistry& actions,
          std::unique_ptr<store::ExecutionStore> store, RuntimeOptions options);
  ~Runtime();

  store::ExecutionStore& store() { return *store_; }
  flow::FlowLibrary& library() { return *library_; }
  run::Engine& engine() { return *engine_; }
  Worker& worker() { return *worker_; }
  const RuntimeOptions& options() const { return options_; }

  // Checks `given` against the flow's inputs (`from_text`: CLI strings converted to the
  // declared types), records the execution queued, runnable from `run_at` (0 = now). Nothing
  // is written when the inputs are invalid. A dedupe key holds for `dedupe_window_ms` after
  // the execution it first named was created (0 = for ever).
  boost::asio::awaitable<Result<Started>> enqueue(flow::FlowPtr flow, const Json& given, bool from_text, Json trigger,
                                                  std::string dedupe_key = {}, std::int64_t run_at = 0,
                                                  std::int64_t dedupe_window_ms = 0);
  // Called after enqueue() queued a new execution (not when a dedupe key named an existing one).
  std::function<void(const flow::Flow& flow, const Json& trigger)> on_enqueued;

 private:
  boost::asio::any_io_executor executor_;
  RuntimeOptions options_;
  std::unique_ptr<store::ExecutionStore> store_;
  std::unique_ptr<flow::FlowLibrary> library_;
  std::unique_ptr<run::Engine> engine_;
  std::unique_ptr<Worker> worker_;
};

}  // namespace spokeflow::runtime
