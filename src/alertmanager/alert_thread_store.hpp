#pragma once
// Where the Alertmanager webhook keeps which chat thread belongs to which
// alert group (table alert_threads, owned by src/store/schema.cpp), behind an
// interface both database backends implement. Owned by the daemon, shared
// with the webhook; any strand.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"

namespace opsgate::store {
class PgStore;
class SqliteStore;
}

namespace opsgate::alertmanager {

// A row of alert_threads: where the group's thread is, and its story so far.
struct AlertThread {
  std::string platform;
  std::string channel;
  std::string thread;
  std::string target;
  std::string env;
  std::int64_t opened_ms = 0;
  std::int64_t last_ms = 0;  // the last firing or resolution
  std::int64_t fired = 1;    // times the group started firing while this thread was its home
  bool resolved = false;
};

class AlertThreadStore {
 public:
  virtual ~AlertThreadStore() = default;
  // The thread of `key` (groupKey|target|env), if any. First forgets resolved
  // groups quiet since before `forget_resolved_before_ms`: their next firing
  // is a new incident, so the table stays as small as the last few hours.
  virtual boost::asio::awaitable<Result<std::optional<AlertThread>>> load(std::string key,
                                                                         std::int64_t forget_resolved_before_ms) = 0;
  // Inserts or replaces the row of `key`; completes once it is durable.
  virtual boost::asio::awaitable<Result<void>> save(std::string key, AlertThread thread) = 0;
};

// On the daemon's SQLite store (its writer thread; loads see every save).
std::shared_ptr<AlertThreadStore> make_sqlite_alert_thread_store(std::shared_ptr<store::SqliteStore> store);
// On PostgreSQL, shared by the replicas (the same writer/reader split).
std::shared_ptr<AlertThreadStore> make_pg_alert_thread_store(std::shared_ptr<store::PgStore> store);

}  // namespace opsgate::alertmanager
