#include "runtime/runtime.hpp"

#include "store/async.hpp"

namespace spokeflow::runtime {

Runtime::Runtime(boost::asio::any_io_executor executor, const ActionRegistry& actions,
                 std::unique_ptr<store::ExecutionStore> store, RuntimeOptions options)
    : executor_(std::move(executor)), options_(std::move(options)), store_(std::move(store)) {
  library_ = std::make_unique<flow::FlowLibrary>(options_.flows_dir, actions);
  engine_ = std::make_unique<run::Engine>(executor_, actions, *store_, library_.get(), options_.engine);
  worker_ = std::make_unique<Worker>(executor_, *store_, *engine_, options_.worker);
}

Runtime::~Runtime() {
  worker_.reset();
  engine_.reset();  // waits for its last commit
}

boost::asio::awaitable<Result<Started>> Runtime::enqueue(flow::FlowPtr flow, const Json& given, bool from_text,
                                                         Json trigger, std::string dedupe_key, std::int64_t run_at,
                                                         std::int64_t dedupe_window_ms) {
  auto inputs = engine_->check_inputs(*flow, given, from_text);
  if (!inputs.ok()) co_return inputs.error();
  auto record = engine_->new_execution(flow, *inputs, trigger);
  if (!record.ok()) co_return record.error();
  record->dedupe_key = std::move(dedupe_key);
  record->dedupe_window_ms = dedupe_window_ms;
  record->run_at = run_at;
  auto write = [r = *record](store::ExecutionStore& s) mutable { return s.enqueue(std::move(r)); };
  auto result = co_await store::on_store(*store_, std::move(write));
  Started started;
  started.id = result.id;
  started.created = result.created;
  if (result.created && on_enqueued) on_enqueued(*flow, trigger);
  if (result.created && run_at == 0) {
    record->flow_source.clear();  // the flow itself goes along
    started.fresh = run::Engine::Fresh{std::move(*record), flow, std::move(*inputs)};
  }
  co_return started;
}

}  // namespace spokeflow::runtime
