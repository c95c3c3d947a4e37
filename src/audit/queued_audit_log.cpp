#include "src/audit/queued_audit_log.hpp"

#include <mutex>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "src/audit/audit_hash.hpp"

namespace opsgate::audit {

namespace asio = boost::asio;

namespace {

using AppendHandler = asio::any_completion_handler<void(Result<std::int64_t>)>;

}  // namespace

// Shared with the posted drain, which may run after the log is gone.
struct QueuedAuditLog::Completions {
  struct Waiting {
    std::unique_ptr<AppendHandler> handler;
    Result<std::int64_t> result;
  };
  std::mutex mutex;
  std::vector<Waiting> waiting;     // guarded by mutex
  asio::any_io_executor executor;   // whom a drain is posted to (work not tracked), while `posted`; guarded by mutex
  bool posted = false;              // a drain is queued and has not taken `waiting` yet; guarded by mutex
  // Units the writer has finished with (finish_unit(shared_ptr)), freed by
  // the next drain or append; guarded by mutex.
  std::vector<std::shared_ptr<Unit>> spent;

  static void drain(const std::shared_ptr<Completions>& self) {
    std::vector<Waiting> ready;
    std::vector<std::shared_ptr<Unit>> done;  // freed last, here
    {
      std::lock_guard lock(self->mutex);
      ready.swap(self->waiting);
      done.swap(self->spent);
      self->posted = false;
      self->executor = asio::any_io_executor();
    }
    for (Waiting& waiting : ready) {
      std::move(*waiting.handler)(std::move(waiting.result));
    }
  }
};

QueuedAuditLog::QueuedAuditLog(const Clock& clock) : clock_(clock), completions_(std::make_shared<Completions>()) {}

void QueuedAuditLog::complete(Unit& unit, Result<std::int64_t> result) {
  if (!unit.handler) {
    return;
  }
  auto work = std::move(unit.work);
  // Compared without the work tracking: a tracked executor kept here would
  // outlive its io_context if the drain never ran.
  asio::any_io_executor target = asio::prefer(work, asio::execution::outstanding_work.untracked);
  std::unique_lock lock(completions_->mutex);
  if (completions_->posted && completions_->executor != target) {
    // Another executor (a strand, a second io_context): a post of its own.
    lock.unlock();
    asio::post(work, [handler = std::move(unit.handler), result = std::move(result)]() mutable {
      std::move(*handler)(std::move(result));
    });
    return;
  }
  completions_->waiting.push_back(Completions::Waiting{std::move(unit.handler), std::move(result)});
  if (completions_->posted) {
    return;  // the queued drain resumes it too
  }
  completions_->posted = true;
  completions_->executor = std::move(target);
  lock.unlock();
  asio::post(work, [completions = completions_] { Completions::drain(completions); });
}

boost::asio::awaitable<Result<std::int64_t>> QueuedAuditLog::append(AuditEvent event) {
  std::vector<AuditEvent> events;
  events.push_back(std::move(event));
  std::function<void()> nobody;
  Result<std::int64_t> result = co_await append_all(std::move(events), std::move(nobody));
  co_return result;
}

boost::asio::awaitable<Result<std::int64_t>> QueuedAuditLog::append_all(std::vector<AuditEvent> events,
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

namespace {
// Events one merged append_later() unit takes at most (a soft max_batch).
constexpr std::size_t kMaxLaterEvents = 256;
}  // namespace

void QueuedAuditLog::append_later(AuditEvent event) {
  std::unique_lock later(later_mutex_, std::defer_lock);
  if (merge_later_) {
    later.lock();
    if (open_later_ != nullptr && open_later_->events.size() < kMaxLaterEvents) {
      std::lock_guard lock(mutex_);
      if (!closing_) {
        // Still the last unit queued and not taken by the writer: this
        // event joins it, behind everything appended so far.
        if (event.ts_ms == 0) {
          event.ts_ms = to_unix_ms(clock_.now());
        }
        open_later_->events.push_back(std::move(event));
        return;
      }
    }
  }
  auto unit = std::make_shared<Unit>();
  unit->later = true;
  unit->events.push_back(std::move(event));
  // A second reference for the refusal's log line, rather than copying its
  // strings for every event in case it is refused.
  const std::shared_ptr<const Unit> kept = unit;
  if (!enqueue(std::move(unit))) {
    spdlog::error("[{}] audit event '{}' not recorded: the audit log at {} refused it (closed or overloaded)",
                  kept->events.front().request_id, kept->events.front().kind, where());
  }
}

bool QueuedAuditLog::enqueue(std::shared_ptr<Unit> unit) {
  // Destroyed last, outside both locks: what the writer handed back.
  std::vector<std::shared_ptr<Unit>> spent;
  {
    std::lock_guard lock(completions_->mutex);
    spent.swap(completions_->spent);
  }
  std::lock_guard later(later_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      complete(*unit, fail(Errc::storage, "audit log is closed (" + where() + ")"));
      return false;
    }
    ++outstanding_;
  }
  Unit* const raw = unit.get();
  const bool may_grow = merge_later_ && raw->later;
  open_later_ = nullptr;  // whatever comes next goes behind this unit
  const bool accepted = submit_unit(std::move(unit));
  if (accepted && may_grow) {
    // Valid until close_later_unit(): the writer calls it before reading the
    // unit, and on_finished() before the unit can go away.
    open_later_ = raw;
  }
  return accepted;
}

void QueuedAuditLog::close_later_unit(const Unit& unit) {
  if (!unit.later) {
    return;
  }
  std::lock_guard later(later_mutex_);
  if (open_later_ == &unit) {
    open_later_ = nullptr;
  }
}

void QueuedAuditLog::stamp_times(Unit& unit) const {
  const std::int64_t now_ms = to_unix_ms(clock_.now());
  for (AuditEvent& event : unit.events) {
    if (event.ts_ms == 0) {
      event.ts_ms = now_ms;
    }
  }
}

QueuedAuditLog::ChainHead QueuedAuditLog::write_events(
    Unit& unit, ChainHead head, const std::function<void(const AuditEvent&, const std::string& params)>& insert) {
  std::int64_t seq = head.seq;
  const std::string* prev = &head.hash;  // the previous row's hash, never copied but into the row
  std::string params;
  for (AuditEvent& event : unit.events) {
    event.seq = ++seq;
    params.clear();
    append_audit_params(params, event.params);
    // Hash what verify() will read back: the stored text, re-parsed
    // (an empty object reads back as itself; skip the parse).
    if (!audit_params_empty(event.params)) {
      event.params = nlohmann::json::parse(params);
    }
    event.prev_hash = *prev;
    event.hash = compute_audit_hash(event.prev_hash, event);
    insert(event, params);
    prev = &event.hash;
  }
  // Only a unit written whole moves the head (a throw above leaves it).
  unit.end = ChainHead{seq, *prev};
  unit.written = true;
  return unit.end;
}

void QueuedAuditLog::finish_unit(std::shared_ptr<Unit> unit, bool committed, const Error* error) {
  Unit& finished = *unit;
  finish(finished, committed, error, std::move(unit));
}

void QueuedAuditLog::finish_unit(Unit& unit, bool committed, const Error* error) {
  finish(unit, committed, error, nullptr);
}

void QueuedAuditLog::finish(Unit& unit, bool committed, const Error* error, std::shared_ptr<Unit> keep) {
  on_finished(unit, committed);
  if (committed && unit.written) {
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
  if (keep) {
    // Before the count drops: once it is 0, close() may return and the log go.
    std::lock_guard lock(completions_->mutex);
    completions_->spent.push_back(std::move(keep));
  }
  std::lock_guard lock(mutex_);
  --outstanding_;
  if (outstanding_ == 0) {
    drained_.notify_all();
  }
}

void QueuedAuditLog::drain() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  // Units still queued in the store call back into this object.
  drained_.wait(lock, [this] { return outstanding_ == 0; });
}

}  // namespace opsgate::audit
