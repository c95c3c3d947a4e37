#include "src/audit/sqlite_audit_log.hpp"

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
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <spdlog/spdlog.h>

#include "src/audit/audit_hash.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::audit {

namespace asio = boost::asio;

namespace {

constexpr const char* kInsert =
    "INSERT INTO audit_events(seq, ts_ms, request_id, kind, platform, channel, principal, action, "
    "params, outcome, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";

constexpr const char* kHead = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

using AppendHandler = asio::any_completion_handler<void(Result<std::int64_t>)>;

}  // namespace

struct SqliteAuditLog::Unit {
  // Written in order in one savepoint of one transaction: never split.
  std::vector<AuditEvent> events;
  // Boxed because Boost 1.81's any_completion_handler move-assignment
  // recurses until the stack overflows (fixed in 1.82). Null for
  // append_later(): nobody waits.
  std::unique_ptr<AppendHandler> handler;
  // The handler's executor with outstanding work tracked, so the io_context
  // does not run out of work (and return from run()) while the writer holds
  // the only reference to a suspended coroutine.
  asio::any_io_executor work;
  // Set by write_unit.
  bool written = false;
  ChainHead end;
  std::optional<Error> refusal;
};

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
    : store_(std::move(store)), owns_store_(owns_store), clock_(clock), committed_(head), tentative_(head) {}

SqliteAuditLog::~SqliteAuditLog() { close(); }

void SqliteAuditLog::close() {
  {
    std::unique_lock lock(mutex_);
    closing_ = true;
    // Units still queued in the store call back into this object.
    drained_.wait(lock, [this] { return outstanding_ == 0; });
  }
  if (owns_store_) {
    store_->close();
  }
}

std::int64_t SqliteAuditLog::commits() const { return store_->commits(); }
const std::string& SqliteAuditLog::path() const { return store_->path(); }
void SqliteAuditLog::fail_next_commits_for_test(int n) { store_->fail_next_commits_for_test(n); }

namespace {

// Completion always goes through post(): the coroutine resumes on its own
// executor, never inline on the writer thread or inside enqueue().
template <class UnitT>
void complete(UnitT& unit, Result<std::int64_t> result) {
  if (!unit.handler) {
    return;
  }
  auto work = std::move(unit.work);
  asio::post(work, [handler = std::move(unit.handler), result = std::move(result)]() mutable {
    std::move(*handler)(std::move(result));
  });
}

}  // namespace

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
  auto initiate = [this](auto handler, std::vector<AuditEvent> unit_events, std::function<void()> on_queued) {
    auto unit = std::make_shared<Unit>();
    unit->events = std::move(unit_events);
    unit->work = asio::any_io_executor(
        asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked));
    unit->handler = std::make_unique<AppendHandler>(std::move(handler));
    enqueue(std::move(unit));
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
  auto unit = std::make_shared<Unit>();
  unit->events.push_back(std::move(event));
  const std::string kind = unit->events.front().kind;
  const std::string request_id = unit->events.front().request_id;
  if (!enqueue(std::move(unit))) {
    spdlog::error("[{}] audit event '{}' not recorded: the audit log at {} refused it (closed or overloaded)",
                  request_id, kind, path());
  }
}

bool SqliteAuditLog::enqueue(std::shared_ptr<Unit> unit) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      complete(*unit, fail(Errc::storage, "audit log is closed (" + path() + ")"));
      return false;
    }
    ++outstanding_;
  }
  store::WriteJob job;
  job.rows = unit->events.size();
  // Stamped under the store's queue lock so timestamps never go backwards as seq grows.
  job.on_queued = [this, raw = unit.get()] {
    const std::int64_t now_ms = to_unix_ms(clock_.now());
    for (AuditEvent& event : raw->events) {
      if (event.ts_ms == 0) {
        event.ts_ms = now_ms;
      }
    }
  };
  job.work = [this, unit](SQLite::Database& db) { return write_unit(db, *unit); };
  job.done = [this, unit](bool committed, const Error* error) { finish_unit(*unit, committed, error); };
  return store_->submit(std::move(job));
}

bool SqliteAuditLog::write_unit(SQLite::Database& db, Unit& unit) {
  if (tentative_ == committed_) {
    // The first unit of this transaction: is the file still where this
    // process left it? Another writer moving the head would fork the chain.
    SQLite::Statement head(db, kHead);
    ChainHead found{0, std::string(kGenesisHash)};
    if (head.executeStep()) {
      found.seq = head.getColumn(0).getInt64();
      found.hash = head.getColumn(1).getString();
    }
    if (found != committed_) {
      unit.refusal = Error{Errc::storage, "the audit log at " + path() + " was changed by another writer: expected event #" +
                                              std::to_string(committed_.seq) + " to be the last, found #" +
                                              std::to_string(found.seq) +
                                              "; run `opsgate audit verify` and restart opsgate"};
      return false;
    }
  }
  std::int64_t seq = tentative_.seq;
  std::string prev = tentative_.hash;
  SQLite::Statement insert(db, kInsert);
  for (AuditEvent& event : unit.events) {
    event.seq = ++seq;
    const std::string params = event.params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // Hash what verify() will read back: the stored text, re-parsed
    // (an empty object reads back as itself; skip the parse).
    if (!(event.params.is_object() && event.params.empty())) {
      event.params = nlohmann::json::parse(params);
    }
    event.prev_hash = prev;
    event.hash = compute_audit_hash(prev, event);
    SQLite::bind(insert, event.seq, event.ts_ms, event.request_id, event.kind, event.platform, event.channel,
                 event.principal, event.action, params, event.outcome, event.detail, event.prev_hash, event.hash);
    insert.exec();
    insert.reset();
    prev = event.hash;
  }
  // Only a unit written whole moves the head (a throw above leaves it).
  tentative_ = ChainHead{seq, std::move(prev)};
  unit.end = tentative_;
  unit.written = true;
  return true;
}

void SqliteAuditLog::finish_unit(Unit& unit, bool committed, const Error* error) {
  if (!committed) {
    tentative_ = committed_;  // the transaction is gone: the head is the last committed row
  } else if (unit.written) {
    committed_ = unit.end;
    committed_events_.fetch_add(static_cast<std::int64_t>(unit.events.size()), std::memory_order_relaxed);
  }
  Result<std::int64_t> result = unit.end.seq;
  if (error != nullptr) {
    result = fail(Errc::storage, error->message + " (audit events of " +
                                     (unit.events.empty() ? std::string("?") : unit.events.front().request_id) + ")");
  } else if (!unit.written) {
    result = tl::unexpected(unit.refusal.value_or(Error{Errc::storage, "audit events not written"}));
  }
  if (!unit.handler && !result) {
    spdlog::error("audit events nobody waited for (reply outcomes) were not recorded: {}", result.error().message);
  }
  complete(unit, std::move(result));
  std::lock_guard lock(mutex_);
  --outstanding_;
  if (outstanding_ == 0) {
    drained_.notify_all();
  }
}

}  // namespace opsgate::audit
