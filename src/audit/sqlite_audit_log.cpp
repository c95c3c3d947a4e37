#include "src/audit/sqlite_audit_log.hpp"

#include <utility>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::audit {

namespace {

constexpr const char* kInsert =
    "INSERT INTO audit_events(seq, ts_ms, request_id, kind, platform, channel, principal, action, "
    "params, outcome, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";

constexpr const char* kHead = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

}  // namespace

Result<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::open(std::string path, const Clock& clock,
                                                             AuditLogOptions options) {
  if (path.empty()) {
    return fail(Errc::invalid_input, "audit log path is empty: set storage.path");
  }
  if (options.max_batch == 0 || options.max_queued == 0) {
    return fail(Errc::invalid_input, "audit log max_batch and max_queued must be at least 1");
  }
  auto store = store::SqliteStore::open(
      path, store::StoreOptions{options.max_batch, options.max_queued, options.busy_timeout_ms, {}});
  if (!store) {
    return tl::unexpected(store.error());
  }
  return make(std::move(*store), true, clock);
}

Result<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::attach(std::shared_ptr<store::SqliteStore> store,
                                                               const Clock& clock) {
  return make(std::move(store), false, clock);
}

Result<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::make(std::shared_ptr<store::SqliteStore> store,
                                                             bool owns_store, const Clock& clock) {
  auto head = store->read_now<ChainHead>([](SQLite::Database& db) -> Result<ChainHead> {
    SQLite::Statement q(db, kHead);
    ChainHead result{0, std::string(kGenesisHash)};
    if (q.executeStep()) {
      result.seq = q.getColumn(0).getInt64();
      result.hash = q.getColumn(1).getString();
    }
    return result;
  });
  if (!head) {
    return fail(Errc::storage, "cannot read the audit log's last event: " + head.error().message);
  }
  return std::unique_ptr<SqliteAuditLog>(new SqliteAuditLog(std::move(store), owns_store, clock, std::move(*head)));
}

SqliteAuditLog::SqliteAuditLog(std::shared_ptr<store::SqliteStore> store, bool owns_store, const Clock& clock,
                               ChainHead head)
    : QueuedAuditLog(clock), store_(std::move(store)), owns_store_(owns_store), committed_(head), tentative_(head) {
  merge_later_appends();  // write_unit() and on_finished() close the unit first
}

SqliteAuditLog::~SqliteAuditLog() { close(); }

void SqliteAuditLog::close() {
  drain();
  if (owns_store_) {
    store_->close();
  }
}

std::int64_t SqliteAuditLog::commits() const { return store_->commits(); }
const std::string& SqliteAuditLog::path() const { return store_->path(); }
void SqliteAuditLog::fail_next_commits_for_test(int n) { store_->fail_next_commits_for_test(n); }

bool SqliteAuditLog::submit_unit(std::shared_ptr<Unit> unit) {
  store::WriteJob job;
  job.rows = unit->events.size();
  // Stamped under the store's queue lock so timestamps never go backwards as seq grows.
  job.on_queued = [this, raw = unit.get()] {
    raw->queued = true;
    stamp_times(*raw);
  };
  // `done` holds the unit for the job's lifetime; `work` runs before it and
  // takes the raw pointer, which fits std::function's inline buffer.
  job.work = [this, raw = unit.get()](SQLite::Database&) { return write_unit(*raw); };
  job.done = [this, unit](bool committed, const Error* error) { finish_unit(unit, committed, error); };
  return store_->submit(std::move(job));
}

bool SqliteAuditLog::write_unit(Unit& unit) {
  close_later_unit(unit);  // its events are read below: none may join it now
  if (tentative_ == committed_) {
    // The first unit of this transaction: is the file still where this
    // process left it? Another writer moving the head would fork the chain.
    SQLite::Statement& head = store_->statement(kHead);
    ChainHead found{0, std::string(kGenesisHash)};
    if (head.executeStep()) {
      found.seq = head.getColumn(0).getInt64();
      found.hash = head.getColumn(1).getString();
    }
    head.tryReset();
    if (found != committed_) {
      unit.refusal = Error{Errc::storage, "the audit log at " + path() + " was changed by another writer: expected event #" +
                                              std::to_string(committed_.seq) + " to be the last, found #" +
                                              std::to_string(found.seq) +
                                              "; run `opsgate audit verify` and restart opsgate"};
      return false;
    }
  }
  SQLite::Statement& insert = store_->statement(kInsert);
  tentative_ = write_events(unit, tentative_, [&insert](const AuditEvent& event, const std::string& params) {
    insert.bind(1, event.seq);
    insert.bind(2, event.ts_ms);
    // Not copied by SQLite: every string outlives the exec() below.
    insert.bindNoCopy(3, event.request_id);
    insert.bindNoCopy(4, event.kind);
    insert.bindNoCopy(5, event.platform);
    insert.bindNoCopy(6, event.channel);
    insert.bindNoCopy(7, event.principal);
    insert.bindNoCopy(8, event.action);
    insert.bindNoCopy(9, params);
    insert.bindNoCopy(10, event.outcome);
    insert.bindNoCopy(11, event.detail);
    insert.bindNoCopy(12, event.prev_hash);
    insert.bindNoCopy(13, event.hash);
    insert.exec();
    insert.reset();
  });
  return true;
}

void SqliteAuditLog::on_finished(Unit& unit, bool committed) {
  close_later_unit(unit);  // a failed batch finishes units the writer never read
  if (!unit.queued) {
    // Refused before the queue took it (closed, overloaded), on the appending
    // thread: the heads are the writer's, and a batch may be open. Resetting
    // tentative_ here made the next unit of that batch reuse a seq.
    return;
  }
  if (!committed) {
    tentative_ = committed_;  // the transaction is gone: the head is the last committed row
  } else if (unit.written) {
    committed_ = unit.end;
  }
}

}  // namespace opsgate::audit
