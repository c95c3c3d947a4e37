#pragma once
// PgStore: the daemon's database on PostgreSQL, shared by several replicas
// (issue #21). The same shape as SqliteStore: it brings the schema to the
// current version (src/store/pg_schema.hpp, under an advisory lock so two
// replicas starting together do not race), runs every write on one writer
// connection on its own thread — whatever is queued while a commit runs goes
// into the next transaction (group commit), each unit in its own savepoint,
// and a unit completes only after the COMMIT that holds it — and runs reads
// on a small pool of reader connections. A lost connection fails what was in
// flight (fail closed) and is re-opened with backoff; ping() is the health
// probe for /readyz. Owned by the daemon (shared with the module stores
// built on it); submit/write/read from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/error.hpp"
#include "src/store/await_completion.hpp"
#include "src/store/pq_library.hpp"

namespace pqxx {
class transaction_base;
}

namespace opsgate::store {

struct PgOptions {
  std::string dsn;                         // libpq keyword/value string or postgresql:// URI
  std::size_t pool_size = 4;               // reader connections at most (the writer has its own)
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds statement_timeout{30};
  std::size_t max_batch = 1024;            // rows committed in one transaction (a unit is never split)
  std::size_t max_queued = 65536;          // rows waiting for the writer; beyond this a write fails fast
  std::string application_name = "opsgate";  // shown in pg_stat_activity
  std::string libpq{kLibpq};                 // loaded by open() before the first connection (pq_library.hpp)
};

// Advisory lock keys (pg_advisory_lock's one-bigint form) taken by opsgate.
// Every key in one place, so two uses never collide.
inline constexpr std::int64_t kPgMigrationLock = 0x6f70736761746501;  // "opsgate" + 01: schema migration
inline constexpr std::int64_t kPgAuditChainLock = 0x6f70736761746502;  // the audit chain's head
inline constexpr std::int64_t kPgRateLimitLock = 0x6f70736761746503;   // rate limits: check + reserve as one step
// Per approval, session-level, held by the replica running a granted one:
// hashtextextended('opsgate.approval:' || id, 0) (src/approval/pg_approval_store.cpp).

// One unit of work for the writer thread.
struct PgWriteJob {
  // Runs on the writer thread inside the batch's transaction `tx`, in a
  // savepoint of its own; returns false to undo its own changes. An
  // exception undoes them too and becomes the unit's error (a deadlock with
  // another replica's batch is retried first). Never commits or aborts `tx`.
  std::function<bool(pqxx::transaction_base& tx)> work;
  // After the batch, on the writer thread: `committed` when the transaction
  // committed; `error` is the batch's failure, or the exception `work` threw.
  std::function<void(bool committed, const Error* error)> done;
  // Called under the queue's lock once the unit holds its place in the order
  // (timestamps that must not go backwards). May be empty.
  std::function<void()> on_queued;
  std::size_t rows = 1;  // what it weighs against max_batch and max_queued
  // Non-zero: the batch holding this unit takes pg_advisory_xact_lock(key)
  // right after BEGIN, before any other unit runs, and keeps it to COMMIT —
  // so the writers of all replicas that need it take turns (the audit chain).
  // First in the transaction, so it never waits while holding a row lock.
  std::int64_t batch_lock = 0;
};

class PgStore {
 public:
  // Connects (bounded by connect_timeout), migrates the schema and starts the
  // writer thread. Fails with a message naming the server (never the password).
  static Result<std::shared_ptr<PgStore>> open(PgOptions options);

  ~PgStore();
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // Queues `job`. False when refused (closed, overloaded): `job.done` was then
  // called, on this thread, with the error.
  bool submit(PgWriteJob job);

