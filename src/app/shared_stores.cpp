#include "src/app/shared_stores.hpp"

#include "src/store/pg_leader_lease.hpp"
#include "src/store/pg_llm_usage.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/sqlite_leader_lease.hpp"
#include "src/store/sqlite_llm_usage.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::app {

SharedStores shared_stores(std::shared_ptr<store::SqliteStore> database) {
  SharedStores out;
  out.where = database->path();
  out.alert_threads = alertmanager::make_sqlite_alert_thread_store(database);
  out.llm_usage = std::make_unique<store::SqliteLlmUsageLog>(database);
  // One process owns the file (its lock): that process always leads.
  out.lease = std::make_unique<store::SqliteLeaderLease>();
  out.ping = [database] { return database->ping(); };
  out.open_gates = [database] { return gates::GateStore::open(database); };
  return out;
}

SharedStores shared_stores(std::shared_ptr<store::PgStore> database) {
  SharedStores out;
  out.where = database->where();
  out.alert_threads = alertmanager::make_pg_alert_thread_store(database);
  out.llm_usage = std::make_unique<store::PgLlmUsageLog>(database);
  out.lease = std::make_unique<store::PgLeaderLease>(database);
  out.ping = [database] { return database->ping(); };
  out.open_gates = [database] { return gates::GateStore::open(database); };
  return out;
}

}  // namespace opsgate::app
