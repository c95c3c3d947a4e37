#include "src/audit/replay_store.hpp"

#include <algorithm>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"

namespace opsgate::audit {

namespace {
constexpr std::size_t kMaxKeyBytes = 160;  // longer keys (caller-sized) are stored as a digest
}  // namespace

ReplayStore::ReplayStore(std::string path, std::chrono::seconds window) : path_(std::move(path)), window_(window) {}

ReplayStore::~ReplayStore() = default;

void ReplayStore::widen_window(std::chrono::seconds at_least) {
  std::lock_guard lock(mutex_);
  window_ = std::max(window_, at_least);
}

Result<void> ReplayStore::open() {
  std::lock_guard lock(mutex_);
  if (db_) {
    return {};
  }
  try {
    auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // Short: this runs on an acknowledgement path. The audit writer's batches are milliseconds.
    db->setBusyTimeout(1000);
    db->exec("PRAGMA journal_mode=WAL");
    // A crash of opsgate keeps committed rows (WAL); what an OS crash could
    // lose is a retry window of a few ms, not worth an fsync per delivery.
    db->exec("PRAGMA synchronous=NORMAL");
    // The table keeps the name it had when only Slack used it: one table, every platform.
    db->exec("CREATE TABLE IF NOT EXISTS seen_events (key TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL)");
    db->exec("CREATE INDEX IF NOT EXISTS seen_events_ms ON seen_events(seen_ms)");
    db_ = std::move(db);
    return {};
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot open the replay table (seen_events) in " + path_ + ": " + e.what());
  }
}

Result<bool> ReplayStore::first_time(std::string_view key, std::chrono::system_clock::time_point now) {
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::int64_t cutoff = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
  const std::string stored = key.size() > kMaxKeyBytes ? "sha256:" + sha256_hex(key) : std::string(key);
  std::lock_guard lock(mutex_);
  if (!db_) {
    return fail(Errc::storage, "the replay table is not open (internal: the daemon opens it at start-up)");
  }
  try {
    if (now_ms - last_purge_ms_ > 60'000) {
      SQLite::Statement purge(*db_, "DELETE FROM seen_events WHERE seen_ms < ?");
      purge.bind(1, cutoff);
      purge.exec();
      last_purge_ms_ = now_ms;
    }
    // An old row (past the window, not yet purged) counts as new again.
    SQLite::Statement upsert(*db_,
                             "INSERT INTO seen_events(key, seen_ms) VALUES(?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET seen_ms = excluded.seen_ms WHERE seen_ms < ?");
    upsert.bind(1, stored);
    upsert.bind(2, now_ms);
    upsert.bind(3, cutoff);
    return upsert.exec() > 0;
  } catch (const std::exception& e) {
    return fail(Errc::storage, std::string("replay table (seen_events) in ") + path_ + ": " + e.what() +
                                   " (is the disk full or the file read-only?)");
  }
}

}  // namespace opsgate::audit
