#include "src/audit/seen_events.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace opsgate::audit {

namespace {
std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

SeenEvents::SeenEvents(std::unique_ptr<SQLite::Database> db, std::chrono::seconds window)
    : db_(std::move(db)), window_(window) {}

SeenEvents::~SeenEvents() = default;

Result<std::unique_ptr<SeenEvents>> SeenEvents::open(const std::string& path, std::chrono::seconds window) {
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->setBusyTimeout(5000);
    db->exec("PRAGMA journal_mode=WAL");
    // A crash of opsgate keeps committed rows (WAL); what an OS crash could
    // lose is a retry window of a few ms, not worth an fsync per delivery.
    db->exec("PRAGMA synchronous=NORMAL");
    db->exec("CREATE TABLE IF NOT EXISTS seen_events (key TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL)");
    db->exec("CREATE INDEX IF NOT EXISTS seen_events_ms ON seen_events(seen_ms)");
    return std::unique_ptr<SeenEvents>(new SeenEvents(std::move(db), window));
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot open the delivery dedup table in " + path + ": " + e.what());
  }
}

Result<bool> SeenEvents::first_time(const std::string& key, std::chrono::system_clock::time_point now) {
  const std::int64_t now_ms = unix_ms(now);
  const std::int64_t cutoff = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
  std::lock_guard lock(mutex_);
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
    upsert.bind(1, key);
    upsert.bind(2, now_ms);
    upsert.bind(3, cutoff);
    return upsert.exec() > 0;
  } catch (const std::exception& e) {
    return fail(Errc::storage, std::string("delivery dedup table: ") + e.what());
  }
}

}  // namespace opsgate::audit
