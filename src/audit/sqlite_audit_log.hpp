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
#include <string>
#include <thread>
#include <vector>

#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/error.hpp"

namespace SQLite {
class Database;
}

namespace opsgate::audit {

struct AuditLogOptions {
  std::size_t max_batch = 1024;    // events committed in one transaction (group commit; a unit is never split)
  std::size_t max_queued = 65536;  // appends waiting for the writer; beyond this append fails fast
  int busy_timeout_ms = 5000;      // how long a commit waits for a lock another connection holds
};

class SqliteAuditLog final : public opsgate::AuditLog {
 public:
  // Opens (creating if needed) the log at `path`, its parent directory and
  // schema, reads the chain head and starts the writer thread. `clock` must
  // outlive the log.
  static Result<std::unique_ptr<SqliteAuditLog>> open(std::string path, const Clock& clock,
                                                      AuditLogOptions options = {});

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

  // Stops accepting appends, commits what is already queued and joins the
  // writer thread. Blocks for that drain; idempotent; the destructor calls it.
  void close();

  // Number of committed transactions (a batch of appends is one): each is
  // one fsync of the write-ahead log (synchronous=FULL).
  std::int64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // Events committed so far by this process.
  std::int64_t committed_events() const { return committed_events_.load(std::memory_order_relaxed); }

  const std::string& path() const { return path_; }

  // Makes the next `n` transactions fail just before COMMIT, exercising the
  // same rollback path as a real I/O error. Tests only.
  void fail_next_commits_for_test(int n) { fail_next_commits_.store(n, std::memory_order_relaxed); }

 private:
  struct Pending;  // one queued unit: its events (one transaction) and its completion handler, if awaited

  SqliteAuditLog(std::string path, const Clock& clock, AuditLogOptions options,
                 std::unique_ptr<SQLite::Database> db, std::int64_t last_seq, std::string last_hash);

  // False when refused (closed, overloaded); the unit was then completed with the error.
  bool enqueue(Pending pending);
  void run_writer();
  void write_batch(std::vector<Pending>& batch);

  const std::string path_;
  const Clock& clock_;
  const AuditLogOptions options_;
  std::unique_ptr<SQLite::Database> db_;  // used only by the writer thread once it has started

  // The chain head: the last committed row. Writer thread only.
  std::int64_t last_seq_;
  std::string last_hash_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;  // guarded by mutex_
  std::size_t queued_events_ = 0;  // events in queue_; guarded by mutex_
  bool closing_ = false;        // guarded by mutex_
  bool writer_idle_ = false;    // the writer waits for appends; guarded by mutex_

  std::mutex close_mutex_;  // serialises close() callers around join()
  std::thread writer_;

  std::atomic<std::int64_t> commits_{0};
  std::atomic<std::int64_t> committed_events_{0};
  std::atomic<int> fail_next_commits_{0};
};

}  // namespace opsgate::audit
