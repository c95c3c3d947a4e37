#pragma once
// Approvals, votes and rate-limit reservations in the daemon's SQLite file
// (tables owned by src/store/schema.cpp): the rules of RulesApprovalStore on
// SqliteStore. Every change runs on the store's one writer thread inside a
// transaction (SQLite's write lock serialises the writers of the file);
// plain reads use the store's reader connections. Owned by the daemon; any strand.

#include <memory>
#include <string>

#include "src/approval/rules_approval_store.hpp"

namespace opsgate::store {
class SqliteStore;
}

namespace opsgate::approval {

class SqliteApprovalStore final : public RulesApprovalStore {
 public:
  // With a store of its own (tests, tools).
  static Result<std::unique_ptr<SqliteApprovalStore>> open(const std::string& path);
  // On the daemon's one store.
  static Result<std::unique_ptr<SqliteApprovalStore>> open(std::shared_ptr<store::SqliteStore> store);
  ~SqliteApprovalStore() override;

 private:
  explicit SqliteApprovalStore(std::shared_ptr<store::SqliteStore> store);

  Result<void> write_rows_now(RowsWork work, Serialise with) override;
  boost::asio::awaitable<Result<void>> write_rows(RowsWork work, Serialise with) override;
  Result<void> read_rows_now(RowsWork work) override;
  boost::asio::awaitable<Result<void>> read_rows(RowsWork work) override;

  std::shared_ptr<store::SqliteStore> store_;
};

// Short ids people type in chat: 5 characters without look-alikes (0/o, 1/l).
std::string new_approval_id();

}  // namespace opsgate::approval
