#include "src/approval/workflow.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "src/core/action_catalogue.hpp"
#include "src/core/duration.hpp"
#include <fmt/format.h>

namespace opsgate::approval {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

// GCC 12 miscompiles temporaries that live across a co_await (double
// destruction), so every co_await below takes named locals only, and no
// co_await sits inside a switch or a condition.

namespace {

// The original request's step: its thread, its requester, its request id.
Step origin_of(const Approval& approval) {
  Step origin;
  origin.event.platform = approval.platform;
  origin.event.channel = approval.channel;
  origin.event.thread = approval.thread;
  origin.event.principal.id = approval.requester;
  origin.event.principal.display_name = approval.requester_name;
  origin.event.principal.groups = approval.requester_groups;
  origin.request_id = approval.origin_request_id;
  origin.request = approval.request;
  return origin;
}

// A decision on an approval: adapters update the request message in place.
OutboundMessage approval_outcome(const Approval& approval, std::string outcome, std::string outcome_text) {
  OutboundMessage message;
  message.approval_id = approval.id;
  message.approval_outcome = std::move(outcome);
  message.approval_outcome_text = std::move(outcome_text);
  return message;
}

void say(WorkflowReply& reply, const Step& to, std::string text) {
  OutboundMessage message;
  message.text = std::move(text);
  reply.notices.push_back(Notice{to, std::move(message)});
}

bool same_conversation(const Step& a, const Step& b) {
  return a.event.platform == b.event.platform && a.event.channel == b.event.channel &&
         a.event.thread == b.event.thread;
}

// "#ops", or "#ops on slack" when the voter is on another platform.
std::string where(const Step& origin, const Step& voter) {
  return "#" + origin.event.channel +
         (origin.event.platform == voter.event.platform ? std::string{} : " on " + origin.event.platform);
}

// A vote cast elsewhere (another platform, a DM) gets its answer where it was
// cast, in addition to the update of the request's own thread (issue #23).
void tell_voter(WorkflowReply& reply, const Step& voter, const Step& origin, std::string text) {
  if (!same_conversation(voter, origin)) {
    say(reply, voter, std::move(text));
  }
}

std::string vote_result_name(VoteResult result) {
  if (result == VoteResult::recorded) return "recorded";
  if (result == VoteResult::granted) return "granted";
  if (result == VoteResult::denied) return "denied";
  return "refused";
}

std::string param_string(const ActionRequest& request, const char* name) {
  const auto it = request.params.find(name);
  return it != request.params.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string rules_of(const Decision& decision) {
  const std::string rules = fmt::to_string(fmt::join(decision.rule_ids, ","));
  return rules.empty() ? std::string{} : " [rules: " + rules + "]";
}

// "principal" or "person bob (principal)" for the audit trail.
std::string who(const PolicyEngine& policy, const std::string& principal) {
  const std::string person = policy.person_of(principal);
  return person == principal ? principal : "person " + person + " (" + principal + ")";
}

}  // namespace

asio::awaitable<bool> Workflow::record(const Step& step, std::string kind, std::string outcome, std::string detail) {
  const bool ok = co_await record_step(deps_.audit, deps_.clock, step, std::move(kind), std::move(outcome),
                                       std::move(detail));
  co_return ok;
}

asio::awaitable<std::string> Workflow::admit(Step step, Decision decision) {
  if (decision.rate_limits.empty()) {
    co_return std::string{};
  }
  const auto policy = deps_.policy();
  RateReservation reservation;
  reservation.request_id = step.request_id;
  reservation.person = policy->person_of(step.event.principal.id);
  reservation.action = step.request.action;
  reservation.target = param_string(step.request, "target");
  reservation.checks = decision.rate_limits;
  reservation.now = deps_.clock.now();
  auto verdict = co_await deps_.limiter.reserve(std::move(reservation));
  if (!verdict) {
    const std::string detail = verdict.error().message;
    co_await record(step, "rate_limited", "error", detail);
    co_return "I cannot check the rate limits right now (" + detail + "), so I will not act on this.";
  }
  if (verdict->reserved) {
    co_return std::string{};
  }
  const RateLimitCheck& check = verdict->exceeded;
  const std::string detail = "rate limit " + check.id + ": " + std::to_string(check.limit) + " per " +
                             format_duration(check.window.count()) + " per " + check.per +
                             " reached (pending approvals count)";
  co_await record(step, "rate_limited", "deny", detail);
  co_return "⛔ denied: " + detail + "; the next one is possible in " + format_duration(verdict->retry_after_s) + ".";
}

asio::awaitable<Result<std::optional<ActionPreview>>> Workflow::preview(const Step& step) {
  Action* action = deps_.actions.find(step.request.action);
  if (action == nullptr) {
    co_return std::optional<ActionPreview>{};
  }
  Result<std::optional<ActionPreview>> result = std::optional<ActionPreview>{};
  std::string crashed;
  try {
    const ActionRequest request = step.request;
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, deps_.preview_timeout);
    auto outcome = co_await (action->preview(request) || deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 0) {
      result = std::move(std::get<0>(outcome));
    } else {
      result = fail(Errc::timeout, "the preview did not finish within " + format_duration(deps_.preview_timeout.count()));
    }
  } catch (const std::exception& e) {
    crashed = e.what();
  }
  if (!crashed.empty()) {
    spdlog::error("[{}] preview of {} threw: {}", step.request_id, step.request.action, crashed);
    result = fail(Errc::internal, "internal error while previewing " + step.request.action);
  }
  co_return result;
}

asio::awaitable<WorkflowReply> Workflow::ask(Step step, Decision decision) {
  WorkflowReply reply;
  // The approvers see what would change (a dry run), and the approval is
  // bound to it: a preview that cannot be made means nothing is asked.
  auto previewed = co_await preview(step);
  if (!previewed) {
    const std::string detail = std::string(to_string(previewed.error().code)) + ": " + previewed.error().message;
    co_await record(step, "previewed", "error", detail);
    co_await deps_.limiter.release(step.request_id);
    say(reply, step, "❌ I cannot preview " + describe(step.request) + ": " + previewed.error().message +
                         ". Nothing was changed and no approval was asked.");
    co_return reply;
  }
  std::string preview_text;
  std::string preview_fingerprint;
  if (previewed->has_value()) {
    const ActionPreview& shown = **previewed;
    const std::string outcome = shown.nothing_to_do ? "noop" : "ok";
    const std::string detail = shown.text + " [fingerprint " + shown.fingerprint + "]";
    co_await record(step, "previewed", outcome, detail);
    if (shown.nothing_to_do) {
      co_await deps_.limiter.release(step.request_id);
      say(reply, step, "ℹ " + shown.text);
      co_return reply;
    }
    preview_text = shown.text;
    preview_fingerprint = shown.fingerprint;
  }
  ApprovalDraft draft{step.request_id, step.event.principal, step.event.platform, step.event.channel,
                      step.event.thread, step.request,        decision.approval,  deps_.clock.now(),
                      preview_text,      preview_fingerprint, {}};
  auto created = co_await deps_.store.create(std::move(draft));
  if (!created) {
    const std::string detail = created.error().message;
    co_await record(step, "approval_requested", "error", detail);
    co_await deps_.limiter.release(step.request_id);
    say(reply, step, "I could not record the approval request (" + detail + "); nothing will run.");
    co_return reply;
  }
  const std::string approvers = fmt::to_string(fmt::join(created->requirement.approvers, ", "));
  const std::int64_t minutes = (created->expires_ms - created->created_ms) / 60000;
  const std::string detail = "approval " + created->id + " by " + std::to_string(created->requirement.quorum) +
                             " of " + approvers + ", expires in " + std::to_string(minutes) + "m, hash " +
                             created->request_hash.substr(0, 16);
  co_await record(step, "approval_requested", "pending", detail);
  OutboundMessage message;
  message.text = "🔐 " + describe(step.request) + " — " + decision.explanation + ". Approval id " + created->id +
                 ", expires in " + std::to_string(minutes) + " min; the requester cannot approve it.";
  if (!preview_text.empty()) {
    message.text += "\nDry run: " + preview_text;
  }
  message.approval_id = created->id;
  reply.notices.push_back(Notice{step, std::move(message)});
  co_return reply;
}

asio::awaitable<WorkflowReply> Workflow::handle(Step step) {
  const std::string action = step.request.action;
  if (is_vote_action(action) && step.parser != "command") {
    // A vote is a person's deliberate act: never a model's reading of a
    // message, never something remembered from the thread.
    const std::string id = param_string(step.request, "id");
    const std::string detail = action + " " + id + " refused: understood by the " + step.parser +
                               " parser, not typed as the exact command";
    co_await record(step, "approval_vote", "refused", detail);
    WorkflowReply reply;
    const std::string shown = id.empty() ? std::string("ID") : id;
    say(reply, step,
        "I count votes and cancellations only from the exact command or a button, so this did nothing. "
        "Type `approve " + shown + "`, `deny " + shown + " <reason>` or, for your own request, `cancel " + shown +
            "`.");
    co_return reply;
  }
  if (action == "approve" || action == "deny") {
    auto reply = co_await vote(step, action == "approve");
    co_return reply;
  }
  if (action == "cancel") {
    auto reply = co_await cancel(step);
    co_return reply;
  }
  auto reply = co_await list(step);
  co_return reply;
}

asio::awaitable<WorkflowReply> Workflow::vote(Step step, bool approve) {
  WorkflowReply reply;
  const std::string id = param_string(step.request, "id");
  const std::string reason = param_string(step.request, "reason");
  const auto policy = deps_.policy();
  const auto now = deps_.clock.now();
  auto outcome = co_await deps_.store.vote(id, step.event.principal, approve, reason, policy, now);
  if (!outcome) {
    const std::string detail = outcome.error().message;
    co_await record(step, "approval_vote", "error", detail);
    say(reply, step, "I could not record that vote: " + detail);
    co_return reply;
  }
  const std::string result = vote_result_name(outcome->result);
  const std::string vote_detail = std::string(approve ? "approve " : "deny ") + id + " by " +
                                  who(*policy, step.event.principal.id) + ": " + outcome->message +
                                  (reason.empty() ? std::string{} : " (why: " + reason + ")");
  co_await record(step, "approval_vote", result, vote_detail);

  const Approval& approval = outcome->approval;
  const std::string what = describe(approval.request);
  if (outcome->result == VoteResult::refused) {
    say(reply, step, "⛔ " + outcome->message);
    co_return reply;
  }
  if (outcome->result == VoteResult::recorded) {
    say(reply, step, "✔ " + outcome->message + " (" + what + ").");
    co_return reply;
  }
  const Step origin = origin_of(approval);
  if (outcome->result == VoteResult::denied) {
    const std::string detail = "denied by " + step.event.principal.id + (reason.empty() ? "" : ": " + reason);
    co_await record(origin, "approval_denied", "denied", detail);
    co_await deps_.limiter.release(origin.request_id);
    // The outcome first: a platform that shows it on the clicked message
    // (Discord's type 7) answers the click with it, and the note follows.
    OutboundMessage message = approval_outcome(approval, "denied", detail);
    message.text = "🚫 " + approval.id + " (" + what + ") was " + detail + ".";
    reply.notices.push_back(Notice{origin, std::move(message)});
    tell_voter(reply, step, origin,
               "🚫 counted: you denied " + approval.id + " (" + what + "); its thread in " + where(origin, step) +
                   " was told.");
    co_return reply;
  }
  auto granted = co_await grant(step, approval);
  co_return granted;
}

asio::awaitable<WorkflowReply> Workflow::grant(Step voter, Approval approval) {
  WorkflowReply reply;
  const Step origin = origin_of(approval);
  const std::string what = describe(approval.request);
  // Nothing ran: the voter and the request's thread both hear why.
  auto stop = [&](const std::string& text) {
    tell_voter(reply, voter, origin, text);
    say(reply, origin, text);
  };
  if (!approval.preview_fingerprint.empty()) {
    // The approvers voted on a preview; make sure it is still what would run.
    auto again = co_await preview(origin);
    if (!again || !again->has_value()) {
      const std::string why = again ? "the action gave no preview" : again.error().message;
      const std::string detail = "at quorum: " + why;
      co_await record(origin, "previewed", "error", detail);
      co_await deps_.store.finish(approval.id, false);
      co_await deps_.limiter.release(origin.request_id);
      stop("❌ " + approval.id + " (" + what + ") was approved, but I cannot re-check what it would change (" + why +
           "), so it did not run.");
      co_return reply;
    }
    const ActionPreview& now_preview = **again;
    if (now_preview.fingerprint != approval.preview_fingerprint) {
      const std::string changed = "live object changed since the preview: was [" + approval.preview_fingerprint +
                                  "], now [" + now_preview.fingerprint + "]; the vote starts over";
      co_await record(origin, "preview_changed", "pending", changed);
      const std::string new_text = now_preview.text;
      const std::string new_fingerprint = now_preview.fingerprint;
      const auto restart_at = deps_.clock.now();
      auto reopened = co_await deps_.store.restart_vote(approval.id, new_text, new_fingerprint, restart_at);
      if (!reopened) {
        co_await deps_.store.finish(approval.id, false);
        co_await deps_.limiter.release(origin.request_id);
        stop("❌ " + approval.id + ": what it would change is no longer what was approved, and I could not restart "
             "the vote (" + reopened.error().message + "); nothing ran.");
        co_return reply;
      }
      const std::string new_outcome = now_preview.nothing_to_do ? "noop" : "ok";
      const std::string new_detail = now_preview.text + " [fingerprint " + now_preview.fingerprint + "]";
      co_await record(origin, "previewed", new_outcome, new_detail);
      tell_voter(reply, voter, origin,
                 "🔄 " + approval.id + " changed before it could run; the vote starts over in " +
                     where(origin, voter) + ".");
      OutboundMessage refreshed;
      refreshed.approval_id = approval.id;
      refreshed.text = "🔄 " + approval.id + " (" + what + "): the live object changed before the vote completed, so "
                       "nothing ran and the vote starts over (approve " + approval.id + " again).\nDry run now: " +
                       now_preview.text;
      reply.notices.push_back(Notice{origin, std::move(refreshed)});
      co_return reply;
    }
    const std::string unchanged = "re-checked at quorum, unchanged: " + now_preview.text;
    co_await record(origin, "previewed", "ok", unchanged);
  }

  // The requester is decided again, now: the policy may have been reloaded, a
  // freeze may have begun, a rate limit may have filled since the request.
  const auto policy = deps_.policy();
  const ActionSpec* spec = find_action(approval.request.action);
  const RequestContext context{approval.platform, approval.channel, deps_.clock.now()};
  Decision again;
  again.explanation = "denied: " + approval.request.action + " is not an action any more";
  if (spec != nullptr) {
    again = policy->evaluate(origin.event.principal, *spec, approval.request, context);
  }
  const std::string again_effect(to_string(again.effect));
  const std::string again_detail = "at grant time: " + again.explanation + rules_of(again);
  const bool rechecked = co_await record(origin, "approval_rechecked", again_effect, again_detail);
  std::string refusal;
  if (!rechecked) {
    refusal = "I cannot write to the audit log right now, so " + approval.id + " did not run.";
  } else if (again.effect == Effect::deny) {
    refusal = "⛔ " + approval.id + " (" + what + ") was approved, but it is not allowed any more: " +
              again.explanation + ". Nothing ran.";
  } else {
    const std::string limited = co_await admit(origin, again);
    if (!limited.empty()) {
      refusal = limited + " " + approval.id + " was approved, but nothing ran.";
    }
  }
  if (!refusal.empty()) {
    co_await deps_.store.finish(approval.id, false);
    co_await deps_.limiter.release(origin.request_id);
    OutboundMessage message = approval_outcome(approval, "denied", "approved, but refused at grant time");
    message.text = refusal;
    tell_voter(reply, voter, origin, refusal);
    reply.notices.push_back(Notice{origin, std::move(message)});
    co_return reply;
  }

  const std::string by = fmt::to_string(fmt::join(approval.approved_by, ", "));
  const std::string granted_detail = "approved by " + by + " (approval " + approval.id + ")";
  const bool granted_recorded = co_await record(origin, "approval_granted", "granted", granted_detail);
  if (!granted_recorded) {
    co_await deps_.store.finish(approval.id, false);
    say(reply, voter, "I cannot write to the audit log right now, so " + approval.id + " did not run.");
    co_return reply;
  }
  OutboundMessage message = approval_outcome(approval, "granted", "approved by " + by);
  message.text = "✅ " + approval.id + " approved by " + by + ": running " + what + " for " + approval.requester + ".";
  reply.notices.push_back(Notice{origin, std::move(message)});  // first, as for a denial
  const std::string quorum = std::to_string(approval.requirement.quorum);
  tell_voter(reply, voter, origin,
             "✅ counted: " + quorum + " of " + quorum + " — the " + approval.request.action + " runs in " +
                 where(origin, voter) + ".");
  reply.run = origin;
  reply.approval_id = approval.id;
  co_return reply;
}

asio::awaitable<void> Workflow::finished(std::string approval_id, bool ok) {
  auto done = co_await deps_.store.finish(approval_id, ok);
  if (!done) {
    spdlog::error("approval {}: cannot record that it {}: {}", approval_id, ok ? "ran" : "failed", done.error().message);
  }
}

asio::awaitable<WorkflowReply> Workflow::cancel(Step step) {
  WorkflowReply reply;
  const std::string id = param_string(step.request, "id");
  const auto policy = deps_.policy();
  const auto now = deps_.clock.now();
  auto outcome = co_await deps_.store.cancel(id, step.event.principal, policy, now);
  if (!outcome) {
    say(reply, step, "I could not cancel " + id + ": " + outcome.error().message);
    co_return reply;
  }
  if (outcome->result == VoteResult::refused) {
    const std::string detail = outcome->message;
    co_await record(step, "approval_cancel", "refused", detail);
    say(reply, step, "⛔ " + detail);
    co_return reply;
  }
  const Step origin = origin_of(outcome->approval);
  const std::string detail = "cancelled by " + who(*policy, step.event.principal.id);
  co_await record(origin, "approval_cancelled", "cancelled", detail);
  co_await deps_.limiter.release(origin.request_id);
  OutboundMessage message = approval_outcome(outcome->approval, "cancelled", detail);
  message.text = "Cancelled " + id + ".";
  reply.notices.push_back(Notice{step, std::move(message)});
  co_return reply;
}

asio::awaitable<WorkflowReply> Workflow::list(Step step) {
  WorkflowReply reply;
  const auto now = deps_.clock.now();
  auto pending = co_await deps_.store.pending(now);
  if (!pending) {
    say(reply, step, "I could not read the approvals: " + pending.error().message);
    co_return reply;
  }
  // Only what the asker may see: their own requests (from any of their
  // identities) and those they may vote on.
  const auto policy = deps_.policy();
  const std::string person = policy->person_of(step.event.principal.id);
  std::string text;
  for (const auto& a : *pending) {
    const bool mine = policy->person_of(a.requester) == person;
    const bool may = !mine && policy->may_approve(step.event.principal, a.requirement);
    if (!mine && !may) {
      continue;
    }
    const std::int64_t left_s = std::max<std::int64_t>(0, (a.expires_ms - to_unix_ms(now)) / 1000);
    text += "\n  " + a.id + "  " + describe(a.request) + " by " + a.requester + ", " +
            std::to_string(a.approved_by.size()) + "/" + std::to_string(a.requirement.quorum) +
            " approvals, expires in " + format_duration(left_s) +
            (mine ? " — yours (`cancel " + a.id + "`)" : " — you may approve (`approve " + a.id + "`)");
  }
  say(reply, step, text.empty() ? "No approvals are pending that are yours or that you may approve."
                                 : "Pending approvals (yours, and those you may approve):" + text);
  co_return reply;
}

asio::awaitable<WorkflowReply> Workflow::expire() {
  WorkflowReply reply;
  const auto now = deps_.clock.now();
  auto expired = co_await deps_.store.expire_due(now);
  if (!expired) {
    spdlog::error("approval expiry failed: {}", expired.error().message);
    co_return reply;
  }
  for (const auto& approval : *expired) {
    const Step origin = origin_of(approval);
    const std::string detail = "approval " + approval.id + " expired without a decision";
    co_await record(origin, "approval_expired", "expired", detail);
    co_await deps_.limiter.release(origin.request_id);
    OutboundMessage message = approval_outcome(approval, "expired", "expired without a decision");
    message.text =
        "⌛ Approval " + approval.id + " for " + describe(approval.request) + " expired; ask again if it is still needed.";
    reply.notices.push_back(Notice{origin, std::move(message)});
  }
  // Runs another replica claimed and never finished (it died): failed, once,
  // by whichever replica sweeps first, and said in the request's thread.
  auto orphaned = co_await deps_.store.take_over_orphaned();
  if (!orphaned) {
    spdlog::error("approval take-over failed: {}", orphaned.error().message);
    co_return reply;
  }
  for (const auto& approval : *orphaned) {
    const Step origin = origin_of(approval);
    const std::string detail = "approval " + approval.id +
                               " was granted, but the replica running it stopped before it finished; marked failed, "
                               "not run again";
    spdlog::warn("{} ({} by {})", detail, approval.request.action, approval.requester);
    co_await record(origin, "approval_interrupted", "failed", detail);
    say(reply, origin,
        "⚠️ Approval " + approval.id + " for " + describe(approval.request) +
            " was granted, but the opsgate replica running it stopped before it finished. It was not run again: "
            "check the target's state and ask again if it is still needed.");
  }
  co_return reply;
}

}  // namespace opsgate::approval
