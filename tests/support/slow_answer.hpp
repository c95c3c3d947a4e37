#pragma once
// Stand-ins that are slower than opsgate's timeout: the call is processed and
// recorded first, then its answer waits `delay` (no wait for 0).

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/net/http_types.hpp"

namespace opsgate::test {

inline boost::asio::awaitable<net::HttpResponse> answer_after(net::HttpResponse response,
                                                              std::chrono::milliseconds delay) {
  if (delay.count() > 0) {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor, delay);
    auto waited = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    static_cast<void>(waited);
  }
  co_return response;
}

}  // namespace opsgate::test
