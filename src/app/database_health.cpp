#include "src/app/database_health.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace opsgate::app {

namespace asio = boost::asio;

DatabaseHealth::DatabaseHealth(std::string what, Probe probe, Report report, std::chrono::milliseconds interval)
    : what_(std::move(what)), probe_(std::move(probe)), report_(std::move(report)), interval_(interval) {}

bool DatabaseHealth::check_now() {
  Result<void> probed = tl::unexpected(Error{Errc::internal, "not probed"});
  try {
    probed = probe_();
  } catch (const std::exception& e) {
    probed = tl::unexpected(Error{Errc::storage, e.what()});
  }
  const bool was_ok = ok_.exchange(probed.has_value(), std::memory_order_acq_rel);
  if (!probed && (was_ok || !reported_)) {
    spdlog::error("database {} unreachable: {}; this replica acts on nothing (requests are refused, or answered "
                  "that the audit log cannot be written) and /readyz fails until it answers again",
                  what_, probed.error().message);
  } else if (probed && !was_ok) {
    spdlog::info("database {} answers again; requests are handled again", what_);
  }
  reported_ = true;
  if (report_) {
    report_(probed.has_value(), probed ? what_ : probed.error().message);
  }
  return probed.has_value();
}

asio::awaitable<void> DatabaseHealth::run() {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto home = co_await asio::this_coro::executor;
  asio::thread_pool worker(1);
  asio::steady_timer timer(home);
  for (;;) {
    co_await asio::post(worker, asio::use_awaitable);
    const bool healthy = check_now();
    (void)healthy;
    co_await asio::post(home, asio::use_awaitable);
    timer.expires_after(interval_);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
      break;
    }
  }
  worker.join();
}

}  // namespace opsgate::app
