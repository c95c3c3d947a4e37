#pragma once
// SqliteAuditLog: the append-only, hash-chained audit log in one SQLite file.
// Owned by the application (one per process, closed before the io_context it
// completes on is destroyed); append() may be called from any thread or
// strand, open() and close() from the owning thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "src/audit/queued_audit_log.hpp"
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

class SqliteAuditLog final : public QueuedAuditLog {
 public:
  // Rows one INSERT statement takes (a unit of up to this many is one statement).
  static constexpr std::size_t kRowsPerInsert = 8;

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

  // append/append_all/append_later (QueuedAuditLog): queued for the store's
  // writer thread; each completes, on the caller's executor, with its seq
  // once the transaction holding it has committed, or with Errc::storage if
  // it could not be made durable.

  // Stops accepting appends and waits until what is already queued has been
  // committed (or failed); closes the store when it is the log's own.
  // Blocks for that drain; idempotent; the destructor calls it.
  void close() override;

  // Number of committed transactions of the store (a batch of appends, and
  // whatever other tables wrote with them, is one): each is one fsync of the
  // write-ahead log (synchronous=FULL).
  std::int64_t commits() const;
  const std::string& path() const;
  const std::string& where() const override { return path(); }

  // Makes the next `n` transactions fail just before COMMIT, exercising the
  // same rollback path as a real I/O error. Tests only.
  void fail_next_commits_for_test(int n);

 private:
  static Result<std::unique_ptr<SqliteAuditLog>> make(std::shared_ptr<store::SqliteStore> store, bool owns_store,
                                                      const Clock& clock);
  SqliteAuditLog(std::shared_ptr<store::SqliteStore> store, bool owns_store, const Clock& clock, ChainHead head);

  bool submit_unit(std::shared_ptr<Unit> unit) override;
  void on_finished(Unit& unit, bool committed) override;
  // On the writer thread, inside the store's transaction.
  bool write_unit(Unit& unit, SQLite::Database& db);
  // The unit's `rows` events, kRowsPerInsert to a statement.
  void write_rows(Unit& unit, std::size_t rows);

  std::shared_ptr<store::SqliteStore> store_;
  const bool owns_store_;

  // The chain head: the last committed row, and the last row written in the
  // transaction now open. Writer thread only.
  ChainHead committed_;
  ChainHead tentative_;
  // The params text of each row bound to the INSERT being filled. Writer thread only.
  std::array<std::string, kRowsPerInsert> params_;
};

}  // namespace opsgate::audit
