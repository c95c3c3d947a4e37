#include "src/audit/sqlite_audit_log.hpp"

#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <SQLiteCpp/Database.h>
#include <spdlog/spdlog.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include "src/audit/audit_hash.hpp"

namespace opsgate::audit {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr int kSchemaVersion = 1;

// One transaction so two processes opening a fresh file at once cannot
// interleave half a schema. The triggers make the table append-only for
// every client of the file, not just for this code; removing them takes a
// deliberate DROP TRIGGER, and the hash chain catches what happens after.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('audit_schema_version', '1');
CREATE TABLE IF NOT EXISTS audit_events (
  seq        INTEGER PRIMARY KEY,
  ts_ms      INTEGER NOT NULL,
  request_id TEXT,
  kind       TEXT,
  platform   TEXT,
  channel    TEXT,
  principal  TEXT,
  action     TEXT,
  params     TEXT,
  outcome    TEXT,
  detail     TEXT,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_request_id ON audit_events(request_id);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
)sql";

constexpr const char* kInsert =
    "INSERT INTO audit_events(seq, ts_ms, request_id, kind, platform, channel, principal, action, "
    "params, outcome, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";

constexpr const char* kHead = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

struct ChainHead {
  std::int64_t seq = 0;
  std::string hash{kGenesisHash};
};

ChainHead read_head(SQLite::Database& db) {
  SQLite::Statement head(db, kHead);
  ChainHead result;
  if (head.executeStep()) {
    result.seq = head.getColumn(0).getInt64();
    result.hash = head.getColumn(1).getString();
  }
  return result;
}

// Takes one unit from the test's failure budget, if any is left.
bool take_one(std::atomic<int>& budget) {
  int left = budget.load(std::memory_order_relaxed);
  while (left > 0 && !budget.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
  }
  return left > 0;
}

}  // namespace

using AppendHandler = asio::any_completion_handler<void(Result<std::int64_t>)>;

struct SqliteAuditLog::Pending {
  // Written in order in one transaction: a unit is never split across commits.
  std::vector<AuditEvent> events;
  // Boxed because Boost 1.81's any_completion_handler move-assignment
  // recurses until the stack overflows (fixed in 1.82), and std::vector
  // move-assigns its elements when the writer takes a batch. Null for
  // append_later(): nobody waits.
  std::unique_ptr<AppendHandler> handler;
  // The handler's executor with outstanding work tracked, so the io_context
  // does not run out of work (and return from run()) while the writer holds
  // the only reference to a suspended coroutine.
  asio::any_io_executor work;
};

namespace {

// Completion always goes through post(): the coroutine resumes on its own
// executor, never inline on the writer thread or inside enqueue(). Nobody
// waits for an append_later(): its failure can only be logged (once per
// batch by the caller, so a full disk does not flood the log).
template <class PendingT>
void complete(PendingT& pending, Result<std::int64_t> result) {
  if (!pending.handler) {
    return;
  }
  auto work = std::move(pending.work);
  asio::post(work, [handler = std::move(pending.handler), result = std::move(result)]() mutable {
    std::move(*handler)(std::move(result));
  });
}

}  // namespace

Result<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::open(std::string path, const Clock& clock,
                                                             AuditLogOptions options) {
  if (path.empty()) {
    return fail(Errc::invalid_input, "audit log path is empty: set storage.path");
  }
  if (options.max_batch == 0 || options.max_queued == 0) {
    return fail(Errc::invalid_input, "audit log max_batch and max_queued must be at least 1");
  }
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) {
      return fail(Errc::storage, "cannot create the directory " + parent.string() + " for the audit log at " + path +
                                     ": " + ec.message());
    }
  }
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->setBusyTimeout(options.busy_timeout_ms);
    // WAL lets the CLI read while the daemon writes; FULL makes each COMMIT
    // fsync, which is what "append completes when durable" promises.
    const std::string mode = db->execAndGet("PRAGMA journal_mode=WAL").getString();
    if (mode != "wal") {
      return fail(Errc::storage, "cannot use write-ahead logging for the audit log at " + path +
                                     " (journal mode stays '" + mode + "'); is it on a network file system?");
    }
    db->exec("PRAGMA synchronous=FULL");
    db->exec("BEGIN IMMEDIATE");
    try {
      db->exec(kSchema);
      db->exec("COMMIT");
    } catch (const SQLite::Exception&) {
      db->tryExec("ROLLBACK");
      throw;
    }
    const std::string version =
        db->execAndGet("SELECT value FROM meta WHERE key = 'audit_schema_version'").getString();
    if (version != std::to_string(kSchemaVersion)) {
      return fail(Errc::storage, "the audit log at " + path + " has schema version " + version +
                                     "; this opsgate understands version " + std::to_string(kSchemaVersion));
    }
    ChainHead head = read_head(*db);
    return std::unique_ptr<SqliteAuditLog>(
        new SqliteAuditLog(std::move(path), clock, options, std::move(db), head.seq, std::move(head.hash)));
  } catch (const SQLite::Exception& e) {
    return fail(Errc::storage, "cannot open the audit log at " + path + ": " + e.what());
  }
}

