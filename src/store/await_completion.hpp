#pragma once
// Suspends a coroutine until another thread (a database writer, a reader
// pool) delivers its result, and resumes it on its own executor, never
// inline on the delivering thread. Used by PgStore; any store with a thread
// of its own can use it.

#include <functional>
#include <memory>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/error.hpp"

namespace opsgate::store {

// Calls `start(deliver)` on the calling thread; `deliver(result)` may be
// called once, from any thread, and resumes the awaiting coroutine.
template <class T>
boost::asio::awaitable<Result<T>> await_completion(std::function<void(std::function<void(Result<T>)>)> start) {
  namespace asio = boost::asio;
  using Handler = asio::any_completion_handler<void(Result<T>)>;
  struct Waiter {
    // Boxed: Boost 1.81's any_completion_handler move-assignment recurses
    // until the stack overflows (fixed in 1.82).
    std::unique_ptr<Handler> handler;
    // The handler's executor with outstanding work tracked, so the
    // io_context does not run out of work while only another thread holds
    // the suspended coroutine.
    asio::any_io_executor work;
  };
  auto initiate = [](auto handler, std::function<void(std::function<void(Result<T>)>)> begin) {
    auto waiter = std::make_shared<Waiter>();
    waiter->work = asio::any_io_executor(
        asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked));
    waiter->handler = std::make_unique<Handler>(std::move(handler));
    begin([waiter](Result<T> result) {
      auto work = std::move(waiter->work);
      asio::post(work, [waiter, result = std::move(result)]() mutable {
        std::move (*waiter->handler)(std::move(result));
      });
    });
  };
  Result<T> result = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(
      std::move(initiate), asio::use_awaitable, std::move(start));
  co_return result;
}

}  // namespace opsgate::store
