#pragma once
// Extension point: pending approvals and votes, kept in durable storage (not
// memory) so they survive restarts. The state machine — expiry, the
// requester's refusal, one vote per person, the request hash, the single
// transition to `granted` — lives behind this interface; the pipeline drives it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/action_request.hpp"
#include "src/core/decision.hpp"
#include "src/core/error.hpp"
#include "src/core/policy_engine.hpp"
#include "src/core/principal.hpp"

namespace opsgate {

struct Approval {
  std::string id;     // short, typed in chat: "k3f9x"
  std::string state;  // pending, granted, denied, expired, cancelled, executed, failed
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::string origin_request_id;
  std::string requester;       // principal id
  std::string requester_name;  // display name
  std::vector<std::string> requester_groups;  // platform-vouched, for the re-check at grant time
  std::string platform;
  std::string channel;
  std::string thread;
  ActionRequest request;
  std::string request_hash;  // hex SHA-256 of request.canonical()
  ApprovalRequirement requirement;
  std::vector<std::string> approved_by;
  std::string decided_by;
  std::string reason;
  // The action's preview shown to approvers and its fingerprint; empty when
  // the action has none. The vote is bound to the fingerprint.
  std::string preview_text;
  std::string preview_fingerprint;
  // Principals who count as requesters too (a deployment gate's requester is
  // its CI client; the person who triggered the run may not approve either).
  std::vector<std::string> co_requesters;
};

struct ApprovalDraft {
  std::string origin_request_id;
  Principal requester;
  std::string platform;
  std::string channel;
  std::string thread;
  ActionRequest request;
  ApprovalRequirement requirement;
  std::chrono::system_clock::time_point now;
  std::string preview_text;         // what approvers are shown (may be empty)
  std::string preview_fingerprint;  // what the approval is bound to (may be empty)
  std::vector<std::string> co_requesters;  // may not vote either (see Approval)
};

enum class VoteResult {
  recorded,  // counted; the quorum is not reached yet
  granted,   // this vote reached the quorum: the caller runs the request, once
  denied,    // a deny vote ended it
  refused,   // not counted: message says why
};

struct VoteOutcome {
  VoteResult result = VoteResult::refused;
  std::string message;
  Approval approval;
};

class ApprovalService {
 public:
  virtual ~ApprovalService() = default;
  virtual boost::asio::awaitable<Result<Approval>> create(ApprovalDraft draft) = 0;
  // Re-authorises the voter against `policy` (the current snapshot) at vote time.
  virtual boost::asio::awaitable<Result<VoteOutcome>> vote(std::string id, Principal voter, bool approve,
                                                           std::string reason,
                                                           std::shared_ptr<const PolicyEngine> policy,
                                                           std::chrono::system_clock::time_point now) = 0;
  // Only the requester (the same person, from any of their identities) may
  // cancel, and only while pending.
  virtual boost::asio::awaitable<Result<VoteOutcome>> cancel(std::string id, Principal who,
                                                             std::shared_ptr<const PolicyEngine> policy,
                                                             std::chrono::system_clock::time_point now) = 0;
  virtual boost::asio::awaitable<Result<std::vector<Approval>>> pending(std::chrono::system_clock::time_point now) = 0;
  // granted -> executed (ok) or failed.
  virtual boost::asio::awaitable<Result<void>> finish(std::string id, bool ok) = 0;
  // Moves every pending approval past its deadline to expired and returns them.
  virtual boost::asio::awaitable<Result<std::vector<Approval>>> expire_due(std::chrono::system_clock::time_point now) = 0;
  // Granted approvals whose runner is gone (another replica died before it
  // finished them) move to failed and are returned, each to one caller; a
  // run that is alive anywhere is left alone. Never run again: opsgate never
  // repeats a write it cannot prove did not run. One process on one file
  // (SQLite) has no other runner: nothing to take over.
  virtual boost::asio::awaitable<Result<std::vector<Approval>>> take_over_orphaned() {
    co_return std::vector<Approval>{};
  }
  // granted -> pending again with the votes cleared, a new preview and a new
  // expiry from `now`: the live object changed between the preview and the
  // quorum, so what the approvers saw is not what would run.
  // One approval in any state; Errc::not_found when there is none.
  virtual boost::asio::awaitable<Result<Approval>> get(std::string id) {
    co_return fail(Errc::not_found, "this approval store cannot look up " + id);
  }
  // Sets the thread of an approval posted after it was created (a deployment
  // gate's message opens its own thread).
  virtual boost::asio::awaitable<Result<void>> attach_thread(std::string id, std::string thread) {
    co_return fail(Errc::internal, "this approval store cannot attach thread " + thread + " to " + id);
  }
  virtual boost::asio::awaitable<Result<Approval>> restart_vote(std::string id, std::string preview_text,
                                                                std::string preview_fingerprint,
                                                                std::chrono::system_clock::time_point /*now*/) {
    co_return fail(Errc::internal, "this approval store cannot restart the vote on " + id + " (" + preview_text +
                                       ", " + preview_fingerprint + ")");
  }
};

// Rate limits: a request reserves its slot in the same transaction that
// checks the limit, so requests arriving together cannot all pass; a pending
// approval holds its slot until it is decided.
struct RateReservation {
  std::string request_id;  // one slot per request: reserving again re-checks without taking a second
  std::string person;      // who asked (a limit per subject counts persons)
  std::string action;
  std::string target;
  std::vector<RateLimitCheck> checks;
  std::chrono::system_clock::time_point now;
};

struct RateVerdict {
  bool reserved = true;
  RateLimitCheck exceeded;       // the limit that refused it, when !reserved
  std::int64_t retry_after_s = 0;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual boost::asio::awaitable<Result<RateVerdict>> reserve(RateReservation reservation) = 0;
  // The request will not run (denied, cancelled, expired, refused): its slot is free again.
  virtual boost::asio::awaitable<Result<void>> release(std::string request_id) = 0;
};

}  // namespace opsgate