SqliteAuditLog::SqliteAuditLog(std::string path, const Clock& clock, AuditLogOptions options,
                               std::unique_ptr<SQLite::Database> db, std::int64_t last_seq, std::string last_hash)
    : path_(std::move(path)),
      clock_(clock),
      options_(options),
      db_(std::move(db)),
      last_seq_(last_seq),
      last_hash_(std::move(last_hash)) {
  writer_ = std::thread([this] { run_writer(); });
}

SqliteAuditLog::~SqliteAuditLog() { close(); }

void SqliteAuditLog::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  db_.reset();
}

boost::asio::awaitable<Result<std::int64_t>> SqliteAuditLog::append(AuditEvent event) {
  std::vector<AuditEvent> events;
  events.push_back(std::move(event));
  std::function<void()> nobody;
  Result<std::int64_t> result = co_await append_all(std::move(events), std::move(nobody));
  co_return result;
}

boost::asio::awaitable<Result<std::int64_t>> SqliteAuditLog::append_all(std::vector<AuditEvent> events,
                                                                        std::function<void()> queued) {
  if (events.empty()) {
    if (queued) {
      queued();
    }
    co_return fail(Errc::internal, "append_all called with no events (a bug)");
  }
  auto initiate = [this](auto handler, std::vector<AuditEvent> unit, std::function<void()> on_queued) {
    auto work = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    enqueue(Pending{std::move(unit), std::make_unique<AppendHandler>(std::move(handler)),
                    asio::any_io_executor(std::move(work))});
    if (on_queued) {
      on_queued();
    }
  };
  Result<std::int64_t> result =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<std::int64_t>)>(
          std::move(initiate), asio::use_awaitable, std::move(events), std::move(queued));
  co_return result;
}

void SqliteAuditLog::append_later(AuditEvent event) {
  Pending pending;
  pending.events.push_back(std::move(event));
  const std::string kind = pending.events.front().kind;
  const std::string request_id = pending.events.front().request_id;
  if (!enqueue(std::move(pending))) {
    spdlog::error("[{}] audit event '{}' not recorded: the audit log at {} refused it (closed or overloaded)",
                  request_id, kind, path_);
  }
}

bool SqliteAuditLog::enqueue(Pending pending) {
  std::optional<Error> refused;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      refused = Error{Errc::storage, "audit log is closed (" + path_ + ")"};
    } else if (queued_events_ + pending.events.size() > options_.max_queued) {
      refused = Error{Errc::storage, "audit log at " + path_ + " is overloaded: " + std::to_string(queued_events_) +
                                         " events are waiting to be written; is the disk slow or full?"};
    } else {
      // Stamped under the lock so timestamps never go backwards as seq grows.
      const std::int64_t now_ms = to_unix_ms(clock_.now());
      for (AuditEvent& event : pending.events) {
        if (event.ts_ms == 0) {
          event.ts_ms = now_ms;
        }
      }
      queued_events_ += pending.events.size();
      queue_.push_back(std::move(pending));
      // A busy writer takes the queue when its commit is done: waking it
      // costs a system call per append for nothing.
      wake = writer_idle_;
    }
  }
  if (refused) {
    complete(pending, tl::unexpected<Error>(std::move(*refused)));
    return false;
  }
  if (wake) {
    wake_.notify_one();
  }
  return true;
}

