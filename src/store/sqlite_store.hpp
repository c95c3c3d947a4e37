#pragma once
// SqliteStore: the one owner of the daemon's SQLite file. Opens it once (WAL,
// FULL sync, busy timeout, optionally the one-writing-process lock), brings
// its schema to the current version (src/store/schema.hpp), and runs every
// write of every table on one writer thread: whatever is queued while a
// commit runs goes into the next transaction (group commit), each unit in its
// own savepoint, and a unit completes only after the COMMIT that holds it.
// Reads run on their own read-only connections. Owned by the daemon (shared
// with the module stores built on it); submit/write/read from any thread.
//
// The module interfaces built on it (AuditLog, ApprovalService/RateLimiter,
// gates::GateStore, audit::ReplayStore, LlmUsageLog) are what a second
// backend (PostgreSQL, issue #21) implements; this class is SQLite's.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/error.hpp"

namespace SQLite {
class Database;
class Statement;
}

namespace opsgate::store {

class DatabaseLock;

struct StoreOptions {
  std::size_t max_batch = 1024;    // rows committed in one transaction (a unit is never split)
  std::size_t max_queued = 65536;  // rows waiting for the writer; beyond this a write fails fast
  int busy_timeout_ms = 5000;      // how long a commit waits for a lock another connection holds
  std::string lock_owner;          // non-empty: hold `<path>.lock` while open (one writing process per file)
};

// One unit of work for the writer thread.
struct WriteJob {
  // Runs on the writer thread inside the batch's transaction, in its own
  // savepoint; returns false to undo its own changes (a refusal of its own).
  std::function<bool(SQLite::Database&)> work;
  // After the batch, on the writer thread: `committed` when the transaction
  // committed; `error` is the batch's failure, or the exception `work` threw.
  std::function<void(bool committed, const Error* error)> done;
  // Called under the queue's lock once the unit holds its place in the order
  // (timestamps that must not go backwards). May be empty.
  std::function<void()> on_queued;
  std::size_t rows = 1;  // what it weighs against max_batch and max_queued
  // Set when `work` is atomic on its own: one statement (SQLite undoes a
  // failed statement), or a savepoint it opens itself. The store then opens
  // none for it (two statements less per unit). Such a job must change
  // nothing when it returns false.
  bool self_contained = false;
};

class SqliteStore {
 public:
  // Opens (creating if needed) the file at `path` and its parent directory,
  // migrates the schema and starts the writer thread. ":memory:" (tests)
  // keeps one connection, used for reads too.
  static Result<std::shared_ptr<SqliteStore>> open(std::string path, StoreOptions options = {});

  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Queues `job`. False when refused (closed, overloaded): `job.done` was then
  // called, on this thread, with the error.
  bool submit(WriteJob job);

  // `fn` on the writer thread, in a transaction shared with other queued
  // work; completes once that transaction is durable (or failed). A failed
  // Result from `fn` undoes only `fn`'s changes. Never call from inside a job.
  template <class T>
  Result<T> write_now(std::function<Result<T>(SQLite::Database&)> fn);
  // The same, resuming on the caller's executor.
  template <class T>
  boost::asio::awaitable<Result<T>> write(std::function<Result<T>(SQLite::Database&)> fn);

  // `fn` on a read-only connection of its own (sees what has committed).
  template <class T>
  Result<T> read_now(std::function<Result<T>(SQLite::Database&)> fn);
  // The same on the reader thread, resuming on the caller's executor.
  template <class T>
  boost::asio::awaitable<Result<T>> read(std::function<Result<T>(SQLite::Database&)> fn);

  // Stops accepting writes, commits what is queued, joins the writer thread.
  // Blocks for that drain; idempotent; the destructor calls it.
  void close();

  // Whether the database answers and can be written: a query on a reader
  // connection, and the file and its folder (for the write-ahead log)
  // writable. For /readyz; blocking, so not on the I/O thread.
  Result<void> ping();

  const std::string& path() const { return path_; }
  // Transactions committed (each one fsync of the write-ahead log).
  std::int64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // The schema version the file had before open() migrated it (0: unversioned or new).
  int opened_at_version() const { return opened_at_version_; }

  // Makes the next `n` transactions fail just before COMMIT, exercising the
  // same rollback path as a real I/O error. Tests only.
  void fail_next_commits_for_test(int n) { fail_next_commits_.store(n, std::memory_order_relaxed); }

  // The writer connection's prepared statement for `sql` (a string literal:
  // its address is the key), reset and ready to bind. Writer thread only
  // (inside a job): preparing an INSERT costs more than running it.
  SQLite::Statement& statement(const char* sql);

 private:
  SqliteStore(std::string path, StoreOptions options, std::unique_ptr<DatabaseLock> lock,
              std::unique_ptr<SQLite::Database> db, int opened_at_version);

  template <class T>
  struct Slot {
    Result<T> result = tl::unexpected(Error{Errc::internal, "store job did not run"});
  };
  template <class T>
  static Result<T> delivered(Slot<T>& slot, bool committed, const Error* error);
  template <class T>
  WriteJob job_for(std::function<Result<T>(SQLite::Database&)> fn, std::shared_ptr<Slot<T>> slot);

