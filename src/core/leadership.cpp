#include "src/core/leadership.hpp"

#include <unistd.h>

#include <array>
#include <limits>
#include <random>
#include <stdexcept>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace opsgate {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

constexpr std::int64_t kNotLeading = std::numeric_limits<std::int64_t>::min();
// How long run() waits, at shutdown, for leader-only work to stop before it
// releases the lease anyway (the work was cancelled; the lease is released
// so that the next replica need not wait out the ttl).
constexpr int kStopPolls = 40;
constexpr std::chrono::milliseconds kStopPoll{50};

std::int64_t ns_of(Leadership::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

LeadershipOptions checked(LeadershipOptions options) {
  if (options.ttl <= std::chrono::milliseconds(0) || options.safety_margin < std::chrono::milliseconds(0) ||
      options.safety_margin * 2 > options.ttl) {
    throw std::invalid_argument("leader lease: the safety margin (" + std::to_string(options.safety_margin.count()) +
                                " ms) must be at most half the ttl (" + std::to_string(options.ttl.count()) + " ms)");
  }
  if (options.holder.empty()) {
    options.holder = default_holder_id();
  }
  return options;
}

bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

std::string default_holder_id() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) {
    host[0] = '\0';
  }
  std::random_device random;
  std::array<char, 8> suffix{};
  std::snprintf(suffix.data(), suffix.size(), "%06x", random() & 0xffffffU);
  return std::string(host.data()) + ":" + std::to_string(::getpid()) + ":" + suffix.data();
}

Leadership::Leadership(LeadershipOptions options) : options_(checked(std::move(options))), valid_until_ns_(kNotLeading) {}

void Leadership::on_answer(TimePoint sent, std::optional<std::int64_t> token) {
  if (!token) {
    valid_until_ns_.store(kNotLeading, std::memory_order_release);
    return;
  }
  // From when the renewal was sent, not answered: the database extended the
  // lease at some instant after `sent`, so its expiry is later than this.
  token_.store(*token, std::memory_order_release);
  valid_until_ns_.store(ns_of(sent + options_.ttl - options_.safety_margin), std::memory_order_release);
}

void Leadership::on_failure(TimePoint /*sent*/, const Error& /*error*/) {
  // Nothing is extended: the deadline of the last success stands.
}

bool Leadership::is_leader(TimePoint now) const { return ns_of(now) < valid_until_ns_.load(std::memory_order_acquire); }

Leadership::TimePoint Leadership::valid_until() const {
  const std::int64_t ns = valid_until_ns_.load(std::memory_order_acquire);
  if (ns == kNotLeading) {
    return TimePoint::min();
  }
  return TimePoint(std::chrono::duration_cast<steady_clock::duration>(std::chrono::nanoseconds(ns)));
}

void Leadership::step_down() { valid_until_ns_.store(kNotLeading, std::memory_order_release); }

