#pragma once
// The approval service and rate limiter over a database: each operation is
// one rule of approval_rules.hpp run in one transaction of the backend's
// store — writes on its writer thread (so two votes that arrive together are
// serialised and only one can move an approval to `granted`), plain reads on
// a reader connection. The backends (SqliteApprovalStore, PgApprovalStore)
// only say how to run a function of ApprovalRows in a transaction. Owned by
// the daemon; any strand.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/approval/approval_rows.hpp"
#include "src/core/approval_service.hpp"

namespace opsgate::approval {

class RulesApprovalStore : public ApprovalService, public RateLimiter {
 public:
  using RowsWork = std::function<Result<void>(ApprovalRows&)>;
  // What a write must be serialised with, beyond its own rows.
  enum class Serialise { rows, rate_limits };

  boost::asio::awaitable<Result<Approval>> create(ApprovalDraft draft) override;
  boost::asio::awaitable<Result<VoteOutcome>> vote(std::string id, Principal voter, bool approve, std::string reason,
                                                   std::shared_ptr<const PolicyEngine> policy,
                                                   std::chrono::system_clock::time_point now) override;
  boost::asio::awaitable<Result<VoteOutcome>> cancel(std::string id, Principal who,
                                                     std::shared_ptr<const PolicyEngine> policy,
                                                     std::chrono::system_clock::time_point now) override;
  boost::asio::awaitable<Result<std::vector<Approval>>> pending(std::chrono::system_clock::time_point now) override;
  boost::asio::awaitable<Result<void>> finish(std::string id, bool ok) override;
  boost::asio::awaitable<Result<std::vector<Approval>>> expire_due(std::chrono::system_clock::time_point now) override;
  boost::asio::awaitable<Result<std::vector<Approval>>> take_over_orphaned() override;
  boost::asio::awaitable<Result<Approval>> restart_vote(std::string id, std::string preview_text,
                                                        std::string preview_fingerprint,
                                                        std::chrono::system_clock::time_point now) override;
  boost::asio::awaitable<Result<Approval>> get(std::string id) override;
  boost::asio::awaitable<Result<void>> attach_thread(std::string id, std::string thread) override;

  // Rate limits count reservations (their own table, rate_reservations,
  // indexed by time and by person), taken in the transaction that checks them.
  boost::asio::awaitable<Result<RateVerdict>> reserve(RateReservation reservation) override;
  boost::asio::awaitable<Result<void>> release(std::string request_id) override;

  // Approvals granted but never run because the process that granted them
  // stopped: marked failed at start-up (at most once: opsgate never runs a
  // write it cannot prove has not run).
  Result<std::vector<Approval>> recover_interrupted();
  // take_over_orphaned on the calling thread (tests race replicas with it).
  Result<std::vector<Approval>> take_over_orphaned_now();

  // Synchronous variants: the same work, waiting on the calling thread;
  // tests call them directly, e.g. to race two votes on two threads.
  Result<VoteOutcome> vote_now(const std::string& id, const Principal& voter, bool approve, const std::string& reason,
                               const PolicyEngine& policy, std::chrono::system_clock::time_point now);
  Result<Approval> create_now(const ApprovalDraft& draft);
  Result<VoteOutcome> cancel_now(const std::string& id, const Principal& who, const PolicyEngine& policy,
                                 std::chrono::system_clock::time_point now);
  Result<std::vector<Approval>> pending_now(std::chrono::system_clock::time_point now);
  Result<void> finish_now(const std::string& id, bool ok);
  Result<std::vector<Approval>> expire_now(std::chrono::system_clock::time_point now);
  Result<Approval> restart_vote_now(const std::string& id, const std::string& preview_text,
                                    const std::string& preview_fingerprint, std::chrono::system_clock::time_point now);
  Result<Approval> get_now(const std::string& id);
  Result<void> attach_thread_now(const std::string& id, const std::string& thread);
  Result<RateVerdict> reserve_now(const RateReservation& reservation);
  Result<void> release_now(const std::string& request_id);

 protected:
  // Runs `work` in a write transaction shared with other queued work (its
  // own savepoint); completes once that transaction has committed. A failed
  // Result undoes `work`'s changes and is returned.
  virtual Result<void> write_rows_now(RowsWork work, Serialise with) = 0;
  virtual boost::asio::awaitable<Result<void>> write_rows(RowsWork work, Serialise with) = 0;
  // Runs `work` in a read-only transaction.
  virtual Result<void> read_rows_now(RowsWork work) = 0;
  virtual boost::asio::awaitable<Result<void>> read_rows(RowsWork work) = 0;
};

}  // namespace opsgate::approval
