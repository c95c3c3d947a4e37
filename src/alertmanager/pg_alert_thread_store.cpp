#include <functional>

#include <pqxx/pqxx>

#include "src/alertmanager/alert_thread_store.hpp"
#include "src/store/pg_store.hpp"

namespace opsgate::alertmanager {

namespace {

class PgAlertThreadStore final : public AlertThreadStore {
 public:
  explicit PgAlertThreadStore(std::shared_ptr<store::PgStore> store) : store_(std::move(store)) {}

  boost::asio::awaitable<Result<std::optional<AlertThread>>> load(std::string key,
                                                                 std::int64_t forget_resolved_before_ms) override {
    // A named function, moved in: GCC 12 destroys a temporary in a co_await operand twice.
    std::function<Result<std::optional<AlertThread>>(pqxx::transaction_base&)> work =
        [key = std::move(key),
         forget_resolved_before_ms](pqxx::transaction_base& tx) -> Result<std::optional<AlertThread>> {
      tx.exec_params0("DELETE FROM alert_threads WHERE resolved = 1 AND last_ms < $1", forget_resolved_before_ms);
      const pqxx::result rows = tx.exec_params(
          "SELECT platform, channel, thread, target, env, opened_ms, last_ms, fired, resolved "
          "FROM alert_threads WHERE key = $1",
          key);
      if (rows.empty()) {
        return std::optional<AlertThread>{};
      }
      const pqxx::row r = rows[0];
      return AlertThread{r[0].as<std::string>(),  r[1].as<std::string>(),  r[2].as<std::string>(),
                         r[3].as<std::string>(),  r[4].as<std::string>(),  r[5].as<std::int64_t>(),
                         r[6].as<std::int64_t>(), r[7].as<std::int64_t>(), r[8].as<std::int64_t>() != 0};
    };
    auto loaded = co_await store_->write<std::optional<AlertThread>>(std::move(work));
    co_return loaded;
  }

  boost::asio::awaitable<Result<void>> save(std::string key, AlertThread thread) override {
    std::function<Result<void>(pqxx::transaction_base&)> work =
        [key = std::move(key), thread = std::move(thread)](pqxx::transaction_base& tx) -> Result<void> {
      tx.exec_params0(
          "INSERT INTO alert_threads (key, platform, channel, thread, target, env, opened_ms, last_ms, fired, "
          "resolved) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
          "ON CONFLICT (key) DO UPDATE SET platform = EXCLUDED.platform, channel = EXCLUDED.channel, "
          "thread = EXCLUDED.thread, target = EXCLUDED.target, env = EXCLUDED.env, "
          "opened_ms = EXCLUDED.opened_ms, last_ms = EXCLUDED.last_ms, fired = EXCLUDED.fired, "
          "resolved = EXCLUDED.resolved",
          key, thread.platform, thread.channel, thread.thread, thread.target, thread.env, thread.opened_ms,
          thread.last_ms, thread.fired, thread.resolved ? 1 : 0);
      return {};
    };
    auto saved = co_await store_->write<void>(std::move(work));
    co_return saved;
  }

 private:
  std::shared_ptr<store::PgStore> store_;
};

}  // namespace

std::shared_ptr<AlertThreadStore> make_pg_alert_thread_store(std::shared_ptr<store::PgStore> store) {
  return std::make_shared<PgAlertThreadStore>(std::move(store));
}

}  // namespace opsgate::alertmanager
