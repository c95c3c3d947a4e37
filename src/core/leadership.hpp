#pragma once
// One replica's leadership: renews a LeaderLease every ttl/3 and says it
// leads only until ttl minus a safety margin after the last successful
// renewal was *sent* — so it stops believing before the database could give
// the lease to another replica, even when renewals hang or fail. Work that
// must run once (run_while_leader) is started when it leads and cancelled
// when it stops. Owned by the daemon's components; run() and
// run_while_leader() on the daemon's executor; is_leader()/token() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"
#include "src/core/leader_lease.hpp"

namespace opsgate {

struct LeadershipOptions {
  std::string name = "leader";  // the lease's row
  std::string holder;           // this replica; empty: <hostname>:<pid>:<random>
  std::chrono::milliseconds ttl{15000};
  // Leadership is considered lost at ttl - safety_margin after the last
  // successful renewal was sent: the time leader-only work has to stop, plus
  // how far this host's clock may run slow against the database's over a ttl.
  std::chrono::milliseconds safety_margin{5000};
};

class Leadership {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit Leadership(LeadershipOptions options);

  const LeadershipOptions& options() const { return options_; }
  std::chrono::milliseconds renew_interval() const { return options_.ttl / 3; }

  // The pure part (tests drive it with a fake clock). An acquire/renew sent
  // at `sent` answered: held with `token`, or nullopt (another holder has it).
  void on_answer(TimePoint sent, std::optional<std::int64_t> token);
  // An acquire/renew sent at `sent` failed (database unreachable): nothing
  // is extended; leadership ends at the deadline the last success gave.
  void on_failure(TimePoint sent, const Error& error);
  bool is_leader(TimePoint now) const;
  bool is_leader() const { return is_leader(std::chrono::steady_clock::now()); }
  TimePoint valid_until() const;
  std::int64_t token() const { return token_.load(std::memory_order_acquire); }
  // Stop leading at once (shutdown).
  void step_down();

  // Renews `lease` until cancelled, then waits (bounded) for leader-only work
  // to stop and releases the lease. `lease` must outlive it.
  boost::asio::awaitable<void> run(LeaderLease& lease);

  // Runs `task` whenever this replica leads, cancelling it as soon as it no
  // longer does; returns when cancelled or when `task` returns by itself.
  // `on_change(true)` just before `task` starts, `on_change(false)` after
  // it was stopped for the loss of leadership (and once at first, on standby).
  boost::asio::awaitable<void> run_while_leader(std::string what, std::function<boost::asio::awaitable<void>()> task,
                                                std::function<void(bool leading)> on_change = {});

 private:
  boost::asio::awaitable<void> watch();  // returns when leadership is lost

  const LeadershipOptions options_;
  std::atomic<std::int64_t> valid_until_ns_;  // steady_clock; min: not leading
  std::atomic<std::int64_t> token_{0};
  std::atomic<int> running_{0};  // leader-only tasks running now
  bool failing_ = false;         // run()'s executor only: the last renewal failed (logged once)
  bool standby_logged_ = false;  // run()'s executor only
};

// <hostname>:<pid>:<6 random hex digits>: names this process in a lease.
std::string default_holder_id();

}  // namespace opsgate
