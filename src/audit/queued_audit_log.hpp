#pragma once
// What an audit log does whatever its database: appends become units queued
// for the store's writer thread (a unit's events are written in order, in one
// savepoint, never split), the awaiting coroutine resumes on its own executor
// once the transaction holding them has committed, and close() waits for
// what is queued. The backends (SqliteAuditLog, PgAuditLog) only hand a unit
// to their store and write its rows. append* from any thread or strand;
// close() from the owning thread.

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

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>

#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/error.hpp"

namespace opsgate::audit {

class QueuedAuditLog : public opsgate::AuditLog {
 public:
  ~QueuedAuditLog() override = default;

  boost::asio::awaitable<Result<std::int64_t>> append(AuditEvent event) final;
  boost::asio::awaitable<Result<std::int64_t>> append_all(std::vector<AuditEvent> events,
                                                          std::function<void()> queued) final;
  void append_later(AuditEvent event) final;

  // Stops accepting appends and waits until what is queued has committed
  // (or failed); closes the store when it is the log's own. Idempotent.
  virtual void close() = 0;

  // Events committed so far by this process.
  std::int64_t committed_events() const { return committed_events_.load(std::memory_order_relaxed); }

 protected:
  // The head of the chain: the last row's seq and hash.
  struct ChainHead {
    std::int64_t seq = 0;
    std::string hash;
    bool operator==(const ChainHead&) const = default;
  };

  // One queued unit: its events and how it completes.
  struct Unit {
    std::vector<AuditEvent> events;
    // Boxed because Boost 1.81's any_completion_handler move-assignment
    // recurses until the stack overflows (fixed in 1.82). Null for
    // append_later(): nobody waits.
    std::unique_ptr<boost::asio::any_completion_handler<void(Result<std::int64_t>)>> handler;
    // The handler's executor with outstanding work tracked, so the io_context
    // does not run out of work (and return from run()) while the writer holds
    // the only reference to a suspended coroutine.
    boost::asio::any_io_executor work;
    // Set by the backend's writer.
    bool written = false;
    ChainHead end;
    std::optional<Error> refusal;
    // append_later()'s: more such events may join it until the writer takes it.
    bool later = false;
    // Taken by the store's queue (set under its lock): only then do the
    // writer's heads have anything to do with it.
    bool queued = false;
    // The store's hold on the unit from submit_unit() until its job is done,
    // so the job's closures need only a raw pointer: they then fit
    // std::function's inline buffer and the writer frees no closure the
    // appending thread allocated.
    std::shared_ptr<Unit> held;
  };

  explicit QueuedAuditLog(const Clock& clock);

  // Hands `unit` to the store's writer (stamp_times() as on_queued,
  // finish_unit() as done). False when refused; finish_unit has then run.
  virtual bool submit_unit(std::shared_ptr<Unit> unit) = 0;
  // Where the log is, for messages ("/var/lib/opsgate/opsgate.db", "db:5432/opsgate").
  virtual const std::string& where() const = 0;
  // Called by finish_unit before the unit completes (the backend's own bookkeeping).
  virtual void on_finished(Unit& /*unit*/, bool /*committed*/) {}

  // Fills ts_ms of events that have none from the clock; call under the
  // store's queue lock, so timestamps never go backwards as seq grows.
  void stamp_times(Unit& unit) const;
  // Writes `unit`'s events after `head` through `insert` (one row each):
  // seq, prev_hash and hash from the shared hash code; returns the new head.
  // `insert` gets the sealed event and its params as stored.
  static ChainHead write_events(Unit& unit, ChainHead head,
                                const std::function<void(const AuditEvent&, const std::string& params)>& insert);
  // After the store's batch, on its writer thread.
  void finish_unit(Unit& unit, bool committed, const Error* error);
  // The same, and the unit is handed back: the next resumption of waiters
  // (complete()) or the next append frees it on the appending side, where
  // its events were allocated. Freed on the writer, each string went back to
  // another thread's malloc arena under that arena's lock, which the
  // appending thread was taking for its own mallocs.
  void finish_unit(std::shared_ptr<Unit> unit, bool committed, const Error* error);
  // Stops accepting appends and waits until every queued unit has finished.
  void drain();
  // For a backend whose writer calls close_later_unit() before it reads a
  // unit's events and from on_finished(): then append_later() events that
  // follow each other join one unit (a reply's `replied` events come in
  // runs; each its own unit cost the writer a savepoint and a job each).
  void merge_later_appends() { merge_later_ = true; }
  // Writer side (or a refusal's on_finished): nothing more joins `unit`.
  void close_later_unit(const Unit& unit);

 private:
  bool enqueue(std::shared_ptr<Unit> unit);
  // Resumes the unit's waiter on its own executor, never inline. Waiters of
  // one executor are resumed together: one post for what the writer finishes
  // while the last post has not run yet, not one per unit (each locked the
  // io_context's queue against the thread running it, and woke it).
  void complete(Unit& unit, Result<std::int64_t> result);
  // finish_unit's work; `keep` (may be null) joins the spent units.
  void finish(Unit& unit, bool committed, const Error* error, std::shared_ptr<Unit> keep);

  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable drained_;
  bool closing_ = false;         // guarded by mutex_
  std::size_t outstanding_ = 0;  // units queued and not yet finished; guarded by mutex_
  std::atomic<std::int64_t> committed_events_{0};
  struct Completions;  // waiters to resume with one post (complete()), and spent units
  const std::shared_ptr<Completions> completions_;

  bool merge_later_ = false;
  // Held across a unit's hand-off to the store, so "the last unit queued" is
  // the store's order too. Recursive: a refused unit finishes (and closes)
  // inside that hand-off, on the same thread.
  std::recursive_mutex later_mutex_;
  Unit* open_later_ = nullptr;  // the last unit queued, if append_later's and not taken; guarded by later_mutex_
};

}  // namespace opsgate::audit
