#include "serve/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/ids.hpp"
#include "common/log_fields.hpp"
#include "store/async.hpp"

#include <utility>

namespace spokeflow::serve {
namespace asio = boost::asio;
using asio::awaitable;
namespace {

using schedule::Instant;
Instant instant(std::int64_t ms) { return Instant(std::chrono::milliseconds(ms)); }
std::int64_t ms_of(Instant t) { return t.time_since_epoch().count(); }

bool unfinished(const std::string& status) { return status == "queued" || status == "running" || status == "waiting"; }

class NoScope final : public expr::Scope {
 public:
  const Json* lookup(std::string_view) const override { return nullptr; }
};

}  // namespace

Scheduler::Scheduler(runtime::Runtime& runtime, FlowCatalog& catalog, std::function<std::int64_t()> clock)
    : runtime_(runtime), catalog_(catalog), clock_(std::move(clock)), started_at_(clock_()) {}

Scheduler::~Scheduler() { *alive_ = false; }

std::string Scheduler::trigger_key(std::size_t index, const flow::Trigger& t) {
  return std::to_string(index) + ":" + (t.schedule ? t.schedule->cron().text + "@" + t.schedule->time_zone() : "");
}

awaitable<int> Scheduler::tick() {
  const std::int64_t now = clock_();
  int enqueued = 0;
  for (const auto& [name, f] : catalog_.flows())
    for (std::size_t i = 0; i < f->triggers.size(); ++i)
      if (f->triggers[i].schedule) enqueued += co_await fire_trigger(f, i, now);
  co_return enqueued;
}

awaitable<int> Scheduler::fire_trigger(const flow::FlowPtr& f, std::size_t index, std::int64_t now) {
  const flow::Trigger& trigger = f->triggers[index];
  const schedule::Schedule& sched = *trigger.schedule;
  const std::string key = trigger_key(index, trigger);
  const std::string flow_name = f->name;
  auto read_last = [flow_name, key](store::ExecutionStore& s) { return s.last_fire(flow_name, key, false); };
  auto last = co_await store::on_store(runtime_.store(), std::move(read_last));
  // Without any record, history starts with this service: nothing before it is owed.
  const std::int64_t from = last ? last->scheduled_at : started_at_;
  if (from >= now) co_return 0;
  auto due = sched.fires_between(instant(from), instant(now), schedule::kMaxCatchupFires);
  if (due.total() == 0) co_return 0;

  // Fires due before this service started were missed by downtime: `catchup` decides which of
  // them are made. Fires since are made however late this tick is. More than the limit pending
  // is a backlog from downtime too.
  std::vector<Instant> make;
  std::int64_t missed = 0;                 // fires not made
  std::optional<Instant> missed_mark;      // a fire not made, recorded to carry the count
  const auto total = static_cast<std::int64_t>(due.total());
  if (due.more > 0) {
    switch (trigger.catchup) {
      case schedule::Catchup::none: missed = total; missed_mark = due.last; break;
      case schedule::Catchup::last: make = {*due.last}; missed = total - 1; break;
      case schedule::Catchup::all:
        make = due.instants;
        missed = static_cast<std::int64_t>(due.more);
        missed_mark = due.last;
        break;
    }
  } else {
    std::vector<Instant> downtime, since;
    for (const auto& t : due.instants) (ms_of(t) < started_at_ ? downtime : since).push_back(t);
    switch (trigger.catchup) {
      case schedule::Catchup::none:
        missed = static_cast<std::int64_t>(downtime.size());
        if (since.empty() && !downtime.empty()) missed_mark = downtime.back();
        break;
      case schedule::Catchup::last:
        if (!downtime.empty()) {
          make.push_back(downtime.back());
          missed = static_cast<std::int64_t>(downtime.size()) - 1;
        }
        break;
      case schedule::Catchup::all: make = downtime; break;
    }
    make.insert(make.end(), since.begin(), since.end());
  }
  if (missed > 0) {
    const Json log_fields = {{"flow", flow_name}};
    log_with(spdlog::level::warn, log_fields,
             "schedule of {} ({}): {} fires were due while no service ran and are not made (catchup: {})", flow_name,
             sched.cron().text, missed, schedule::to_string(trigger.catchup));
    if (on_fire) on_fire(flow_name, "missed", missed);
  }
  // The count goes on the first record written (the mark's own fire is one of those missed).
  std::int64_t carry = missed_mark ? 0 : missed;

  NoScope scope;
  int enqueued = 0;
  for (const Instant& t : make) {
    const std::int64_t at = ms_of(t);
    if (trigger.overlap != schedule::Overlap::allow) {
      auto read_prev = [flow_name, key](store::ExecutionStore& s) { return s.last_fire(flow_name, key, true); };
      auto prev = co_await store::on_store(runtime_.store(), std::move(read_prev));
      std::string prev_status;
      if (prev && !prev->execution_id.empty()) {
        const std::string pid = prev->execution_id;
        auto get = [pid](store::ExecutionStore& s) { return s.get_execution(pid); };
        auto rec = co_await store::on_store(runtime_.store(), std::move(get));
        if (rec) prev_status = rec->status;
      }
      if (unfinished(prev_status)) {
        if (trigger.overlap == schedule::Overlap::queue) co_return enqueued;  // made once the previous ends
        store::ScheduleFire rec{flow_name, key, at, now, "skipped_overlap", "", std::exchange(carry, 0)};
        auto write = [rec](store::ExecutionStore& s) { return s.record_fire(rec); };
        co_await store::on_store(runtime_.store(), std::move(write));
        const Json log_fields = {{"flow", flow_name}, {"previous_execution_id", prev->execution_id}};
        log_with(spdlog::level::info, log_fields,
                 "schedule of {}: the fire at {} is skipped: the previous one is still {}", flow_name,
                 format_timestamp(at), prev_status);
        if (on_fire) on_fire(flow_name, "skipped_overlap", 1);
        continue;
      }
    }
    auto inputs = trigger.inputs.empty() ? Result<Json>(Json::object()) : trigger.inputs.evaluate(scope);
    Json trig = {{"type", "schedule"}, {"cron", sched.cron().text}, {"timezone", sched.time_zone()},
                 {"scheduled_at", format_timestamp(at)}};
    if (!inputs.ok()) {
      const Json log_fields = {{"flow", flow_name}};
      log_with(spdlog::level::err, log_fields, "schedule of {}: its inputs cannot be evaluated: {}",
               flow_name, inputs.error().message);
      co_return enqueued;
    }
    std::string dedupe = "schedule:" + flow_name + ":" + key + ":" + std::to_string(at);
    auto started = co_await runtime_.enqueue(f, *inputs, false, std::move(trig), std::move(dedupe));
    if (!started.ok()) {
      const Json log_fields = {{"flow", flow_name}};
      log_with(spdlog::level::err, log_fields, "schedule of {}: the fire at {} was refused: {}", flow_name,
               format_timestamp(at), started.error().message);
      co_return enqueued;  // not recorded: tried again at the next tick
    }
    store::ScheduleFire rec{flow_name, key, at, now, "enqueued", started->id, std::exchange(carry, 0)};
    auto write = [rec](store::ExecutionStore& s) { return s.record_fire(rec); };
    co_await store::on_store(runtime_.store(), std::move(write));
    if (started->created) {
      ++enqueued;
      if (on_enqueued) on_enqueued();
      if (on_fire) on_fire(flow_name, "enqueued", 1);
    }
  }
  if (missed_mark) {
    store::ScheduleFire rec{flow_name, key, ms_of(*missed_mark), now, "missed", "", missed - 1};
    auto write = [rec](store::ExecutionStore& s) { return s.record_fire(rec); };
    co_await store::on_store(runtime_.store(), std::move(write));
  }
  co_return enqueued;
}

awaitable<void> Scheduler::run() {
  auto alive = std::weak_ptr<bool>(alive_);
  timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  while (!stopping_) {
    try {
      co_await tick();
    } catch (const std::exception& e) {
      spdlog::error("schedules: {} (trying again)", e.what());
    }
    if (alive.expired() || stopping_) co_return;
    const std::int64_t now = clock_();
    std::int64_t next = now + 30'000;
    for (const auto& [_, f] : catalog_.flows())
      for (const auto& t : f->triggers)
        if (t.schedule)
          if (auto n = t.schedule->next_after(instant(now))) next = std::min(next, ms_of(*n));
    timer_->expires_after(std::chrono::milliseconds(std::max<std::int64_t>(next - now, 0) + 5));
    co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (alive.expired()) co_return;
  }
}

void Scheduler::stop() {
  stopping_ = true;
  if (timer_) timer_->cancel();
}

}  // namespace spokeflow::serve