  void run_writer();
  void write_batch(std::vector<WriteJob>& batch);
  std::unique_ptr<SQLite::Database> take_reader();
  void give_back_reader(std::unique_ptr<SQLite::Database> reader);
  Error storage_error(const std::exception& e) const;

  const std::string path_;
  const StoreOptions options_;
  const bool in_memory_;
  const int opened_at_version_;
  std::unique_ptr<DatabaseLock> lock_;
  std::unique_ptr<SQLite::Database> db_;  // the writer's; used only by the writer thread once it has started
  // Prepared on the writer connection, finalized before it closes. Writer thread only.
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements_;

  std::mutex mutex_;
  std::condition_variable wake_;
  // Guarded by mutex_. A vector the writer swaps with its own emptied batch:
  // the two buffers go back and forth and keep their capacity, so no block
  // allocated on the appending thread is freed on the writer (each such free
  // took the other thread's malloc arena lock, which it held for its own
  // mallocs).
  std::vector<WriteJob> queue_;
  std::size_t queued_rows_ = 0;  // guarded by mutex_
  bool closing_ = false;         // guarded by mutex_
  bool writer_idle_ = false;     // guarded by mutex_

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<SQLite::Database>> idle_readers_;  // guarded by readers_mutex_
  boost::asio::thread_pool reader_thread_{1};

  std::mutex close_mutex_;
  std::thread writer_;

  std::atomic<std::int64_t> commits_{0};
  std::atomic<int> fail_next_commits_{0};
};

// ---- templates ----

template <class T>
Result<T> SqliteStore::delivered(Slot<T>& slot, bool committed, const Error* error) {
  if (error != nullptr) {
    return tl::unexpected(*error);
  }
  if (!committed) {
    return tl::unexpected(Error{Errc::storage, "the transaction was not committed"});
  }
  return std::move(slot.result);
}

template <class T>
WriteJob SqliteStore::job_for(std::function<Result<T>(SQLite::Database&)> fn, std::shared_ptr<Slot<T>> slot) {
  WriteJob job;
  job.work = [this, fn = std::move(fn), slot](SQLite::Database& db) {
    try {
      slot->result = fn(db);
    } catch (const std::exception& e) {
      slot->result = tl::unexpected(storage_error(e));
    }
    return slot->result.has_value();
  };
  return job;
}

template <class T>
Result<T> SqliteStore::write_now(std::function<Result<T>(SQLite::Database&)> fn) {
  auto slot = std::make_shared<Slot<T>>();
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  WriteJob job = job_for<T>(std::move(fn), slot);
  job.done = [slot, promise](bool committed, const Error* error) {
    promise->set_value(delivered(*slot, committed, error));
  };
  submit(std::move(job));
  return future.get();
}

template <class T>
boost::asio::awaitable<Result<T>> SqliteStore::write(std::function<Result<T>(SQLite::Database&)> fn) {
  namespace asio = boost::asio;
  using Handler = asio::any_completion_handler<void(Result<T>)>;
  struct Waiter {
    // Boxed: Boost 1.81's any_completion_handler move-assignment recurses
    // until the stack overflows (fixed in 1.82).
    std::unique_ptr<Handler> handler;
    // The handler's executor with outstanding work tracked, so the
    // io_context does not run out of work while only the writer holds the
    // suspended coroutine.
    asio::any_io_executor work;
  };
  auto initiate = [this](auto handler, std::function<Result<T>(SQLite::Database&)> f) {
    auto waiter = std::make_shared<Waiter>();
    waiter->work = asio::any_io_executor(
        asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked));
    waiter->handler = std::make_unique<Handler>(std::move(handler));
    auto slot = std::make_shared<Slot<T>>();
    WriteJob job = job_for<T>(std::move(f), slot);
    // Completion always goes through post(): the coroutine resumes on its own
    // executor, never inline on the writer thread or inside submit().
    job.done = [slot, waiter](bool committed, const Error* error) {
      auto work = std::move(waiter->work);
      asio::post(work, [waiter, result = delivered(*slot, committed, error)]() mutable {
        std::move (*waiter->handler)(std::move(result));
      });
    };
    submit(std::move(job));
  };
  Result<T> result = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(
      std::move(initiate), asio::use_awaitable, std::move(fn));
  co_return result;
}

template <class T>
Result<T> SqliteStore::read_now(std::function<Result<T>(SQLite::Database&)> fn) {
  if (in_memory_) {
    return write_now<T>(std::move(fn));  // one connection holds the data
  }
  std::unique_ptr<SQLite::Database> reader;
  try {
    reader = take_reader();
    Result<T> result = fn(*reader);
    give_back_reader(std::move(reader));
    return result;
  } catch (const std::exception& e) {
    return tl::unexpected(storage_error(e));
  }
}

template <class T>
boost::asio::awaitable<Result<T>> SqliteStore::read(std::function<Result<T>(SQLite::Database&)> fn) {
  namespace asio = boost::asio;
  if (in_memory_) {
    Result<T> written = co_await write<T>(std::move(fn));
    co_return written;
  }
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(reader_thread_, asio::use_awaitable);
  Result<T> result = read_now<T>(std::move(fn));
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

}  // namespace opsgate::store
