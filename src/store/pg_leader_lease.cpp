#include "src/store/pg_leader_lease.hpp"

#include <pqxx/pqxx>

#include "src/store/pg_store.hpp"

namespace opsgate::store {

PgLeaderLease::PgLeaderLease(std::shared_ptr<PgStore> store) : store_(std::move(store)) {}

Result<std::optional<std::int64_t>> PgLeaderLease::acquire(const std::string& name, const std::string& holder,
                                                           std::chrono::milliseconds ttl) {
  const std::int64_t ttl_ms = ttl.count();
  return store_->write_now<std::optional<std::int64_t>>(
      [&name, &holder, ttl_ms](pqxx::transaction_base& tx) -> Result<std::optional<std::int64_t>> {
        // clock_timestamp(), not now(): the batch's transaction may have
        // begun before this unit; the expiry counts from this statement.
        const pqxx::result row = tx.exec_params(
            "INSERT INTO leases (name, holder, token, expires_at) "
            "VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond') "
            "ON CONFLICT (name) DO UPDATE SET "
            "  token = CASE WHEN leases.holder = EXCLUDED.holder AND leases.expires_at >= clock_timestamp() "
            "               THEN leases.token ELSE leases.token + 1 END, "
            "  holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
            "WHERE leases.expires_at < clock_timestamp() OR leases.holder = EXCLUDED.holder "
            "RETURNING token",
            name, holder, ttl_ms);
        if (row.empty()) {
          return std::optional<std::int64_t>{};
        }
        return std::optional<std::int64_t>{row[0][0].as<std::int64_t>()};
      });
}

Result<void> PgLeaderLease::release(const std::string& name, const std::string& holder) {
  return store_->write_now<void>([&name, &holder](pqxx::transaction_base& tx) -> Result<void> {
    tx.exec_params0("UPDATE leases SET expires_at = clock_timestamp() - interval '1 millisecond' "
                    "WHERE name = $1 AND holder = $2",
                    name, holder);
    return {};
  });
}

}  // namespace opsgate::store
