#pragma once
// The leader lease on SQLite: one process owns the file (the store's database
// lock, `<path>.lock`), so that process always leads; the token is 1. Owned
// by the daemon; any thread.

#include "src/core/leader_lease.hpp"

namespace opsgate::store {

class SqliteLeaderLease final : public LeaderLease {
 public:
  Result<std::optional<std::int64_t>> acquire(const std::string& /*name*/, const std::string& /*holder*/,
                                              std::chrono::milliseconds /*ttl*/) override {
    return std::optional<std::int64_t>{1};
  }
  Result<void> release(const std::string& /*name*/, const std::string& /*holder*/) override { return {}; }
};

}  // namespace opsgate::store
