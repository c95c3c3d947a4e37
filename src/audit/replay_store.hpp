#pragma once
// The one record of platform deliveries already handled — Slack event_id and
// signed-body digests, Discord interaction ids, Teams activity ids — in the
// daemon's database, so a replayed or retried delivery runs once, even
// across a restart. Rows older than the window are forgotten (and purged).
// Created by build_components (no I/O), opened by the daemon at start-up,
// shared by the adapters; any thread (a mutex guards the memory).
//
// The check is one small INSERT on a connection of its own, with
// synchronous=NORMAL: a crash of opsgate keeps committed rows (WAL); an OS
// crash could lose a retry window of a few ms, not worth waiting for an fsync
// on the acknowledgement path. (Through the store's writer it would wait for
// a group commit's fsync on the I/O thread, or, queued and not waited for,
// leave acknowledged work unthrottled; both measured worse, see the report.)
// The table itself belongs to the store's schema.
//
// On PostgreSQL (several replicas) the check is one INSERT ... ON CONFLICT in
// a transaction of its own on the store's pool: the database decides which
// replica saw a delivery first, and a retry that lands on the other replica
// is a repeat there too.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "src/core/error.hpp"

namespace SQLite {
class Database;
}

namespace opsgate::store {
class SqliteStore;
class PgStore;
}  // namespace opsgate::store

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
  // On the daemon's one store (its schema; ":memory:": its connection); once.
  Result<void> open(std::shared_ptr<store::SqliteStore> store);
  // On PostgreSQL (storage.backend: postgres); once.
  Result<void> open(std::shared_ptr<store::PgStore> store);

  // True when `key` was not seen within the window (it is recorded now);
  // false for a repeat. An error (store not opened, disk) must be treated as
  // "cannot tell": the caller refuses the delivery. One small INSERT.
  Result<bool> first_time(std::string_view key, std::chrono::system_clock::time_point now);

  // Before open(): a platform that needs a longer memory (Slack's dedup_window) widens it.
  void widen_window(std::chrono::seconds at_least);
  std::chrono::seconds window() const { return window_; }

 private:
  std::mutex mutex_;
  std::string path_;
  std::shared_ptr<store::SqliteStore> store_;
  std::shared_ptr<store::PgStore> pg_;
  std::unique_ptr<SQLite::Database> db_;  // null for ":memory:" (the store's connection holds the rows)
  std::chrono::seconds window_;
  std::int64_t last_purge_ms_ = 0;
};

}  // namespace opsgate::audit
