#pragma once
// The leader lease on PostgreSQL: one row of table `leases` per lease name,
// taken or renewed by one conditional upsert decided by the database's clock
// (`INSERT … ON CONFLICT … DO UPDATE … WHERE expires_at < clock_timestamp() OR
// holder = $me RETURNING token`); the token is incremented at each takeover
// (a new holder, or the same one after its lease expired). Owned by the
// daemon; called from Leadership's worker thread (it blocks on the writer).

#include <memory>

#include "src/core/leader_lease.hpp"

namespace opsgate::store {

class PgStore;

class PgLeaderLease final : public LeaderLease {
 public:
  explicit PgLeaderLease(std::shared_ptr<PgStore> store);
  Result<std::optional<std::int64_t>> acquire(const std::string& name, const std::string& holder,
                                              std::chrono::milliseconds ttl) override;
  Result<void> release(const std::string& name, const std::string& holder) override;

 private:
  std::shared_ptr<PgStore> store_;
};

}  // namespace opsgate::store
