// for_each: over a list, or streamed page by page from a list action. A streamed page is
// journaled with its items, so that a resumed loop works on exactly the items it saw before
// the crash (each processed once), whatever the org answers now.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "run/engine_impl.hpp"

namespace spokeflow::run {
using asio::use_awaitable;

namespace {
using SpawnOp = decltype(asio::co_spawn(std::declval<asio::any_io_executor>(), std::declval<awaitable<void>>(),
                                        asio::deferred));
}

struct Engine::Impl::LoopState {
  const Json* items = nullptr;  // the list, or the current page of a streamed source
  std::size_t base = 0;         // index of items[0] among all items (pages before it)
  std::size_t next = 0;
  std::size_t failed = 0;
  std::size_t done = 0;         // iterations ended
  std::size_t total = 0;        // items known so far
  bool total_known = true;
  Json results;
  std::optional<Error> first_error;
  bool ended = false;
};

struct Engine::Impl::PageFetch {
  Json items = Json::array();
  Json next;   // the cursor for the page after, null at the end
  Json error;  // set when the page could not be had
};

awaitable<StepResult> Engine::Impl::run_for_each(const Step& step, Frame& frame, const std::string& prefix,
                                                 Json& record_inputs) {
  LoopState st;
  st.results = Json::array();
  std::size_t total = 0;
  std::optional<Error> source_error;
  if (step.items) {
    auto v = step.items->evaluate(frame);
    if (!v.ok()) co_return fail_result(v.error(), prefix);
    Json items = std::move(*v);
    if (items.is_null()) items = Json::array();
    if (!items.is_array())
      co_return fail_result(Error::make(ErrorKind::validation, "for_each needs a list, got " +
                                                                   std::string(items.type_name())),
                            prefix);
    total = items.size();
    st.items = &items;
    st.total = total;
    st.results.get_ref<Json::array_t&>().resize(items.size());
    report_loop(frame.ex(), prefix, st, false);
    co_await run_pool(step, frame, prefix, st);
  } else {
    // A list action streamed page by page: only the page being worked on (and the next one,
    // fetched while it is) is held in memory, however long the list.
    Json base_inputs = Json::object();
    if (!step.items_with.empty()) {
      auto w = step.items_with.evaluate(frame);
      if (!w.ok()) co_return fail_result(w.error(), prefix);
      base_inputs = std::move(*w);
    }
    PageFetch fetch;
    co_await fetch_page(step, frame, prefix, base_inputs, 0, Json(), fetch);
    for (int page = 0;; ++page) {
      if (frame.ex().root->stopped()) break;
      if (!fetch.error.empty()) {
        source_error = Error::from_json(fetch.error);
        break;
      }
      Json items = std::move(fetch.items);
      Json cursor = std::move(fetch.next);
      st.items = &items;
      st.base = total;
      st.next = 0;
      total += items.size();
      st.total = total;
      st.total_known = cursor.is_null();
      st.results.get_ref<Json::array_t&>().resize(total);
      report_loop(frame.ex(), prefix, st, false);
      fetch = PageFetch{};
      if (cursor.is_null()) {
        co_await run_pool(step, frame, prefix, st);
        break;
      }
      // Work on this page while the next one is fetched.
      std::vector<SpawnOp> ops;
      auto ex = co_await asio::this_coro::executor;
      ops.push_back(asio::co_spawn(ex, run_pool(step, frame, prefix, st), asio::deferred));
      ops.push_back(asio::co_spawn(ex, fetch_page(step, frame, prefix, base_inputs, page + 1, cursor, fetch),
                                   asio::deferred));
      auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                 .async_wait(asio::experimental::wait_for_all(), use_awaitable);
      for (auto& e : errors)
        if (e) std::rethrow_exception(e);
      if (st.ended || halted(frame.ex(), prefix)) break;
    }
  }
  record_inputs = {{"count", total}};
  st.total = total;
  st.total_known = true;
  report_loop(frame.ex(), prefix, st, true);

  StepResult r;
  r.outputs = {{"count", total}, {"failed", st.failed}, {"results", std::move(st.results)}};
  r.ended = st.ended;
  if (source_error) {
    r.status = "failed";
    Error e = std::move(*source_error);
    e.message = "for_each source " + step.items_action + " failed after " + std::to_string(total) +
                " items: " + e.message;
    r.error = std::move(e);
  } else if (st.failed > 0) {
    r.status = "failed";
    Error e = *st.first_error;
    e.message = std::to_string(st.failed) + " of " + std::to_string(total) +
                " iterations failed; first: " + e.message;
    r.error = std::move(e);
  }
  co_return r;
}

// Runs the loop body over st.items with the step's concurrency.
awaitable<void> Engine::Impl::run_pool(const Step& step, Frame& frame, const std::string& prefix, LoopState& st) {
  std::size_t workers =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(1, step.concurrency)), st.items->size());
  if (workers <= 1) {
    co_await loop_worker(step, frame, prefix, st);
    co_return;
  }
  std::vector<SpawnOp> ops;
  for (std::size_t i = 0; i < workers; ++i)
    ops.push_back(asio::co_spawn(co_await asio::this_coro::executor, loop_worker(step, frame, prefix, st),
                                 asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

awaitable<void> Engine::Impl::loop_worker(const Step& step, Frame& frame, const std::string& prefix, LoopState& st) {
  ExecState& ex = frame.ex();
  while (st.next < st.items->size()) {
    std::size_t local = st.next;
    std::size_t i = st.base + local;
    std::string iter_prefix = prefix + "[" + std::to_string(i) + "]";
    if (halted(ex, iter_prefix)) break;
    ++st.next;
    Frame iter(ex, &frame);
    iter.set_item(step.as, &(*st.items)[local], i);
    BlockOutcome o = co_await run_block(step.steps, iter, iter_prefix);
    if (o.flow == Flow::stopped) break;
    if (o.flow == Flow::ended) st.ended = true;
    ++st.done;
    if (o.flow == Flow::failed) {
      ++st.failed;
      if (!st.first_error) st.first_error = o.error;
    } else if (step.collect) {
      auto v = step.collect->evaluate(iter);
      if (v.ok()) {
        st.results[i] = std::move(*v);
      } else {
        ++st.failed;
        if (!st.first_error) st.first_error = v.error();
      }
    }
    report_loop(ex, prefix, st, false);
  }
}

void Engine::Impl::report_loop(const ExecState& ex, const std::string& path, const LoopState& st, bool finished) {
  if (!options.on_loop || ex.root->stopped()) return;
  LoopProgress p;
  p.execution_id = ex.id;
  p.flow = ex.flow->name;
  p.outer_path = ex.outer_path;
  p.path = path;
  p.done = st.done;
  p.failed = st.failed;
  p.total = st.total;
  p.total_known = st.total_known;
  p.finished = finished;
  options.on_loop(p);
}

// One page of a `for_each: {action, with}` source. Protocol: the action takes `stream: true`
// and `after` (the previous page's cursor) and returns {items: [...], next: cursor or null}.
// The page's record keeps its items: a resumed loop takes them from there, not from the org.
awaitable<void> Engine::Impl::fetch_page(const Step& step, Frame& frame, const std::string& prefix,
                                         const Json& base_inputs, int page, Json cursor, PageFetch& out) {
  Json inputs = base_inputs;
  inputs["stream"] = true;
  if (!cursor.is_null()) inputs["after"] = cursor;
  Step page_step;
  page_step.kind = Step::Kind::action;
  page_step.action = step.items_action;
  page_step.connection = step.connection;
  page_step.stream_page = true;
  std::string path = prefix + ".page[" + std::to_string(page) + "]";
  ExecState& ex = frame.ex();
  const store::StepRun* prior = ex.prior(path);
  Json result;
  if (prior && prior->status == "succeeded" && prior->outputs.is_object() && prior->outputs.contains("items") &&
      prior->outputs["items"].is_array()) {
    result = prior->outputs;
  } else {
    if (prior && prior->status == "running") mark_interrupted(ex, path);
    flow::ValueTemplate::Node node;
    node.literal = std::move(inputs);
    page_step.with = flow::ValueTemplate(std::move(node));
    StepResult r = co_await run_attempt(page_step, frame, path, prior ? prior->attempt + 1 : 1, nullptr);
    if (r.status != "succeeded") {
      out.error = r.error ? r.error->to_json() : Error::make(ErrorKind::internal, "page failed").to_json();
      co_return;
    }
    result = std::move(r.outputs);
  }
  if (!result.is_object() || !result.contains("items") || !result["items"].is_array()) {
    out.error = Error::make(ErrorKind::validation,
                            step.items_action + " is not a list action (no `items` list in its outputs)")
                    .to_json();
    co_return;
  }
  out.items = std::move(result["items"]);
  out.next = result.value("next", Json());
  if (out.next.is_string() && out.next.get<std::string>().empty()) out.next = nullptr;
}

}  // namespace spokeflow::run
