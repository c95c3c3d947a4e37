#pragma once
// Approvals, votes and rate-limit reservations in the daemon's database
// (tables owned by src/store/schema.cpp). Every change runs on the store's
// one writer thread inside a transaction, so two votes that arrive together
// are serialised and only one of them can move an approval to `granted`;
// plain reads use the store's reader connections. Owned by the daemon; any strand.

#include <memory>
#include <string>

#include "src/core/approval_service.hpp"

namespace opsgate::store {
class SqliteStore;
}

namespace opsgate::approval {

class SqliteApprovalStore final : public ApprovalService, public RateLimiter {
 public:
  // With a store of its own (tests, tools).
  static Result<std::unique_ptr<SqliteApprovalStore>> open(const std::string& path);
  // On the daemon's one store.
  static Result<std::unique_ptr<SqliteApprovalStore>> open(std::shared_ptr<store::SqliteStore> store);
  ~SqliteApprovalStore() override;

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
  boost::asio::awaitable<Result<Approval>> restart_vote(std::string id, std::string preview_text,
                                                        std::string preview_fingerprint,
                                                        std::chrono::system_clock::time_point now) override;
  boost::asio::awaitable<Result<Approval>> get(std::string id) override;
  boost::asio::awaitable<Result<void>> attach_thread(std::string id, std::string thread) override;

  // Rate limits count reservations (their own table, rate_reservations,
  // indexed by time and by person), taken in the transaction that checks them.
  boost::asio::awaitable<Result<RateVerdict>> reserve(RateReservation reservation) override;
  boost::asio::awaitable<Result<void>> release(std::string request_id) override;

  // Approvals granted before a crash but never run: marked failed at start-up
  // (at most once: opsgate never runs a write it cannot prove has not run).
  Result<std::vector<Approval>> recover_interrupted();

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

 private:
  explicit SqliteApprovalStore(std::shared_ptr<store::SqliteStore> store);

  std::shared_ptr<store::SqliteStore> store_;
};

// Short ids people type in chat: 5 characters without look-alikes (0/o, 1/l).
std::string new_approval_id();

}  // namespace opsgate::approval
