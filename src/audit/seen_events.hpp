#pragma once
// Platform deliveries already handled (Slack event_id, Discord interaction id,
// ...), in SQLite beside the audit log, so a retried delivery runs once even
// across a restart. Owned by one adapter; any thread (a mutex guards the connection).

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "src/core/error.hpp"

namespace SQLite {
class Database;
}

namespace opsgate::audit {

class SeenEvents {
 public:
  // Rows older than `window` are forgotten (and purged now and then).
  static Result<std::unique_ptr<SeenEvents>> open(const std::string& path, std::chrono::seconds window);
  ~SeenEvents();
  SeenEvents(const SeenEvents&) = delete;
  SeenEvents& operator=(const SeenEvents&) = delete;

  // True when `key` was not seen within the window (it is recorded now);
  // false for a repeat. One small INSERT: quick enough for an ack path.
  Result<bool> first_time(const std::string& key, std::chrono::system_clock::time_point now);

 private:
  SeenEvents(std::unique_ptr<SQLite::Database> db, std::chrono::seconds window);

  std::mutex mutex_;
  std::unique_ptr<SQLite::Database> db_;
  std::chrono::seconds window_;
  std::int64_t last_purge_ms_ = 0;
};

}  // namespace opsgate::audit