asio::awaitable<void> Leadership::run(LeaderLease& lease) {
  // Cleanup after cancellation still awaits (the worker, the release).
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto home = co_await asio::this_coro::executor;
  asio::thread_pool worker(1);  // the lease's round trips block
  asio::steady_timer timer(home);
  bool leading = false;
  std::int64_t led_with = 0;  // the token of the last renewal that held
  for (;;) {
    const TimePoint sent = steady_clock::now();
    co_await asio::post(worker, asio::use_awaitable);
    Result<std::optional<std::int64_t>> answer = tl::unexpected(Error{Errc::internal, "lease not asked"});
    try {
      answer = lease.acquire(options_.name, options_.holder, options_.ttl);
    } catch (const std::exception& e) {
      answer = tl::unexpected(Error{Errc::storage, e.what()});
    }
    co_await asio::post(home, asio::use_awaitable);
    if (answer) {
      on_answer(sent, *answer);
      if (failing_) {
        spdlog::info("leader lease {}: the database answers again", options_.name);
        failing_ = false;
      }
      if (answer->has_value() && (!leading || **answer != led_with)) {
        // A new token while it still believed it led: the lease lapsed during
        // an outage and was taken again (by this replica).
        spdlog::info("leader lease {}: this replica ({}) leads, fencing token {}", options_.name, options_.holder,
                     **answer);
        standby_logged_ = false;
      } else if (!answer->has_value() && leading) {
        spdlog::warn("leader lease {}: another replica holds it now; leader-only work stopped here", options_.name);
      } else if (!answer->has_value() && !standby_logged_) {
        spdlog::info("leader lease {}: another replica leads; this one ({}) stands by", options_.name,
                     options_.holder);
        standby_logged_ = true;
      }
      leading = answer->has_value();
      led_with = answer->value_or(0);
    } else {
      on_failure(sent, answer.error());
      if (!failing_) {
        spdlog::error("leader lease {}: cannot renew: {}; leader-only work stops {} ms after the last renewal unless "
                      "the database answers",
                      options_.name, answer.error().message,
                      (options_.ttl - options_.safety_margin).count());
        failing_ = true;
      }
      leading = is_leader();
    }
    const auto state = co_await asio::this_coro::cancellation_state;
    if (cancelled(state)) {
      break;
    }
    timer.expires_at(sent + renew_interval());
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    const auto after = co_await asio::this_coro::cancellation_state;
    if (cancelled(after)) {
      break;
    }
  }
  step_down();
  // Release only once leader-only work is done, or another replica could
  // start it while this one still holds, say, a gateway session.
  for (int i = 0; i < kStopPolls && running_.load() > 0; ++i) {
    timer.expires_after(kStopPoll);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  if (leading) {
    co_await asio::post(worker, asio::use_awaitable);
    Result<void> released = tl::unexpected(Error{Errc::internal, "lease not released"});
    try {
      released = lease.release(options_.name, options_.holder);
    } catch (const std::exception& e) {
      released = tl::unexpected(Error{Errc::storage, e.what()});
    }
    co_await asio::post(home, asio::use_awaitable);
    if (!released) {
      spdlog::warn("leader lease {}: not released ({}); another replica takes over when it expires",
                   options_.name, released.error().message);
    } else {
      spdlog::info("leader lease {}: released", options_.name);
    }
  }
  worker.join();
}

asio::awaitable<void> Leadership::watch() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (is_leader()) {
    timer.expires_at(valid_until());
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) {
      throw boost::system::system_error(ec);  // cancelled: not a loss of leadership
    }
  }
}

asio::awaitable<void> Leadership::run_while_leader(std::string what, std::function<asio::awaitable<void>()> task,
                                                    std::function<void(bool leading)> on_change) {
  using namespace asio::experimental::awaitable_operators;
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // Standby replicas look again this often: a takeover starts the work
  // within this of the lease being won (a timer, no query).
  const auto poll = std::min<std::chrono::milliseconds>(renew_interval(), std::chrono::milliseconds(250));
  if (on_change) {
    on_change(false);
  }
  for (;;) {
    while (!is_leader()) {
      timer.expires_after(poll);
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;
      const auto state = co_await asio::this_coro::cancellation_state;
      if (cancelled(state)) {
        co_return;
      }
    }
    spdlog::info("leader: starting {} (fencing token {})", what, token());
    if (on_change) {
      on_change(true);
    }
    ++running_;
    struct Done {
      std::atomic<int>& running;
      ~Done() { --running; }
    } done{running_};
    std::variant<std::monostate, std::monostate> first;
    try {
      first = co_await (task() || watch());
    } catch (const std::exception& e) {
      spdlog::error("leader: {} failed: {}", what, e.what());
      co_return;
    }
    const auto state = co_await asio::this_coro::cancellation_state;
    if (cancelled(state)) {
      co_return;
    }
    if (first.index() == 0) {
      co_return;  // the task ended by itself (e.g. a fatal close); it logged why
    }
    spdlog::warn("leader: no longer sure to hold the lease: {} stopped before it could expire; another replica "
                 "takes over",
                 what);
    if (on_change) {
      on_change(false);
    }
  }
}

}  // namespace opsgate