  // `fn` on the writer thread, in a transaction shared with other queued
  // work; completes once that transaction has committed (or failed). A failed
  // Result from `fn` undoes only `fn`'s changes. Never call from inside a job.
  template <class T>
  Result<T> write_now(std::function<Result<T>(pqxx::transaction_base&)> fn, std::int64_t batch_lock = 0);
  // The same, resuming on the caller's executor.
  template <class T>
  boost::asio::awaitable<Result<T>> write(std::function<Result<T>(pqxx::transaction_base&)> fn,
                                          std::int64_t batch_lock = 0);

  // `fn` in a read-only transaction on a reader connection (sees what has
  // committed); waits for a free connection when all pool_size are busy.
  template <class T>
  Result<T> read_now(std::function<Result<T>(pqxx::transaction_base&)> fn);
  // The same on a reader thread, resuming on the caller's executor.
  template <class T>
  boost::asio::awaitable<Result<T>> read(std::function<Result<T>(pqxx::transaction_base&)> fn);

  // `fn` in a read-write transaction of its own on a pooled connection,
  // committed before this returns: for one small statement that must be
  // decided in the database at once (a delivery's dedup on the
  // acknowledgement path), not queued behind the group commit. Blocking:
  // call it from a thread that may wait for the network.
  template <class T>
  Result<T> transact_now(std::function<Result<T>(pqxx::transaction_base&)> fn);

  // `SELECT 1` on a reader connection: the database answers (readiness).
  Result<void> ping();
  boost::asio::awaitable<Result<void>> ping_async();
  // The writer's view: false after its connection was lost and until it is
  // back (it retries with backoff while work is queued).
  bool writer_connected() const { return writer_connected_.load(std::memory_order_relaxed); }

  // Stops accepting writes, commits what is queued, joins the writer thread.
  // Blocks for that drain; idempotent; the destructor calls it.
  void close();

  // "host:port/dbname" for messages and logs: never the password.
  const std::string& where() const { return where_; }
  std::int64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // Rows waiting for the writer (not counting the batch being written).
  std::size_t queued_rows();
  int opened_at_version() const { return opened_at_version_; }

  // Makes the next `n` transactions fail just before COMMIT. Tests only.
  void fail_next_commits_for_test(int n) { fail_next_commits_.store(n, std::memory_order_relaxed); }
  // Closes the writer's connection as a server restart would. Tests only.
  void drop_writer_connection_for_test() { drop_writer_.store(true, std::memory_order_relaxed); }

  struct Connection;  // a pqxx::connection and what it was opened with

 private:
  PgStore(PgOptions options, std::string where, std::unique_ptr<Connection> writer, int opened_at_version);

  template <class T>
  struct Slot {
    Result<T> result = tl::unexpected(Error{Errc::internal, "store job did not run"});
  };
  template <class T>
  static Result<T> delivered(Slot<T>& slot, bool committed, const Error* error);
  template <class T>
  PgWriteJob job_for(std::function<Result<T>(pqxx::transaction_base&)> fn, std::shared_ptr<Slot<T>> slot,
                     std::int64_t batch_lock);
  // Runs `fn` in a transaction (read-only unless `writable`) on a pooled
  // connection and commits it; converts library exceptions.
  Result<void> with_pooled(const std::function<void(pqxx::transaction_base&)>& fn, bool writable);

  void run_writer();
  void write_batch(std::vector<PgWriteJob>& batch);
  bool ensure_writer();
  // The writer's connection broke: drop it and say so once (until it is back).
  void lost_writer(const std::string& why);
  Error storage_error(const std::exception& e) const;

  const PgOptions options_;
  const std::string where_;
  const int opened_at_version_;
  std::unique_ptr<Connection> writer_conn_;  // writer thread only once it has started

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PgWriteJob> queue_;  // guarded by mutex_
  std::size_t queued_rows_ = 0;   // guarded by mutex_
  bool closing_ = false;          // guarded by mutex_
  bool writer_idle_ = false;      // guarded by mutex_

  std::mutex readers_mutex_;
  std::condition_variable reader_free_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
  std::size_t readers_out_ = 0;                            // connections lent out; guarded by readers_mutex_
  boost::asio::thread_pool reader_threads_;

