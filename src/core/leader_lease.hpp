#pragma once
// Extension point: a lease in the database that makes one replica the leader
// for work that must run once across replicas (the Discord gateway session,
// gate timers). The database's clock decides expiry; each takeover by a new
// holder increments the fencing token. SQLite's is store::SqliteLeaderLease
// (one process owns the file, so it always leads); PostgreSQL's is a row of
// table `leases`. Owned by the daemon; called from Leadership's worker thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "src/core/error.hpp"

namespace opsgate {

class LeaderLease {
 public:
  virtual ~LeaderLease() = default;
  // Takes lease `name` for `holder` when nobody holds it or it expired, or
  // extends it when `holder` holds it, until the database's now + `ttl`.
  // The fencing token when held; nullopt when another holder has it; an
  // error when the database could not be asked. Blocking (a round trip).
  virtual Result<std::optional<std::int64_t>> acquire(const std::string& name, const std::string& holder,
                                                      std::chrono::milliseconds ttl) = 0;
  // Ends the lease now if `holder` holds it, so another replica need not
  // wait for it to expire. Blocking.
  virtual Result<void> release(const std::string& name, const std::string& holder) = 0;
};

}  // namespace opsgate
