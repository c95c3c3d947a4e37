#pragma once
// The one record of platform deliveries already handled — Slack event_id and
// signed-body digests, Discord interaction ids, Teams activity ids — in the
// daemon's database, so a replayed or retried delivery runs once, even
// across a restart. Rows older than the window are forgotten (and purged).
// Created by build_components (no I/O), opened by the daemon at start-up,
// shared by the adapters; any thread (a mutex guards the memory).
//
// first_time_async (the Slack adapter) decides on the store's writer thread,
// inside its group commit, and completes once the commit holding the key is
// durable: the calling thread never waits, and nothing competes with the
// writer for the file's lock. first_time (the others) is one small INSERT on
// a connection of its own with synchronous=NORMAL, on the calling thread; it
// waits in SQLite's busy handler while the writer commits (measured: that
// wait on the I/O thread serialised every Slack request, bench/README.md).
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

#include <boost/asio/awaitable.hpp>

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
  // The same decision, made by the store (its writer, in a group commit) and
  // completed on the caller's executor once it is durable; never blocks.
  boost::asio::awaitable<Result<bool>> first_time_async(std::string key, std::chrono::system_clock::time_point now);

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
