#pragma once
// A store that passes every call through to another one: tests derive from it to count or
// slow down the calls they care about.
#include <memory>

#include "store/store.hpp"

namespace spokeflow::test {

struct ForwardingStore : store::ExecutionStore {
  std::unique_ptr<store::ExecutionStore> inner;
  explicit ForwardingStore(std::unique_ptr<store::ExecutionStore> s) : inner(std::move(s)) {}

  void create_execution(store::ExecutionRecord r, store::Durability d) override { inner->create_execution(std::move(r), d); }
  void set_execution_running(std::string id, std::int64_t at, std::string owner, store::Durability d) override {
    inner->set_execution_running(std::move(id), at, std::move(owner), d);
  }
  bool claim_execution(const std::string& id, const std::string& was, const std::string& now) override {
    return inner->claim_execution(id, was, now);
  }
  void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t at,
                        store::Durability d) override {
    inner->finish_execution(std::move(id), std::move(status), std::move(outputs), std::move(error), at, d);
  }
  void record_step(store::StepRun run, store::Durability d) override { inner->record_step(std::move(run), d); }
  void flush() override { inner->flush(); }
  void flush_async(std::function<void(std::exception_ptr)> done) override { inner->flush_async(std::move(done)); }
  bool has_batched() const override { return inner->has_batched(); }
  std::optional<store::ExecutionRecord> get_execution(const std::string& id) override { return inner->get_execution(id); }
  std::vector<store::ExecutionRecord> list_executions(const store::ExecutionFilter& f) override {
    return inner->list_executions(f);
  }
  std::vector<store::StepRun> step_runs(const std::string& id) override { return inner->step_runs(id); }
  std::vector<store::ExecutionRecord> unfinished_executions() override { return inner->unfinished_executions(); }
};

}  // namespace spokeflow::test
