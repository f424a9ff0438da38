#pragma once
// Awaiting the store from an event loop without waiting on it: the call runs where the store
// runs its work (its own thread for on_own_thread), after every write made before it, and the
// coroutine resumes on its own executor with the result (or the exception the call threw).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "store/store.hpp"

namespace spokeflow::store {

// Pass a named callable (std::move(fn)), not a lambda written in the co_await expression: GCC 12
// can destroy such temporaries twice.
template <class Fn, class R = std::invoke_result_t<Fn&, ExecutionStore&>>
boost::asio::awaitable<R> on_store(ExecutionStore& store, Fn fn) {
  namespace asio = boost::asio;
  static_assert(!std::is_void_v<R>, "on_store needs a call that returns a value");
  auto ex = co_await asio::this_coro::executor;
  // use_awaitable rethrows a non-null exception_ptr first argument.
  std::optional<R> result = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                                         void(std::exception_ptr, std::optional<R>)>(
      [&store, ex](auto handler, Fn fn) {
        // The store keeps std::function tasks: the move-only handler travels in a shared_ptr.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        store.post([h, ex, fn = std::move(fn)](ExecutionStore& s) mutable {
          std::optional<R> r;
          std::exception_ptr e;
          try {
            r.emplace(fn(s));
          } catch (...) {
            e = std::current_exception();
          }
          asio::post(ex, [h, e, r = std::move(r)]() mutable { std::move (*h)(e, std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(fn));
  R out = std::move(*result);
  co_return out;
}

}  // namespace spokeflow::store
