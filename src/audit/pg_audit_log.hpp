#pragma once
// PgAuditLog: the hash-chained audit log in PostgreSQL, written by several
// replicas at once. Each replica's group commit takes the transaction-scoped
// advisory lock kPgAuditChainLock first (PgWriteJob::batch_lock), and each
// unit reads the chain head inside it, so the replicas take turns and the
// rows stay one verifiable sequence (seq is also the primary key: a fork
// could not commit). The rows and their hashes come from QueuedAuditLog and
// src/audit/audit_hash, the same code as SQLite's. Owned by the application;
// append from any thread or strand, close() from the owning thread.

#include <cstdint>
#include <memory>
#include <string>

#include "src/audit/queued_audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/error.hpp"

namespace pqxx {
class transaction_base;
}

namespace opsgate::store {
class PgStore;
struct PgOptions;
}  // namespace opsgate::store

namespace opsgate::audit {

class PgAuditLog final : public QueuedAuditLog {
 public:
  // With a store of its own (tools, tests, benchmarks). `clock` must outlive the log.
  static Result<std::unique_ptr<PgAuditLog>> open(const store::PgOptions& options, const Clock& clock);
  // On the daemon's one store: its appends share the store's group commit.
  static Result<std::unique_ptr<PgAuditLog>> attach(std::shared_ptr<store::PgStore> store, const Clock& clock);

  ~PgAuditLog() override;
  PgAuditLog(const PgAuditLog&) = delete;
  PgAuditLog& operator=(const PgAuditLog&) = delete;

  // Stops accepting appends and waits until what is queued has committed
  // (or failed); closes the store when it is the log's own. Idempotent.
  void close() override;

  std::int64_t commits() const;
  const std::string& where() const override;
  void fail_next_commits_for_test(int n);

 private:
  PgAuditLog(std::shared_ptr<store::PgStore> store, bool owns_store, const Clock& clock);

  bool submit_unit(std::shared_ptr<Unit> unit) override;
  // On the writer thread, inside the batch's transaction and the chain lock.
  bool write_unit(pqxx::transaction_base& tx, Unit& unit);

  std::shared_ptr<store::PgStore> store_;
  const bool owns_store_;
};

}  // namespace opsgate::audit
