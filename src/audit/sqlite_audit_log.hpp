#pragma once
// SqliteAuditLog: the append-only, hash-chained audit log in one SQLite file.
// Owned by the application (one per process, closed before the io_context it
// completes on is destroyed); append() may be called from any thread or
// strand, open() and close() from the owning thread.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/error.hpp"

namespace SQLite {
class Database;
}

namespace opsgate::store {
class SqliteStore;
}

namespace opsgate::audit {

struct AuditLogOptions {
  std::size_t max_batch = 1024;    // events committed in one transaction (group commit; a unit is never split)
  std::size_t max_queued = 65536;  // appends waiting for the writer; beyond this append fails fast
  int busy_timeout_ms = 5000;      // how long a commit waits for a lock another connection holds
};

class SqliteAuditLog final : public opsgate::AuditLog {
 public:
  // Opens (creating if needed) the database at `path` with a store of its own
  // (tools, tests, benchmarks), reads the chain head. `clock` must outlive the log.
  static Result<std::unique_ptr<SqliteAuditLog>> open(std::string path, const Clock& clock,
                                                      AuditLogOptions options = {});
  // The log on the daemon's one store (shared with the other tables): its
  // appends go through the store's writer and group commit.
  static Result<std::unique_ptr<SqliteAuditLog>> attach(std::shared_ptr<store::SqliteStore> store, const Clock& clock);

  ~SqliteAuditLog() override;
  SqliteAuditLog(const SqliteAuditLog&) = delete;
  SqliteAuditLog& operator=(const SqliteAuditLog&) = delete;

  // Queues the event for the writer thread and completes, on the caller's
  // executor, with its seq once the transaction holding it has committed,
  // or with Errc::storage if it could not be made durable.
  boost::asio::awaitable<Result<std::int64_t>> append(AuditEvent event) override;
  boost::asio::awaitable<Result<std::int64_t>> append_all(std::vector<AuditEvent> events,
                                                          std::function<void()> queued) override;
  void append_later(AuditEvent event) override;

  // Stops accepting appends and waits until what is already queued has been
  // committed (or failed); closes the store when it is the log's own.
  // Blocks for that drain; idempotent; the destructor calls it.
  void close();

  // Number of committed transactions of the store (a batch of appends, and
  // whatever other tables wrote with them, is one): each is one fsync of the
  // write-ahead log (synchronous=FULL).
  std::int64_t commits() const;
  // Events committed so far by this process.
  std::int64_t committed_events() const { return committed_events_.load(std::memory_order_relaxed); }

  const std::string& path() const;

  // Makes the next `n` transactions fail just before COMMIT, exercising the
  // same rollback path as a real I/O error. Tests only.
  void fail_next_commits_for_test(int n);

 private:
  struct Unit;  // one queued unit: its events (one savepoint) and how it completes
  struct ChainHead {
    std::int64_t seq = 0;
    std::string hash;
    bool operator==(const ChainHead&) const = default;
  };

  static Result<std::unique_ptr<SqliteAuditLog>> make(std::shared_ptr<store::SqliteStore> store, bool owns_store,
                                                      const Clock& clock);
  SqliteAuditLog(std::shared_ptr<store::SqliteStore> store, bool owns_store, const Clock& clock, ChainHead head);

  // False when refused (closed, overloaded); the unit was then completed with the error.
  bool enqueue(std::shared_ptr<Unit> unit);
  // On the writer thread, inside the store's transaction.
  bool write_unit(Unit& unit);
  void finish_unit(Unit& unit, bool committed, const Error* error);

  std::shared_ptr<store::SqliteStore> store_;
  const bool owns_store_;
  const Clock& clock_;

  // The chain head: the last committed row, and the last row written in the
  // transaction now open. Writer thread only.
  ChainHead committed_;
  ChainHead tentative_;

  std::mutex mutex_;
  std::condition_variable drained_;
  bool closing_ = false;        // guarded by mutex_
  std::size_t outstanding_ = 0;  // units queued and not yet finished; guarded by mutex_

  std::atomic<std::int64_t> committed_events_{0};
};

}  // namespace opsgate::audit
