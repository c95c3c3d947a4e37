#include "src/audit/sqlite_audit_log.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include "src/audit/audit_hash.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::audit {

namespace {

constexpr int kColumns = 13;

// INSERTs of 1..kRowsPerInsert rows (index: rows): one statement per unit of
// up to that many events (a request's trail has four or five) costs SQLite
// one statement's start and end instead of one per row. OR ROLLBACK: a
// statement of several rows that may stop half-way (ABORT, the default)
// makes SQLite keep a statement journal, which spilled to a temporary file
// and cost five pwrite calls a message. The table refuses none of the rows
// the writer seals (seq follows the head it checked, no value is null); if
// it ever did, the batch's transaction is rolled back and the batch fails
// whole. Built once; the store's statement cache is keyed by their addresses.
const std::array<std::string, SqliteAuditLog::kRowsPerInsert + 1>& insert_statements() {
  static const auto statements = [] {
    std::array<std::string, SqliteAuditLog::kRowsPerInsert + 1> sql;
    for (std::size_t rows = 1; rows < sql.size(); ++rows) {
      sql[rows] = "INSERT OR ROLLBACK INTO audit_events(seq, ts_ms, request_id, kind, platform, channel, principal, action, "
                  "params, outcome, detail, prev_hash, hash) VALUES ";
      for (std::size_t row = 0; row < rows; ++row) {
        sql[rows] += row == 0 ? "(?,?,?,?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?,?,?,?)";
      }
    }
    return sql;
  }();
  return statements;
}

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
  job.self_contained = true;  // write_unit: one INSERT, or a savepoint of its own
  // Stamped under the store's queue lock so timestamps never go backwards as seq grows.
  job.on_queued = [this, raw = unit.get()] {
    raw->queued = true;
    stamp_times(*raw);
  };
  // The unit lives in its own `held` until `done`; every closure takes the
  // raw pointer, which fits std::function's inline buffer.
  job.work = [this, raw = unit.get()](SQLite::Database& db) { return write_unit(*raw, db); };
  // `done` runs exactly once, also when submit() refuses the job, and lets go of the hold.
  job.done = [this, raw = unit.get()](bool committed, const Error* error) {
    finish_unit(std::move(raw->held), committed, error);
  };
  Unit* raw = unit.get();
  raw->held = std::move(unit);
  return store_->submit(std::move(job));
}

bool SqliteAuditLog::write_unit(Unit& unit, SQLite::Database& db) {
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
  // Read now: append_later() events joined the unit until close_later_unit().
  const std::size_t rows = unit.events.size();
  const bool one_statement = rows <= kRowsPerInsert;
  if (!one_statement) {
    store_->statement("SAVEPOINT audit_unit").exec();  // the store opened none (self_contained)
  }
  try {
    write_rows(unit, rows);
  } catch (const std::exception&) {
    if (!one_statement && sqlite3_get_autocommit(db.getHandle()) == 0) {
      store_->statement("ROLLBACK TO audit_unit").exec();
      store_->statement("RELEASE audit_unit").exec();
    }
    throw;
  }
  if (!one_statement) {
    store_->statement("RELEASE audit_unit").exec();
  }
  return true;
}

void SqliteAuditLog::write_rows(Unit& unit, std::size_t rows) {
  const auto& inserts = insert_statements();
  SQLite::Statement* insert = nullptr;
  std::size_t written = 0;  // rows of the unit bound so far
  std::size_t bound = 0;    // rows bound to *insert
  std::size_t chunk = 0;    // rows *insert takes
  tentative_ = write_events(unit, tentative_, [&](const AuditEvent& event, const std::string& params) {
    if (bound == 0) {
      chunk = std::min(kRowsPerInsert, rows - written);
      insert = &store_->statement(inserts[chunk].c_str());
    }
    const int at = static_cast<int>(bound) * kColumns;
    // The params text is the writer's buffer, reused for the next row: each
    // row of a statement keeps its own copy (capacity kept, so no allocation).
    params_[bound] = params;
    insert->bind(at + 1, event.seq);
    insert->bind(at + 2, event.ts_ms);
    // Not copied by SQLite: every string outlives the exec() below.
    insert->bindNoCopy(at + 3, event.request_id);
    insert->bindNoCopy(at + 4, event.kind);
    insert->bindNoCopy(at + 5, event.platform);
    insert->bindNoCopy(at + 6, event.channel);
    insert->bindNoCopy(at + 7, event.principal);
    insert->bindNoCopy(at + 8, event.action);
    insert->bindNoCopy(at + 9, params_[bound]);
    insert->bindNoCopy(at + 10, event.outcome);
    insert->bindNoCopy(at + 11, event.detail);
    insert->bindNoCopy(at + 12, event.prev_hash);
    insert->bindNoCopy(at + 13, event.hash);
    ++written;
    if (++bound == chunk) {
      insert->exec();
      insert->reset();
      bound = 0;
    }
  });
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
