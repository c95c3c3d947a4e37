#include "src/audit/replay_store.hpp"

#include <algorithm>
#include <optional>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::audit {

namespace {
constexpr std::size_t kMaxKeyBytes = 160;  // longer keys (caller-sized) are stored as a digest
constexpr std::int64_t kPurgeEveryMs = 60'000;
}  // namespace

ReplayStore::ReplayStore(std::string path, std::chrono::seconds window) : path_(std::move(path)), window_(window) {}

ReplayStore::~ReplayStore() = default;

void ReplayStore::widen_window(std::chrono::seconds at_least) {
  std::lock_guard lock(mutex_);
  window_ = std::max(window_, at_least);
}

Result<void> ReplayStore::open() {
  {
    std::lock_guard lock(mutex_);
    if (store_) {
      return {};
    }
  }
  // Short: a lock held elsewhere should not hold up an acknowledgement for long.
  store::StoreOptions options;
  options.busy_timeout_ms = 1000;
  auto opened = store::SqliteStore::open(path_, options);
  if (!opened) {
    return fail(Errc::storage, "cannot open the replay table (seen_events) in " + path_ + ": " + opened.error().message);
  }
  return open(std::move(*opened));
}

Result<void> ReplayStore::open(std::shared_ptr<store::SqliteStore> store) {
  using Rows = std::unordered_map<std::string, std::int64_t>;
  auto rows = store->read_now<Rows>([](SQLite::Database& db) -> Result<Rows> {
    Rows out;
    SQLite::Statement q(db, "SELECT key, seen_ms FROM seen_events");
    while (q.executeStep()) {
      out.emplace(q.getColumn(0).getString(), q.getColumn(1).getInt64());
    }
    return out;
  });
  if (!rows) {
    return fail(Errc::storage, "cannot read the replay table (seen_events) in " + store->path() + ": " +
                                   rows.error().message);
  }
  std::lock_guard lock(mutex_);
  if (store_) {
    return {};
  }
  path_ = store->path();
  store_ = std::move(store);
  seen_ = std::move(*rows);
  return {};
}

Result<bool> ReplayStore::first_time(std::string_view key, std::chrono::system_clock::time_point now) {
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string stored = key.size() > kMaxKeyBytes ? "sha256:" + sha256_hex(key) : std::string(key);
  std::lock_guard lock(mutex_);
  if (!store_) {
    return fail(Errc::storage, "the replay table is not open (internal: the daemon opens it at start-up)");
  }
  const std::int64_t cutoff = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
  if (now_ms - last_purge_ms_ > kPurgeEveryMs) {
    std::erase_if(seen_, [cutoff](const auto& entry) { return entry.second < cutoff; });
    store::WriteJob purge;
    purge.work = [cutoff](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM seen_events WHERE seen_ms < ?");
      q.bind(1, cutoff);
      q.exec();
      return true;
    };
    store_->submit(std::move(purge));  // best effort: a refused purge is retried a minute later
    last_purge_ms_ = now_ms;
  }
  // An old entry (past the window, not yet purged) counts as new again.
  const auto found = seen_.find(stored);
  if (found != seen_.end() && found->second >= cutoff) {
    return false;
  }
  // Waits for the commit that holds the key (shared with whatever else is
  // queued: group commit). Not queued and forgotten: this wait is what holds
  // back a platform that sends faster than the writer commits; without it
  // the work acknowledged but not yet done piles up (10,000 Slack clicks grew
  // the daemon by 200 MB).
  auto recorded = store_->write_now<void>([stored, now_ms](SQLite::Database& db) -> Result<void> {
    SQLite::Statement upsert(db,
                             "INSERT INTO seen_events(key, seen_ms) VALUES(?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET seen_ms = excluded.seen_ms");
    upsert.bind(1, stored);
    upsert.bind(2, now_ms);
    upsert.exec();
    return {};
  });
  if (!recorded) {
    return fail(Errc::storage, "replay table (seen_events) in " + path_ + ": " + recorded.error().message);
  }
  seen_[std::move(stored)] = now_ms;
  return true;
}

}  // namespace opsgate::audit
