#pragma once
// The one record of platform deliveries already handled — Slack event_id and
// signed-body digests, Discord interaction ids, Teams activity ids — in the
// daemon's database, so a replayed or retried delivery runs once, even
// across a restart. Rows older than the window are forgotten (and purged).
// Created by build_components (no I/O), opened by the daemon at start-up,
// shared by the adapters; any thread (a mutex guards the memory).
//
// Repeats are answered from memory (loaded from the table at open, exact
// because one process writes a database: store::DatabaseLock); a new key is
// written by the store's writer and first_time returns once it is committed.
// Blocks the caller for that commit (shared with everything else queued).

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "src/core/error.hpp"

namespace opsgate::store {
class SqliteStore;
}

namespace opsgate::audit {

class ReplayStore {
 public:
  // `path` ":memory:" keeps the rows in memory (tests only).
  ReplayStore(std::string path, std::chrono::seconds window);
  ~ReplayStore();
  ReplayStore(const ReplayStore&) = delete;
  ReplayStore& operator=(const ReplayStore&) = delete;

  // Opens the database at the path given to the constructor, with a store of
  // its own (tests, tools); once. `config check` never calls it.
  Result<void> open();
  // On the daemon's one store (its writer and group commit); once.
  Result<void> open(std::shared_ptr<store::SqliteStore> store);

  // True when `key` was not seen within the window (it is recorded now);
  // false for a repeat. An error (store not opened, closed, overloaded) must
  // be treated as "cannot tell": the caller refuses the delivery.
  Result<bool> first_time(std::string_view key, std::chrono::system_clock::time_point now);

  // Before open(): a platform that needs a longer memory (Slack's dedup_window) widens it.
  void widen_window(std::chrono::seconds at_least);
  std::chrono::seconds window() const { return window_; }

 private:
  std::mutex mutex_;
  std::string path_;
  std::shared_ptr<store::SqliteStore> store_;
  std::chrono::seconds window_;
  std::int64_t last_purge_ms_ = 0;
  std::unordered_map<std::string, std::int64_t> seen_;  // key -> seen_ms; guarded by mutex_
};

}  // namespace opsgate::audit
