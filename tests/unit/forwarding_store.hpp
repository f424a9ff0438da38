#pragma once
// A store that passes every call through to another one: tests derive from it to count or
// slow down the calls they care about. post() keeps the default (the task runs at once, on the
// caller's thread, against this store and its overrides).
#include <memory>

#include "store/store.hpp"

namespace spokeflow::test {

struct ForwardingStore : store::ExecutionStore {
  std::unique_ptr<store::ExecutionStore> inner;
  explicit ForwardingStore(std::unique_ptr<store::ExecutionStore> s) : inner(std::move(s)) {}

  store::EnqueueResult enqueue(store::ExecutionRecord r) override { return inner->enqueue(std::move(r)); }
  std::vector<store::Claim> claim(const store::ClaimOptions& o, std::int64_t now) override { return inner->claim(o, now); }
  std::vector<store::RenewStatus> renew(const std::vector<store::Fence>& l, std::int64_t until) override {
    return inner->renew(l, until);
  }
  bool release(const store::Fence& l, std::int64_t at, bool waiting) override { return inner->release(l, at, waiting); }
  store::CancelResult request_cancel(const std::string& id, std::int64_t now) override { return inner->request_cancel(id, now); }
  bool reopen(const std::string& id, std::int64_t now) override { return inner->reopen(id, now); }
  std::int64_t next_runnable_at() override { return inner->next_runnable_at(); }
  void on_runnable(std::function<void()> wake) override { inner->on_runnable(std::move(wake)); }
  std::map<std::string, std::int64_t> queue_depth() override { return inner->queue_depth(); }
  void create_execution(store::ExecutionRecord r, const store::Fence& f, store::Durability d) override {
    inner->create_execution(std::move(r), f, d);
  }
  void reopen_child(std::string id, const store::Fence& f, store::Durability d) override {
    inner->reopen_child(std::move(id), f, d);
  }
  void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t at,
                        const store::Fence& f, store::Durability d) override {
    inner->finish_execution(std::move(id), std::move(status), std::move(outputs), std::move(error), at, f, d);
  }
  void record_step(store::StepRun run, const store::Fence& f, store::Durability d) override {
    inner->record_step(std::move(run), f, d);
  }
  std::vector<std::string> flush() override { return inner->flush(); }
  void flush_async(std::function<void(store::CommitResult)> done) override { inner->flush_async(std::move(done)); }
  bool has_batched() const override { return inner->has_batched(); }
  std::optional<store::ExecutionRecord> get_execution(const std::string& id) override { return inner->get_execution(id); }
  std::vector<store::ExecutionRecord> list_executions(const store::ExecutionFilter& f) override {
    return inner->list_executions(f);
  }
  std::vector<store::StepRun> step_runs(const std::string& id) override { return inner->step_runs(id); }
  bool add_token(store::ApiToken t) override { return inner->add_token(std::move(t)); }
  std::optional<store::ApiToken> token_by_hash(const std::string& h) override { return inner->token_by_hash(h); }
  std::vector<store::ApiToken> list_tokens() override { return inner->list_tokens(); }
  bool revoke_token(const std::string& n, std::int64_t now) override { return inner->revoke_token(n, now); }
  bool record_delivery(store::HookDelivery d) override { return inner->record_delivery(std::move(d)); }
  std::optional<store::HookDelivery> delivery(const std::string& id) override { return inner->delivery(id); }
  void add_ui_session(store::UiSession s, std::size_t keep) override { inner->add_ui_session(std::move(s), keep); }
  void note_token_used(const std::string& n, std::int64_t at) override { inner->note_token_used(n, at); }
  std::optional<store::UiSession> ui_session(const std::string& id) override { return inner->ui_session(id); }
  bool end_ui_session(const std::string& id) override { return inner->end_ui_session(id); }
  bool record_redelivery(const std::string& id, std::int64_t at) override { return inner->record_redelivery(id, at); }
  std::vector<store::HookDelivery> recent_deliveries(int limit, const store::DeliveryCursor& after) override {
    return inner->recent_deliveries(limit, after);
  }
  bool record_fire(store::ScheduleFire f) override { return inner->record_fire(std::move(f)); }
  std::optional<store::ScheduleFire> last_fire(const std::string& flow, const std::string& t, bool enqueued_only) override {
    return inner->last_fire(flow, t, enqueued_only);
  }
  std::vector<store::ScheduleFire> recent_fires(const std::string& flow, int limit) override {
    return inner->recent_fires(flow, limit);
  }
  store::PurgeResult purge_executions(const store::PurgeFilter& filter, int batch) override {
    return inner->purge_executions(filter, batch);
  }
};

}  // namespace spokeflow::test
