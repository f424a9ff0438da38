// A store run on a thread of its own (on_own_thread in store.hpp). The engine's loop thread
// only queues records; turning them into JSON text, SQLite's work and the write system calls
// happen on the store's thread, in the order the records were made.
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "store/store.hpp"

namespace spokeflow::store {
namespace {

class ThreadedStore final : public ExecutionStore {
  using Task = std::function<void(ExecutionStore&)>;

 public:
  explicit ThreadedStore(std::unique_ptr<ExecutionStore> inner) : inner_(std::move(inner)) {
    thread_ = std::thread([this] { serve(); });
  }

  ~ThreadedStore() override {
    try {
      flush();
    } catch (const std::exception&) {
      // Lost, as with the store itself closing on a failed commit: resume re-runs those steps.
    }
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  EnqueueResult enqueue(ExecutionRecord record) override {
    return durable_call([&](ExecutionStore& s) { return s.enqueue(std::move(record)); });
  }
  std::vector<Claim> claim(const ClaimOptions& options, std::int64_t now_ms) override {
    return durable_call([&](ExecutionStore& s) { return s.claim(options, now_ms); });
  }
  std::vector<RenewStatus> renew(const std::vector<Fence>& leases, std::int64_t lease_until) override {
    return durable_call([&](ExecutionStore& s) { return s.renew(leases, lease_until); });
  }
  bool release(const Fence& lease, std::int64_t run_at, bool waiting) override {
    return durable_call([&](ExecutionStore& s) { return s.release(lease, run_at, waiting); });
  }
  CancelResult request_cancel(const std::string& id, std::int64_t now_ms) override {
    return durable_call([&](ExecutionStore& s) { return s.request_cancel(id, now_ms); });
  }
  bool reopen(const std::string& id, std::int64_t now_ms) override {
    return durable_call([&](ExecutionStore& s) { return s.reopen(id, now_ms); });
  }
  std::int64_t next_runnable_at() override {
    return call([](ExecutionStore& s) { return s.next_runnable_at(); });
  }
  std::map<std::string, std::int64_t> queue_depth() override {
    return call([](ExecutionStore& s) { return s.queue_depth(); });
  }

  void create_execution(ExecutionRecord record, const Fence& fence, Durability durability) override {
    write(durability, [r = std::move(record), f = fence](ExecutionStore& s, Durability d) mutable {
      s.create_execution(std::move(r), f, d);
    });
  }
  void reopen_child(std::string id, const Fence& fence, Durability durability) override {
    write(durability, [id = std::move(id), f = fence](ExecutionStore& s, Durability d) mutable {
      s.reopen_child(std::move(id), f, d);
    });
  }
  void finish_execution(std::string id, std::string status, Json outputs, Json error, std::int64_t finished_at,
                        const Fence& fence, Durability durability) override {
    write(durability, [id = std::move(id), status = std::move(status), outputs = std::move(outputs),
                       error = std::move(error), finished_at, f = fence](ExecutionStore& s, Durability d) mutable {
      s.finish_execution(std::move(id), std::move(status), std::move(outputs), std::move(error), finished_at, f, d);
    });
  }
  void record_step(StepRun run, const Fence& fence, Durability durability) override {
    write(durability, [r = std::move(run), f = fence](ExecutionStore& s, Durability d) mutable {
      s.record_step(std::move(r), f, d);
    });
  }

  std::vector<std::string> flush() override {
    const std::uint64_t upto = written_;
    return call([this, upto](ExecutionStore& s) { return commit(s, upto); });
  }

  void flush_async(std::function<void(CommitResult)> done) override {
    const std::uint64_t upto = written_;
    hand_over([this, upto, done = std::move(done)](ExecutionStore& s) {
      CommitResult result;
      try {
        result.fenced = commit(s, upto);
      } catch (...) {
        result.failure = std::current_exception();
      }
      done(std::move(result));
    });
  }

  void post(std::function<void(ExecutionStore&)> task) override { hand_over(std::move(task)); }
  // The store's listener has a thread of its own: nothing to hand over.
  void on_runnable(std::function<void()> wake) override { inner_->on_runnable(std::move(wake)); }

  // Also while a batched write's failure waits to be reported: the next commit must be waited for.
  bool has_batched() const override {
    return written_ != committed_.load(std::memory_order_acquire) || write_failed_.load(std::memory_order_acquire);
  }

  std::optional<ExecutionRecord> get_execution(const std::string& id) override {
    return call([&](ExecutionStore& s) { return s.get_execution(id); });
  }
  std::vector<ExecutionRecord> list_executions(const ExecutionFilter& filter) override {
    return call([&](ExecutionStore& s) { return s.list_executions(filter); });
  }
  std::vector<StepRun> step_runs(const std::string& execution_id) override {
    return call([&](ExecutionStore& s) { return s.step_runs(execution_id); });
  }
  StepRunPage step_run_page(const std::string& execution_id, std::size_t offset, std::size_t limit) override {
    return call([&](ExecutionStore& s) { return s.step_run_page(execution_id, offset, limit); });
  }

  bool add_token(ApiToken token) override {
    return durable_call([&](ExecutionStore& s) { return s.add_token(std::move(token)); });
  }
  std::optional<ApiToken> token_by_hash(const std::string& hash) override {
    return call([&](ExecutionStore& s) { return s.token_by_hash(hash); });
  }
  std::vector<ApiToken> list_tokens() override {
    return call([](ExecutionStore& s) { return s.list_tokens(); });
  }
  bool revoke_token(const std::string& name, std::int64_t now_ms) override {
    return durable_call([&](ExecutionStore& s) { return s.revoke_token(name, now_ms); });
  }
  void note_token_used(const std::string& name, std::int64_t at) override {
    durable_call([&](ExecutionStore& s) {
      s.note_token_used(name, at);
      return true;
    });
  }
  void add_ui_session(UiSession session, std::size_t keep_at_most) override {
    durable_call([&](ExecutionStore& s) {
      s.add_ui_session(std::move(session), keep_at_most);
      return true;
    });
  }
  std::optional<UiSession> ui_session(const std::string& id_hash) override {
    return call([&](ExecutionStore& s) { return s.ui_session(id_hash); });
  }
  bool end_ui_session(const std::string& id_hash) override {
    return durable_call([&](ExecutionStore& s) { return s.end_ui_session(id_hash); });
  }
  bool record_delivery(HookDelivery delivery) override {
    return durable_call([&](ExecutionStore& s) { return s.record_delivery(std::move(delivery)); });
  }
  std::optional<HookDelivery> delivery(const std::string& event_id) override {
    return call([&](ExecutionStore& s) { return s.delivery(event_id); });
  }
  bool record_redelivery(const std::string& event_id, std::int64_t at) override {
    return durable_call([&](ExecutionStore& s) { return s.record_redelivery(event_id, at); });
  }
  std::vector<HookDelivery> recent_deliveries(int limit, const DeliveryCursor& after) override {
    return call([&](ExecutionStore& s) { return s.recent_deliveries(limit, after); });
  }
  bool record_fire(ScheduleFire fire) override {
    return durable_call([&](ExecutionStore& s) { return s.record_fire(std::move(fire)); });
  }
  std::optional<ScheduleFire> last_fire(const std::string& flow, const std::string& trigger, bool enqueued_only) override {
    return call([&](ExecutionStore& s) { return s.last_fire(flow, trigger, enqueued_only); });
  }
  std::vector<ScheduleFire> recent_fires(const std::string& flow, int limit) override {
    return call([&](ExecutionStore& s) { return s.recent_fires(flow, limit); });
  }
  PurgeResult purge_executions(const PurgeFilter& filter, int batch) override {
    return durable_call([&](ExecutionStore& s) { return s.purge_executions(filter, batch); });
  }

 private:
  // A batched write stays with the caller until the next hand-over; a failure is kept for
  // the next commit to report. A `now` write waits for its turn and reports its own failure.
  template <class Write>
  void write(Durability durability, Write body) {
    if (durability == Durability::batched) {
      pending_.emplace_back([this, body = std::move(body)](ExecutionStore& s) mutable {
        // After a batched write fails, the batched writes that follow are dropped until the
        // commit that reports the failure (to everyone it commits for): what reaches disk is
        // the writes in the order made up to some point, never one without those before it
        // (a child's record without its parent's record naming it, for one).
        if (failed_write_) return;
        try {
          body(s, Durability::batched);
        } catch (...) {
          if (!failed_write_) failed_write_ = std::current_exception();
          write_failed_.store(true, std::memory_order_release);
        }
      });
      ++written_;
      // Once a few are pending the store's thread starts on them: it writes them while the
      // caller makes the next ones, and the commit that steps wait for is left with little to
      // do. Fewer (one execution's writes between two of its commits, a step's end and the
      // next one's start) wait for the commit and may run in place.
      if (pending_.size() >= kHandOverAfter) hand_over(nullptr);
      return;
    }
    durable_call([&](ExecutionStore& s) {
      body(s, Durability::now);  // commits the batch before it too
      return 0;
    });
  }

  // A call that commits (the batch before it too) and whose result the caller waits for.
  template <class Fn>
  auto durable_call(Fn fn) -> decltype(fn(std::declval<ExecutionStore&>())) {
    const std::uint64_t upto = written_;
    return call([&](ExecutionStore& s) {
      auto result = fn(s);
      settled(s, upto);
      return result;
    });
  }

  // After a durable write: the batch before it is committed, unless the store still has a
  // loss to report (then the next commit is waited for and reports it).
  void settled(ExecutionStore& s, std::uint64_t upto) {
    if (!s.has_batched()) committed_.store(upto, std::memory_order_release);
  }

  // On the store's thread: commits, and reports the first batched write that failed since
  // the last commit (a failed commit takes precedence: it lost the whole batch).
  std::vector<std::string> commit(ExecutionStore& s, std::uint64_t upto) {
    std::exception_ptr failure = std::exchange(failed_write_, nullptr);
    std::vector<std::string> fenced;
    try {
      fenced = s.flush();
    } catch (...) {
      failure = std::current_exception();
    }
    committed_.store(upto, std::memory_order_release);
    write_failed_.store(false, std::memory_order_release);
    if (failure) std::rethrow_exception(failure);
    return fenced;
  }

  // Runs `fn` after everything written before it and returns its result (or throws its
  // exception) to the caller.
  template <class Fn>
  auto call(Fn fn) -> decltype(fn(std::declval<ExecutionStore&>())) {
    std::packaged_task<decltype(fn(std::declval<ExecutionStore&>()))(ExecutionStore&)> task(std::move(fn));
    auto result = task.get_future();
    run_here_or_hand_over([&task](ExecutionStore& s) { task(s); });
    return result.get();
  }

  // For a caller that waits for `last` anyway: when the store's thread is idle, the pending
  // writes and `last` run right here (no thread to wake and be woken by); else they are
  // handed over.
  void run_here_or_hand_over(Task last) {
    bool here = false;
    {
      std::lock_guard lock(mutex_);
      // Idle, with nothing queued: it cannot wake until this thread hands something over.
      here = !busy_ && queue_.empty();
      if (here) busy_ = true;
    }
    if (!here) {
      hand_over(std::move(last));
      return;
    }
    pending_.push_back(std::move(last));
    run(pending_);
    std::lock_guard lock(mutex_);
    busy_ = false;
  }

  // Runs and empties `tasks`, by whoever is busy_ with the store.
  void run(std::vector<Task>& tasks) {
    for (auto& t : tasks) {
      t(*inner_);
      t = nullptr;  // what a task holds (the engine's waiters) goes now, not after the batch
    }
    tasks.clear();
  }

  // Queues the pending writes and then `last` (if any) for the store's thread.
  void hand_over(Task last) {
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        queue_.swap(pending_);
      } else {
        for (auto& t : pending_) queue_.push_back(std::move(t));
        pending_.clear();
      }
      if (last) queue_.push_back(std::move(last));
    }
    wake_.notify_one();
  }

  void serve() {
    pthread_setname_np(pthread_self(), "spokeflow-store");  // how it shows in top -H and perf
    std::vector<Task> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        batch.swap(queue_);
        busy_ = true;
      }
      run(batch);
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
  }

  static constexpr std::size_t kHandOverAfter = 8;  // batched writes; see write()

  std::unique_ptr<ExecutionStore> inner_;
  // The caller's side.
  std::vector<Task> pending_;    // batched writes not handed over yet
  std::uint64_t written_ = 0;    // batched writes made so far
  // Shared.
  std::atomic<std::uint64_t> committed_{0};  // how many of those are committed (or lost)
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Task> queue_;      // handed over, not run yet
  bool stopping_ = false;
  bool busy_ = false;            // someone is running tasks on the store
  // The store's thread.
  std::exception_ptr failed_write_;
  std::atomic<bool> write_failed_{false};  // failed_write_ is set (read by has_batched)
  std::thread thread_;
};

}  // namespace

std::unique_ptr<ExecutionStore> on_own_thread(std::unique_ptr<ExecutionStore> inner) {
  return std::make_unique<ThreadedStore>(std::move(inner));
}

}  // namespace spokeflow::store
