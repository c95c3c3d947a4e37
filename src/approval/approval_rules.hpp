#pragma once
// The approval state machine and the rate-limit check, written once over
// ApprovalRows: expiry, the requester's refusal, one vote per person, the
// request hash, the single transition to `granted`. Each function runs
// inside one transaction of the backend's store (SqliteApprovalStore,
// PgApprovalStore); a failed Result undoes its changes. Library exceptions
// are left to the caller, which converts them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/approval/approval_rows.hpp"
#include "src/core/approval_service.hpp"

namespace opsgate::approval::rules {

Result<Approval> create(ApprovalRows& rows, const ApprovalDraft& draft);
Result<VoteOutcome> vote(ApprovalRows& rows, const std::string& id, const Principal& voter, bool approve,
                         const std::string& reason, const PolicyEngine& policy,
                         std::chrono::system_clock::time_point now);
Result<VoteOutcome> cancel(ApprovalRows& rows, const std::string& id, const Principal& who, const PolicyEngine& policy,
                           std::chrono::system_clock::time_point now);
Result<std::vector<Approval>> pending(ApprovalRows& rows, std::chrono::system_clock::time_point now);
Result<void> finish(ApprovalRows& rows, const std::string& id, bool ok);
Result<std::vector<Approval>> expire(ApprovalRows& rows, std::chrono::system_clock::time_point now);
Result<Approval> restart_vote(ApprovalRows& rows, const std::string& id, const std::string& preview_text,
                              const std::string& preview_fingerprint, std::chrono::system_clock::time_point now);
Result<std::vector<Approval>> recover_interrupted(ApprovalRows& rows);
Result<std::vector<Approval>> take_over_orphaned(ApprovalRows& rows);
Result<RateVerdict> reserve(ApprovalRows& rows, const RateReservation& reservation);
Result<void> release(ApprovalRows& rows, const std::string& request_id);
Result<Approval> get(ApprovalRows& rows, const std::string& id);
Result<void> attach_thread(ApprovalRows& rows, const std::string& id, const std::string& thread);

// Row mapping shared by the backends. An approvals row read through two
// column accessors (by column name; NULL reads as "" and 0); approved_by is
// left to the caller.
Approval approval_from_row(const std::function<std::string(const char*)>& text,
                           const std::function<std::int64_t(const char*)>& number);
// The stored text of the JSON columns (params, approvers, groups, co-requesters).
std::string params_text(const ActionRequest& request);
std::string strings_text(const std::vector<std::string>& strings);
std::string request_hash(const ActionRequest& request);

}  // namespace opsgate::approval::rules
