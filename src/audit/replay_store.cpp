#include "src/audit/replay_store.hpp"

#include <algorithm>

#include <pqxx/pqxx>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"
#include "src/core/clock.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::audit {

namespace {
constexpr std::size_t kMaxKeyBytes = 160;  // longer keys (caller-sized) are stored as a digest
constexpr std::int64_t kPurgeEveryMs = 60'000;
}  // namespace

ReplayStore::ReplayStore(std::string path, std::chrono::seconds window) : path_(std::move(path)), window_(window) {}

ReplayStore::~ReplayStore() = default;

void ReplayStore::widen_window(std::chrono::seconds at_least) {
  std::lock_guard lock(mutex_);
  window_ = std::max(window_, at_least);
}

Result<void> ReplayStore::open() {
  {
    std::lock_guard lock(mutex_);
    if (store_ || pg_) {
      return {};
    }
  }
  // Short: a lock held elsewhere should not hold up an acknowledgement for long.
  store::StoreOptions options;
  options.busy_timeout_ms = 1000;
  auto opened = store::SqliteStore::open(path_, options);
  if (!opened) {
    return fail(Errc::storage,
                "cannot open the replay table (seen_events) in " + path_ + ": " + opened.error().message);
  }
  return open(std::move(*opened));
}

Result<void> ReplayStore::open(std::shared_ptr<store::PgStore> store) {
  std::lock_guard lock(mutex_);
  if (store_ || pg_) {
    return {};
  }
  path_ = store->where();
  pg_ = std::move(store);
  return {};
}

Result<void> ReplayStore::open(std::shared_ptr<store::SqliteStore> store) {
  std::lock_guard lock(mutex_);
  if (store_ || pg_) {
    return {};
  }
  path_ = store->path();
  if (path_ != ":memory:") {
    try {
      auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE);
      // Short: this runs on an acknowledgement path. The writer's batches are milliseconds.
      db->setBusyTimeout(1000);
      db->exec("PRAGMA synchronous=NORMAL");
      db_ = std::move(db);
    } catch (const std::exception& e) {
      return fail(Errc::storage, "cannot open the replay table (seen_events) in " + path_ + ": " + e.what());
    }
  }
  store_ = std::move(store);
  return {};
}

namespace {

// An old row (past the window, not yet purged) counts as new again.
Result<bool> record_key(SQLite::Database& db, const std::string& key, std::int64_t now_ms, std::int64_t cutoff,
                        bool purge) {
  if (purge) {
    SQLite::Statement q(db, "DELETE FROM seen_events WHERE seen_ms < ?");
    q.bind(1, cutoff);
    q.exec();
  }
  SQLite::Statement upsert(db,
                           "INSERT INTO seen_events(key, seen_ms) VALUES(?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET seen_ms = excluded.seen_ms WHERE seen_ms < ?");
  upsert.bind(1, key);
  upsert.bind(2, now_ms);
  upsert.bind(3, cutoff);
  return upsert.exec() > 0;
}

// The same on PostgreSQL: the unique key decides between replicas (a second
// INSERT of the key waits for the first's transaction, then finds it).
Result<bool> record_key(pqxx::transaction_base& tx, const std::string& key, std::int64_t now_ms, std::int64_t cutoff,
                        bool purge) {
  if (purge) {
    tx.exec_params0("DELETE FROM seen_events WHERE seen_ms < $1", cutoff);
  }
  const pqxx::result upserted = tx.exec_params(
      "INSERT INTO seen_events(key, seen_ms) VALUES ($1, $2) "
      "ON CONFLICT (key) DO UPDATE SET seen_ms = excluded.seen_ms WHERE seen_events.seen_ms < $3",
      key, now_ms, cutoff);
  return upserted.affected_rows() > 0;
}

// In a transaction of its own (first_time, on the caller's thread):
// asynchronous commit, as SQLite's synchronous=NORMAL there — visible to every
// replica at once; a crash of the server may forget a retry window's key.
// This runs on an acknowledgement path: a slow server (or the other replica's
// insert of the same key, not yet committed) gets a second, as SQLite's busy
// timeout, then the delivery is refused, not held.
Result<bool> record_key_alone(pqxx::transaction_base& tx, const std::string& key, std::int64_t now_ms,
                              std::int64_t cutoff, bool purge) {
  tx.exec0("SET LOCAL synchronous_commit = off");
  tx.exec0("SET LOCAL statement_timeout = 1000");
  return record_key(tx, key, now_ms, cutoff, purge);
}

std::string stored_key(std::string_view key) {
  return key.size() > kMaxKeyBytes ? "sha256:" + sha256_hex(key) : std::string(key);
}

}  // namespace