void SqliteAuditLog::run_writer() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      writer_idle_ = true;
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      writer_idle_ = false;
      if (queue_.empty()) {
        return;  // closing, and everything queued has been written
      }
      // Group commit: whatever piled up while the last fsync ran goes into
      // one transaction. Units are taken whole, so max_batch is a soft cap.
      std::size_t take = 0;
      std::size_t events = 0;
      while (take < queue_.size() && (take == 0 || events + queue_[take].events.size() <= options_.max_batch)) {
        events += queue_[take].events.size();
        ++take;
      }
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      queued_events_ -= events;
    }
    write_batch(batch);
    batch.clear();
  }
}

void SqliteAuditLog::write_batch(std::vector<Pending>& batch) {
  std::optional<Error> failure;
  std::int64_t seq = last_seq_;
  std::string prev = last_hash_;
  try {
    // IMMEDIATE takes the write lock now, so a lock held elsewhere is waited
    // for (busy_timeout) instead of failing at the first INSERT.
    db_->exec("BEGIN IMMEDIATE");
    const ChainHead head = read_head(*db_);
    if (head.seq != last_seq_ || head.hash != last_hash_) {
      failure = Error{Errc::storage, "the audit log at " + path_ + " was changed by another writer: expected event #" +
                                         std::to_string(last_seq_) + " to be the last, found #" +
                                         std::to_string(head.seq) +
                                         "; run `opsgate audit verify` and restart opsgate"};
    } else {
      SQLite::Statement insert(*db_, kInsert);
      for (Pending& pending : batch) {
        for (AuditEvent& event : pending.events) {
          event.seq = ++seq;
          const std::string params = event.params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
          // Hash what verify() will read back: the stored text, re-parsed
          // (an empty object reads back as itself; skip the parse).
          if (!(event.params.is_object() && event.params.empty())) {
            event.params = nlohmann::json::parse(params);
          }
          event.prev_hash = prev;
          event.hash = compute_audit_hash(prev, event);
          insert.bind(1, event.seq);
          insert.bind(2, event.ts_ms);
          insert.bind(3, event.request_id);
          insert.bind(4, event.kind);
          insert.bind(5, event.platform);
          insert.bind(6, event.channel);
          insert.bind(7, event.principal);
          insert.bind(8, event.action);
          insert.bind(9, params);
          insert.bind(10, event.outcome);
          insert.bind(11, event.detail);
          insert.bind(12, event.prev_hash);
          insert.bind(13, event.hash);
          insert.exec();
          insert.reset();
          prev = event.hash;
        }
      }
      if (take_one(fail_next_commits_)) {
        failure = Error{Errc::storage, "could not commit to the audit log at " + path_ +
                                           ": injected failure (test); the events were not recorded"};
      } else {
        db_->exec("COMMIT");
      }
    }
  } catch (const std::exception& e) {
    // SQLite::Exception (I/O error, disk full, lock timeout) or a json/alloc
    // failure: either way none of the batch is durable.
    failure = Error{Errc::storage, "could not write to the audit log at " + path_ + ": " + e.what() +
                                       "; the events were not recorded"};
  }

  if (failure) {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY) or SQLite
    // may have rolled it back already (I/O error); only roll back if open.
    if (db_ && sqlite3_get_autocommit(db_->getHandle()) == 0) {
      db_->tryExec("ROLLBACK");
    }
    bool unawaited = false;
    for (Pending& pending : batch) {
      unawaited = unawaited || !pending.handler;
      complete(pending, tl::unexpected<Error>(*failure));
    }
    if (unawaited) {
      spdlog::error("audit events nobody waited for (reply outcomes) were not recorded: {}", failure->message);
    }
    return;
  }

  const std::int64_t last_committed = last_seq_;
  last_seq_ = seq;
  last_hash_ = std::move(prev);
  commits_.fetch_add(1, std::memory_order_relaxed);
  committed_events_.fetch_add(seq - last_committed, std::memory_order_relaxed);
  for (Pending& pending : batch) {
    complete(pending, pending.events.back().seq);
  }
}

}  // namespace opsgate::audit
