#include "serve/retention.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "store/async.hpp"

namespace spokeflow::serve {
namespace asio = boost::asio;

std::vector<store::PurgeFilter> retention_filters(const RetentionConfig& c, std::int64_t now) {
  std::vector<store::PurgeFilter> out;
  auto add = [&](const RetentionRule& r, const std::string& flow, const std::vector<std::string>& except) {
    // Two purges: each bound removes what it names on its own.
    if (r.max_age.count() > 0) {
      store::PurgeFilter f;
      f.flow = flow;
      f.except_flows = except;
      f.finished_before = now - r.max_age.count();
      out.push_back(std::move(f));
    }
    if (r.keep_last > 0) {
      store::PurgeFilter f;
      f.flow = flow;
      f.except_flows = except;
      f.keep_last = r.keep_last;
      out.push_back(std::move(f));
    }
  };
  std::vector<std::string> own;
  for (const auto& [flow, rule] : c.flows) {
    own.push_back(flow);
    add(rule, flow, {});
  }
  add(c.all, "", own);
  return out;
}

Retention::Retention(store::ExecutionStore& store, RetentionConfig config, std::function<std::int64_t()> clock)
    : store_(store), config_(std::move(config)), clock_(std::move(clock)) {}

Retention::~Retention() { *alive_ = false; }

asio::awaitable<std::int64_t> Retention::pass() {
  auto alive = std::weak_ptr<bool>(alive_);
  std::int64_t deleted = 0;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (auto filter : retention_filters(config_, clock_())) {
    for (bool more = true; more && !stopping_;) {
      const auto started = std::chrono::steady_clock::now();
      auto purge = [filter, batch = config_.batch](store::ExecutionStore& s) { return s.purge_executions(filter, batch); };
      const store::PurgeResult r = co_await store::on_store(store_, std::move(purge));
      if (alive.expired()) co_return deleted;
      deleted += r.executions;
      more = r.more;
      filter.after = r.next;
      // As long again as the batch took (at least 10 ms): the queue's writes wait at most one
      // batch, and a purge never takes more than half of the store's time.
      pause.expires_after(std::max<std::chrono::steady_clock::duration>(std::chrono::steady_clock::now() - started,
                                                                        std::chrono::milliseconds(10)));
      if (more) co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      if (alive.expired()) co_return deleted;
    }
  }
  co_return deleted;
}

asio::awaitable<void> Retention::run() {
  auto alive = std::weak_ptr<bool>(alive_);
  timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  while (!stopping_) {
    try {
      const std::int64_t n = co_await pass();
      if (alive.expired()) co_return;
      if (n > 0) spdlog::info("retention: {} finished executions purged", n);
    } catch (const std::exception& e) {
      if (alive.expired()) co_return;
      spdlog::error("retention: the purge failed: {} (trying again in {})", e.what(), format_duration(config_.interval));
    }
    if (stopping_) co_return;
    timer_->expires_after(config_.interval);
    co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (alive.expired()) co_return;
  }
}

void Retention::stop() {
  stopping_ = true;
  if (timer_) timer_->cancel();
}

}  // namespace spokeflow::serve