Result<bool> ReplayStore::first_time(std::string_view key, std::chrono::system_clock::time_point now) {
  const std::int64_t now_ms = to_unix_ms(now);
  const std::string stored = stored_key(key);
  std::unique_lock lock(mutex_);
  if (!store_ && !pg_) {
    return fail(Errc::storage, "the replay table is not open (internal: the daemon opens it at start-up)");
  }
  const std::int64_t cutoff = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
  const bool purge = now_ms - last_purge_ms_ > kPurgeEveryMs;
  if (purge) {
    last_purge_ms_ = now_ms;  // one caller purges; it is only housekeeping
  }
  Result<bool> first = fail(Errc::internal, "not checked");
  if (pg_) {
    // Not under the mutex: each check is its own transaction on the pool,
    // and one slow round trip must not queue every other acknowledgement.
    const std::shared_ptr<store::PgStore> pg = pg_;
    lock.unlock();
    first = pg->transact_now<bool>(
        [&](pqxx::transaction_base& tx) { return record_key_alone(tx, stored, now_ms, cutoff, purge); });
    if (!first) {
      return fail(Errc::storage, "replay table (seen_events) in PostgreSQL at " + pg->where() + ": " +
                                     first.error().message);
    }
    return first;
  }
  if (db_) {
    try {
      first = record_key(*db_, stored, now_ms, cutoff, purge);
    } catch (const std::exception& e) {
      first = fail(Errc::storage, e.what());
    }
  } else {
    first =
        store_->write_now<bool>([&](SQLite::Database& db) { return record_key(db, stored, now_ms, cutoff, purge); });
  }
  if (!first) {
    last_purge_ms_ = purge ? 0 : last_purge_ms_;  // try the purge again with the next check
    return fail(Errc::storage, "replay table (seen_events) in " + path_ + ": " + first.error().message +
                                   " (is the disk full or the file read-only?)");
  }
  return first;
}

boost::asio::awaitable<Result<bool>> ReplayStore::first_time_async(std::string key,
                                                                     std::chrono::system_clock::time_point now) {
  const std::int64_t now_ms = to_unix_ms(now);
  std::string stored = stored_key(key);
  std::shared_ptr<store::SqliteStore> store;
  std::shared_ptr<store::PgStore> pg;
  std::int64_t cutoff = 0;
  bool purge = false;
  {
    std::lock_guard lock(mutex_);
    store = store_;
    pg = pg_;
    cutoff = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
    purge = now_ms - last_purge_ms_ > kPurgeEveryMs;
    if (purge) {
      last_purge_ms_ = now_ms;  // one purge queued per interval, not one per waiting delivery
    }
  }
  if (pg) {
    // On PostgreSQL's writer, in its group commit (durable, synchronous
    // commit): the I/O thread never waits for the server.
    std::function<Result<bool>(pqxx::transaction_base&)> record = [stored, now_ms, cutoff,
                                                                    purge](pqxx::transaction_base& tx) {
      return record_key(tx, stored, now_ms, cutoff, purge);
    };
    Result<bool> first = co_await pg->write<bool>(std::move(record));
    if (!first) {
      co_return fail(Errc::storage, "replay table (seen_events) in PostgreSQL at " + pg->where() + ": " +
                                        first.error().message);
    }
    co_return first;
  }
  if (!store) {
    co_return fail(Errc::storage, "the replay table is not open (internal: the daemon opens it at start-up)");
  }
  // On the writer thread, in the transaction it shares with every unit queued
  // meanwhile (the audit events of other requests): no lock to wait for.
  std::function<Result<bool>(SQLite::Database&)> record = [stored, now_ms, cutoff, purge](SQLite::Database& db) {
    return record_key(db, stored, now_ms, cutoff, purge);
  };
  Result<bool> first = co_await store->write<bool>(std::move(record));
  if (!first) {
    co_return fail(Errc::storage, "replay table (seen_events) in " + store->path() + ": " + first.error().message +
                                      " (is the disk full or the file read-only?)");
  }
  co_return first;
}

}  // namespace opsgate::audit
