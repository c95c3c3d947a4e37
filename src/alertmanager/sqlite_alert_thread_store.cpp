#include <functional>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/alertmanager/alert_thread_store.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::alertmanager {

namespace {

class SqliteAlertThreadStore final : public AlertThreadStore {
 public:
  explicit SqliteAlertThreadStore(std::shared_ptr<store::SqliteStore> store) : store_(std::move(store)) {}

  boost::asio::awaitable<Result<std::optional<AlertThread>>> load(std::string key,
                                                                 std::int64_t forget_resolved_before_ms) override {
    // On the writer: the prune is a write, and the read must see the last save.
    // A named function, moved in: GCC 12 destroys a temporary in a co_await operand twice.
    std::function<Result<std::optional<AlertThread>>(SQLite::Database&)> work =
        [key = std::move(key), forget_resolved_before_ms](SQLite::Database& db) -> Result<std::optional<AlertThread>> {
      SQLite::Statement prune(db, "DELETE FROM alert_threads WHERE resolved = 1 AND last_ms < ?");
      prune.bind(1, static_cast<int64_t>(forget_resolved_before_ms));
      prune.exec();
      SQLite::Statement q(db,
                          "SELECT platform, channel, thread, target, env, opened_ms, last_ms, fired, resolved "
                          "FROM alert_threads WHERE key = ?");
      q.bind(1, key);
      if (!q.executeStep()) {
        return std::optional<AlertThread>{};
      }
      return AlertThread{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                         q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getInt64(),
                         q.getColumn(6).getInt64(),  q.getColumn(7).getInt64(),  q.getColumn(8).getInt() != 0};
    };
    auto loaded = co_await store_->write<std::optional<AlertThread>>(std::move(work));
    co_return loaded;
  }

  boost::asio::awaitable<Result<void>> save(std::string key, AlertThread thread) override {
    std::function<Result<void>(SQLite::Database&)> work = [key = std::move(key),
                                                           thread = std::move(thread)](SQLite::Database& db) -> Result<void> {
      SQLite::Statement q(db,
                          "INSERT OR REPLACE INTO alert_threads (key, platform, channel, thread, target, env, "
                          "opened_ms, last_ms, fired, resolved) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      q.bind(1, key);
      q.bind(2, thread.platform);
      q.bind(3, thread.channel);
      q.bind(4, thread.thread);
      q.bind(5, thread.target);
      q.bind(6, thread.env);
      q.bind(7, static_cast<int64_t>(thread.opened_ms));
      q.bind(8, static_cast<int64_t>(thread.last_ms));
      q.bind(9, static_cast<int64_t>(thread.fired));
      q.bind(10, thread.resolved ? 1 : 0);
      q.exec();
      return {};
    };
    auto saved = co_await store_->write<void>(std::move(work));
    co_return saved;
  }

 private:
  std::shared_ptr<store::SqliteStore> store_;
};

}  // namespace

std::shared_ptr<AlertThreadStore> make_sqlite_alert_thread_store(std::shared_ptr<store::SqliteStore> store) {
  return std::make_shared<SqliteAlertThreadStore>(std::move(store));
}

}  // namespace opsgate::alertmanager
