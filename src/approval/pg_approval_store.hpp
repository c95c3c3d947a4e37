#pragma once
// Approvals, votes and rate-limit reservations in PostgreSQL, shared by
// several replicas: the rules of RulesApprovalStore with PostgreSQL's SQL.
// A vote locks its approval's row (FOR UPDATE), so votes from two replicas
// take turns and only one moves it to `granted` (a conditional UPDATE ...
// WHERE state='pending'); expiry claims its rows with FOR UPDATE SKIP LOCKED,
// so each expired approval is announced by one replica; the replica running
// a granted approval holds a session advisory lock on it until it finishes,
// so another replica's start-up recovery marks failed only what a dead
// replica left. Rate-limit checks take the rate lock at BEGIN of their batch.
// Owned by the daemon; any strand.

#include <memory>

#include "src/approval/rules_approval_store.hpp"

namespace opsgate::store {
class PgStore;
struct PgOptions;
}  // namespace opsgate::store

namespace opsgate::approval {

class PgApprovalStore final : public RulesApprovalStore {
 public:
  // With a store of its own (tests, tools).
  static Result<std::unique_ptr<PgApprovalStore>> open(const store::PgOptions& options);
  // On the daemon's one store.
  static Result<std::unique_ptr<PgApprovalStore>> open(std::shared_ptr<store::PgStore> store);
  ~PgApprovalStore() override;

 private:
  explicit PgApprovalStore(std::shared_ptr<store::PgStore> store);

  Result<void> write_rows_now(RowsWork work, Serialise with) override;
  boost::asio::awaitable<Result<void>> write_rows(RowsWork work, Serialise with) override;
  Result<void> read_rows_now(RowsWork work) override;
  boost::asio::awaitable<Result<void>> read_rows(RowsWork work) override;

  std::shared_ptr<store::PgStore> store_;
};

}  // namespace opsgate::approval
