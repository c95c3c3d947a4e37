#pragma once
// Small helpers for the audit suites: a temporary directory, a clock the
// test sets, and a way to run appends on a real io_context.

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"

namespace opsgate::audit::test {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "opsgate-audit-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::int64_t unix_ms) : now_(std::chrono::milliseconds(unix_ms)) {}
  std::chrono::system_clock::time_point now() const override { return now_; }

 private:
  std::chrono::system_clock::time_point now_;
};

inline constexpr std::int64_t kTestNowMs = 1795611662123;  // 2026-11-25T13:01:02.123Z

inline AuditEvent make_event(std::string request_id, std::string kind, nlohmann::json params = nlohmann::json::object(),
                             std::string detail = "") {
  AuditEvent event;
  event.request_id = std::move(request_id);
  event.kind = std::move(kind);
  event.platform = "shell";
  event.channel = "local";
  event.principal = "shell:alice";
  event.action = "restart";
  event.params = std::move(params);
  event.outcome = "ok";
  event.detail = std::move(detail);
  return event;
}

inline boost::asio::awaitable<void> append_into(AuditLog* log, AuditEvent event,
                                                std::optional<Result<std::int64_t>>* out) {
  Result<std::int64_t> result = co_await log->append(std::move(event));
  *out = std::move(result);
}

inline void rethrow_if_failed(std::exception_ptr error) {
  if (error) {
    std::rethrow_exception(error);
  }
}

// Spawns one coroutine per event on `io`; results land in `out` as they complete.
inline void spawn_appends(boost::asio::io_context& io, AuditLog& log, std::vector<AuditEvent> events,
                          std::vector<std::optional<Result<std::int64_t>>>& out) {
  out.assign(events.size(), std::nullopt);
  for (std::size_t i = 0; i < events.size(); ++i) {
    boost::asio::co_spawn(io, append_into(&log, std::move(events[i]), &out[i]), rethrow_if_failed);
  }
}

inline std::vector<Result<std::int64_t>> unwrap(std::vector<std::optional<Result<std::int64_t>>>& slots) {
  std::vector<Result<std::int64_t>> results;
  for (auto& slot : slots) {
    if (!slot) {
      throw std::runtime_error("an append never completed");
    }
    results.push_back(std::move(*slot));
  }
  return results;
}

// Appends the events concurrently on a fresh io_context and runs it to completion.
inline std::vector<Result<std::int64_t>> append_all(AuditLog& log, std::vector<AuditEvent> events) {
  boost::asio::io_context io;
  std::vector<std::optional<Result<std::int64_t>>> slots;
  spawn_appends(io, log, std::move(events), slots);
  io.run();
  return unwrap(slots);
}

inline Result<std::int64_t> append_one(AuditLog& log, AuditEvent event) {
  std::vector<AuditEvent> events;
  events.push_back(std::move(event));
  return std::move(append_all(log, std::move(events)).front());
}

// A second connection that behaves like someone with shell access to the file.
inline void exec_sql(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(sql);
}

// One column of the stored events, in chain order, read through a second
// connection: what a crash at this instant would leave.
inline std::vector<std::string> stored_column(const std::string& path, const std::string& column) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement query(db, "SELECT " + column + " FROM audit_events ORDER BY seq");
  std::vector<std::string> values;
  while (query.executeStep()) {
    values.push_back(query.getColumn(0).getString());
  }
  return values;
}

// Takes the file's write lock from a second connection (BEGIN IMMEDIATE):
// the log's writer waits at its next BEGIN until the caller COMMITs, so
// appends made meanwhile queue up and share one batch.
inline SQLite::Database hold_write_lock(const std::string& path) {
  SQLite::Database holder(path, SQLite::OPEN_READWRITE);
  holder.exec("BEGIN IMMEDIATE");
  return holder;
}

}  // namespace opsgate::audit::test
