#pragma once
// Whether this replica can reach its database, for /readyz (check
// "database") and the log: probes every `interval` on a worker thread of its
// own (a probe blocks for a round trip), reports each probe, and logs each
// change once — not every failed probe. While the database is unreachable
// nothing is acted on anyway (every request's audit append fails, so the
// pipeline refuses it with a chat answer), and leader-only work stops with
// the lease. Owned by the daemon; run() on its executor.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"

namespace opsgate::app {

class DatabaseHealth {
 public:
  using Probe = std::function<Result<void>()>;                   // blocking
  using Report = std::function<void(bool ok, std::string detail)>;  // e.g. HttpServer::set_ready

  DatabaseHealth(std::string what, Probe probe, Report report, std::chrono::milliseconds interval);

  // Probes until cancelled.
  boost::asio::awaitable<void> run();
  // One probe, reported and logged on a change (run() calls it; tests too).
  bool check_now();
  bool ok() const { return ok_.load(std::memory_order_acquire); }

 private:
  const std::string what_;
  Probe probe_;
  Report report_;
  const std::chrono::milliseconds interval_;
  std::atomic<bool> ok_{true};
  bool reported_ = false;  // a first probe was reported
};

}  // namespace opsgate::app
