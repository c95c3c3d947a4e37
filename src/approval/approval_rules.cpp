#include "src/approval/approval_rules.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "src/approval/sqlite_approval_store.hpp"
#include "src/audit/audit_hash.hpp"

namespace opsgate::approval::rules {

using nlohmann::json;

namespace {

std::int64_t ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

VoteOutcome refuse(std::string message, Approval a = {}) {
  return VoteOutcome{VoteResult::refused, std::move(message), std::move(a)};
}

// The persons who voted `approve`, as the current policy links principals.
std::vector<std::string> approving_persons(ApprovalRows& rows, const std::string& id, const PolicyEngine& policy) {
  std::vector<std::string> persons;
  for (const auto& [voter, vote] : rows.votes(id)) {
    if (vote != "approve") {
      continue;
    }
    std::string person = policy.person_of(voter);
    if (std::find(persons.begin(), persons.end(), person) == persons.end()) {
      persons.push_back(std::move(person));
    }
  }
  return persons;
}

}  // namespace

namespace {

std::vector<std::string> strings_from_json(const std::string& text) {
  std::vector<std::string> out;
  const json parsed = json::parse(text, nullptr, false);
  if (parsed.is_array()) {
    for (const auto& item : parsed) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

Approval approval_from_row(const std::function<std::string(const char*)>& text,
                           const std::function<std::int64_t(const char*)>& number) {
  Approval a;
  a.id = text("id");
  a.state = text("state");
  a.created_ms = number("created_ms");
  a.expires_ms = number("expires_ms");
  a.origin_request_id = text("origin_request_id");
  a.requester = text("requester");
  a.requester_name = text("requester_name");
  a.requester_groups = strings_from_json(text("requester_groups"));
  a.platform = text("platform");
  a.channel = text("channel");
  a.thread = text("thread");
  a.request.action = text("action");
  a.request.params = json::parse(text("params"), nullptr, false);
  a.request.break_glass_reason = text("break_glass_reason");
  a.request_hash = text("request_hash");
  a.requirement.rule_id = text("rule_id");
  a.requirement.approvers = strings_from_json(text("approvers"));
  a.requirement.quorum = static_cast<int>(number("quorum"));
  a.requirement.expiry = std::chrono::seconds((a.expires_ms - a.created_ms) / 1000);
  a.decided_by = text("decided_by");
  a.reason = text("reason");
  a.preview_text = text("preview_text");
  a.preview_fingerprint = text("preview_fingerprint");
  a.co_requesters = strings_from_json(text("co_requesters"));
  return a;
}

std::string params_text(const ActionRequest& request) {
  return request.params.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string strings_text(const std::vector<std::string>& strings) {
  return json(strings).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string request_hash(const ActionRequest& request) { return audit::sha256_hex(request.canonical()); }

Result<Approval> create(ApprovalRows& rows, const ApprovalDraft& d) {
  Approval a;
  a.state = "pending";
  a.created_ms = ms(d.now);
  a.expires_ms = a.created_ms + std::chrono::duration_cast<std::chrono::milliseconds>(d.requirement.expiry).count();
  a.origin_request_id = d.origin_request_id;
  a.requester = d.requester.id;
  a.requester_name = d.requester.display_name;
  a.requester_groups = d.requester.groups;
  a.platform = d.platform;
  a.channel = d.channel;
  a.thread = d.thread;
  a.request = d.request;
  a.request_hash = request_hash(d.request);
  a.requirement = d.requirement;
  a.preview_text = d.preview_text;
  a.preview_fingerprint = d.preview_fingerprint;
  a.co_requesters = d.co_requesters;
  for (int attempt = 0; attempt < 8; ++attempt) {
    a.id = new_approval_id();
    if (rows.insert(a)) {
      auto stored = rows.find(a.id, false);
      return *stored;
    }
  }
  return fail(Errc::storage, "could not allocate an approval id");
}

Result<VoteOutcome> vote(ApprovalRows& rows, const std::string& id, const Principal& voter, bool approve,
                         const std::string& reason, const PolicyEngine& policy,
                         std::chrono::system_clock::time_point now) {
  // Locked: another vote on this approval (another replica's) waits for
  // this transaction, then reads what it decided.
  auto found = rows.find(id, true);
  if (!found) {
    return refuse("There is no approval `" + id + "`. `approvals` lists the pending ones.");
  }
  Approval a = *found;
  if (a.state != "pending") {
    return refuse("Approval `" + id + "` is already " + a.state + ".", a);
  }
  if (ms(now) >= a.expires_ms) {
    rows.transition(id, Transition{"pending", "expired", {}, {}, ms(now)});
    a.state = "expired";
    return refuse("Approval `" + id + "` has expired; ask again.", a);
  }
  // Persons, not principal strings: bob on Slack and bob in the shell are one approver.
  const std::string person = policy.person_of(voter.id);
  if (person == policy.person_of(a.requester)) {
    const std::string as = voter.id == a.requester ? "" : " (asked as " + a.requester + ")";
    return refuse("You cannot approve or deny your own request (" + id + as + "); another approver has to.", a);
  }
  for (const auto& co : a.co_requesters) {
    if (person == policy.person_of(co)) {
      return refuse("You cannot approve or deny " + id + ": you triggered it (as " + co +
                        "), so you count as its requester; another approver has to.",
                    a);
    }
  }
  if (!policy.may_approve(voter, a.requirement)) {
    std::string who;
    for (const auto& s : a.requirement.approvers) who += (who.empty() ? "" : ", ") + s;
    return refuse(voter.id + " may not vote on `" + id + "`: approvers are " + who + ".", a);
  }
  if (request_hash(a.request) != a.request_hash) {
    rows.transition(id, Transition{"", "failed", {}, "request hash mismatch: the stored request was changed", {}});
    a.state = "failed";
    return refuse("Approval `" + id + "` does not match the request it was asked for (hash mismatch); refusing it.",
                  a);
  }
  for (const auto& [before, unused] : rows.votes(id)) {
    if (policy.person_of(before) == person) {
      const std::string as = before == voter.id ? "" : " (as " + before + ")";
      return refuse("You already voted on `" + id + "`" + as + "; each person counts once.", a);
    }
  }
  if (!rows.add_vote(id, voter.id, approve ? "approve" : "deny", reason, ms(now), person)) {
    return refuse("You already voted on `" + id + "`; each person counts once.", a);
  }
  if (!approve) {
    rows.transition(id, Transition{"pending", "denied", voter.id, reason, ms(now)});
    a.state = "denied";
    a.decided_by = voter.id;
    a.reason = reason;
    return VoteOutcome{VoteResult::denied, "denied by " + voter.id + (reason.empty() ? "" : ": " + reason), a};
  }
  const int approvals = static_cast<int>(approving_persons(rows, id, policy).size());
  a.approved_by.push_back(voter.id);
  if (approvals < a.requirement.quorum) {
    return VoteOutcome{VoteResult::recorded,
                       "approval " + std::to_string(approvals) + " of " + std::to_string(a.requirement.quorum) +
                           " recorded for `" + id + "`",
                       a};
  }
  // The one transition that lets the request run: only a row still pending
  // can change, so a second vote racing this one is refused.
  if (rows.transition(id, Transition{"pending", "granted", voter.id, {}, ms(now)}) != 1) {
    return refuse("Approval `" + id + "` was decided meanwhile.", a);
  }
  rows.granted_here(id);
  a.state = "granted";
  a.decided_by = voter.id;
  return VoteOutcome{VoteResult::granted, "granted", a};
}

Result<VoteOutcome> cancel(ApprovalRows& rows, const std::string& id, const Principal& who, const PolicyEngine& policy,
                           std::chrono::system_clock::time_point now) {
  auto found = rows.find(id, true);
  if (!found) {
    return refuse("There is no approval `" + id + "`.");
  }
  Approval a = *found;
  if (policy.person_of(a.requester) != policy.person_of(who.id)) {
    return refuse("Only the requester (" + a.requester + ") can cancel `" + id + "`.", a);
  }
  if (a.state != "pending") {
    return refuse("Approval `" + id + "` is already " + a.state + ".", a);
  }
  rows.transition(id, Transition{"pending", "cancelled", who.id, {}, ms(now)});
  a.state = "cancelled";
  return VoteOutcome{VoteResult::denied, "cancelled by the requester", a};
}

Result<std::vector<Approval>> pending(ApprovalRows& rows, std::chrono::system_clock::time_point now) {
  return rows.pending(ms(now));
}

Result<void> finish(ApprovalRows& rows, const std::string& id, bool ok) {
  rows.transition(id, Transition{"granted", ok ? "executed" : "failed", {}, {}, {}});
  rows.finished_here(id);
  return {};
}

Result<std::vector<Approval>> expire(ApprovalRows& rows, std::chrono::system_clock::time_point now) {
  return rows.expire_due(ms(now));
}

Result<Approval> restart_vote(ApprovalRows& rows, const std::string& id, const std::string& preview_text,
                              const std::string& preview_fingerprint, std::chrono::system_clock::time_point now) {
  auto found = rows.find(id, true);
  if (!found) {
    return fail(Errc::not_found, "there is no approval `" + id + "`");
  }
  if (found->state != "granted") {
    return fail(Errc::conflict, "approval `" + id + "` is " + found->state + ", not granted");
  }
  const std::int64_t lifetime = found->expires_ms - found->created_ms;
  if (!rows.reopen(id, ms(now), ms(now) + lifetime, preview_text, preview_fingerprint)) {
    return fail(Errc::conflict, "approval `" + id + "` changed meanwhile");
  }
  rows.finished_here(id);
  auto reopened = rows.find(id, false);
  return *reopened;
}

Result<std::vector<Approval>> recover_interrupted(ApprovalRows& rows) {
  return rows.fail_interrupted("opsgate restarted before the approved request finished");
}

Result<std::vector<Approval>> take_over_orphaned(ApprovalRows& rows) {
  return rows.fail_orphaned("the replica running it stopped before it finished; it was not run again");
}

Result<RateVerdict> reserve(ApprovalRows& rows, const RateReservation& r) {
  // The check and the reservation are one step for every writer (SQLite's
  // write lock; on PostgreSQL the batch's rate lock), so a burst cannot
  // slip past the limit.
  for (const auto& check : r.checks) {
    const std::int64_t window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(check.window).count();
    const ReservationCount counted = rows.count_reservations(ms(r.now) - window_ms, r.request_id, check.actions,
                                                             check.per == "subject", r.person, check.targets);
    if (counted.count < check.limit) {
      continue;
    }
    const std::int64_t reset = counted.oldest_ms.value_or(ms(r.now)) + window_ms;
    RateVerdict refused;
    refused.reserved = false;
    refused.exceeded = check;
    refused.retry_after_s = std::max<std::int64_t>(1, (reset - ms(r.now)) / 1000);
    return refused;  // nothing reserved
  }
  if (!r.checks.empty()) {
    rows.reserve(r, ms(r.now));
  }
  return RateVerdict{};
}

Result<void> release(ApprovalRows& rows, const std::string& request_id) {
  rows.release(request_id);
  return {};
}

Result<Approval> get(ApprovalRows& rows, const std::string& id) {
  auto found = rows.find(id, false);
  if (!found) {
    return fail(Errc::not_found, "there is no approval " + id);
  }
  return *found;
}

Result<void> attach_thread(ApprovalRows& rows, const std::string& id, const std::string& thread) {
  if (rows.set_thread(id, thread) != 1) {
    return fail(Errc::not_found, "there is no approval " + id);
  }
  return {};
}

}  // namespace opsgate::approval::rules