  std::mutex close_mutex_;
  std::thread writer_;

  std::atomic<std::int64_t> commits_{0};
  std::atomic<bool> writer_connected_{true};
  std::atomic<int> fail_next_commits_{0};
  std::atomic<bool> drop_writer_{false};
};

// Adds connect_timeout, application_name and statement_timeout to `dsn` (a
// keyword/value string or a URI) unless it sets them; exposed for tests.
std::string pg_connection_string(const PgOptions& options);
// "host:port/dbname" of a connection string, for messages (never the password).
std::string pg_describe(const std::string& dsn);

// ---- templates ----

template <class T>
Result<T> PgStore::delivered(Slot<T>& slot, bool committed, const Error* error) {
  if (error != nullptr) {
    return tl::unexpected(*error);
  }
  if (!committed) {
    return tl::unexpected(Error{Errc::storage, "the transaction was not committed"});
  }
  return std::move(slot.result);
}

template <class T>
PgWriteJob PgStore::job_for(std::function<Result<T>(pqxx::transaction_base&)> fn, std::shared_ptr<Slot<T>> slot,
                            std::int64_t batch_lock) {
  PgWriteJob job;
  job.batch_lock = batch_lock;
  // An exception propagates to the writer, which rolls the savepoint back
  // and reports it as this unit's error (the transaction may be unusable).
  job.work = [fn = std::move(fn), slot](pqxx::transaction_base& tx) {
    slot->result = fn(tx);
    return slot->result.has_value();
  };
  return job;
}

template <class T>
Result<T> PgStore::write_now(std::function<Result<T>(pqxx::transaction_base&)> fn, std::int64_t batch_lock) {
  auto slot = std::make_shared<Slot<T>>();
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  PgWriteJob job = job_for<T>(std::move(fn), slot, batch_lock);
  job.done = [slot, promise](bool committed, const Error* error) {
    promise->set_value(delivered(*slot, committed, error));
  };
  submit(std::move(job));
  return future.get();
}

template <class T>
boost::asio::awaitable<Result<T>> PgStore::write(std::function<Result<T>(pqxx::transaction_base&)> fn,
                                                 std::int64_t batch_lock) {
  std::function<void(std::function<void(Result<T>)>)> start =
      [this, fn = std::move(fn), batch_lock](std::function<void(Result<T>)> deliver) mutable {
        auto slot = std::make_shared<Slot<T>>();
        PgWriteJob job = job_for<T>(std::move(fn), slot, batch_lock);
        job.done = [slot, deliver = std::move(deliver)](bool committed, const Error* error) {
          deliver(delivered(*slot, committed, error));
        };
        submit(std::move(job));
      };
  Result<T> result = co_await await_completion<T>(std::move(start));
  co_return result;
}

template <class T>
Result<T> PgStore::read_now(std::function<Result<T>(pqxx::transaction_base&)> fn) {
  std::optional<Result<T>> result;
  Result<void> ran = with_pooled([&](pqxx::transaction_base& tx) { result = fn(tx); }, false);
  if (!ran) {
    return tl::unexpected(ran.error());
  }
  return std::move(*result);
}

template <class T>
Result<T> PgStore::transact_now(std::function<Result<T>(pqxx::transaction_base&)> fn) {
  std::optional<Result<T>> result;
  // A failed Result still commits what fn did: fn decides by what it wrote.
  Result<void> ran = with_pooled([&](pqxx::transaction_base& tx) { result = fn(tx); }, true);
  if (!ran) {
    return tl::unexpected(ran.error());
  }
  return std::move(*result);
}

template <class T>
boost::asio::awaitable<Result<T>> PgStore::read(std::function<Result<T>(pqxx::transaction_base&)> fn) {
  namespace asio = boost::asio;
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(reader_threads_, asio::use_awaitable);
  Result<T> result = read_now<T>(std::move(fn));
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

}  // namespace opsgate::store
