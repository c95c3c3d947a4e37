#include "src/core/pipeline.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "src/core/duration.hpp"
#include "src/core/request_id.hpp"

namespace opsgate {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {
constexpr std::size_t kMaxAuditedText = 2000;

std::string truncate(std::string text, std::size_t limit) {
  if (text.size() > limit) {
    text.resize(limit);
    text += "…";
  }
  return text;
}

std::string kind_name(ParseKind kind) {
  switch (kind) {
    case ParseKind::request: return "request";
    case ParseKind::clarify: return "clarify";
    case ParseKind::none: return "none";
  }
  return "none";
}
}  // namespace

struct Pipeline::Step {
  ChatEvent event;
  std::string request_id;
  ActionRequest request;  // empty until parsed
};

Pipeline::Pipeline(PipelineDeps deps) : deps_(std::move(deps)), memory_(deps_.conversation) {}

void Pipeline::add_adapter(Adapter& adapter) { adapters_[std::string(adapter.platform())] = &adapter; }

asio::awaitable<bool> Pipeline::record(const Step& step, std::string kind, std::string outcome, std::string detail) {
  AuditEvent e;
  e.request_id = step.request_id;
  e.kind = std::move(kind);
  e.platform = step.event.platform;
  e.channel = step.event.channel;
  e.principal = step.event.principal.id;
  e.action = step.request.action;
  e.params = step.request.params;
  e.outcome = std::move(outcome);
  e.detail = truncate(std::move(detail), kMaxAuditedText);
  e.ts_ms = to_unix_ms(deps_.clock.now());
  const std::string what = e.kind;
  auto appended = co_await deps_.audit.append(std::move(e));
  if (!appended) {
    spdlog::error("[{}] audit append of '{}' failed: {}", step.request_id, what, appended.error().message);
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Pipeline::reply(const Step& step, std::string text) {
  OutboundMessage message;
  message.text = std::move(text);
  co_await send(step, std::move(message));
}

asio::awaitable<void> Pipeline::send(const Step& step, OutboundMessage message) {
  const auto it = adapters_.find(step.event.platform);
  if (it == adapters_.end()) {
    spdlog::error("[{}] no adapter for platform '{}' to reply through", step.request_id, step.event.platform);
    co_return;
  }
  message.platform = step.event.platform;
  message.channel = step.event.channel;
  message.thread = step.event.thread;
  message.request_id = step.request_id;
  std::string failure;
  try {
    co_await it->second->send(std::move(message));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::error("[{}] reply through {} failed: {}", step.request_id, step.event.platform, failure);
  }
  const std::string outcome = failure.empty() ? "ok" : "error";
  co_await record(step, "replied", outcome, failure);
}

// GCC 12 miscompiles temporaries that live across a co_await (double
// destruction), so every co_await below takes named locals only, and no
// co_await sits inside a switch or a condition.
asio::awaitable<void> Pipeline::on_event(ChatEvent event) {
  Step step{std::move(event), new_request_id(), {}};
  spdlog::info("[{}] {} {} in {}: {}", step.request_id, step.event.platform, step.event.principal.id,
               step.event.channel, truncate(step.event.text, 200));
  const std::string audit_down = "I cannot write to the audit log right now, so I will not act on this. "
                                 "An operator has to look at the opsgate logs.";

  // Fail closed: nothing is even parsed unless its arrival is on record.
  const std::string text = step.event.text;
  const bool received = co_await record(step, "received", "ok", text);
  if (!received) {
    co_await reply(step, audit_down);
    co_return;
  }

  ParseInput input;
  input.text = step.event.text;
  input.platform = step.event.platform;
  input.workspace = step.event.workspace;
  input.channel = step.event.channel;
  input.thread = step.event.thread;
  input.principal = step.event.principal.id;
  input.groups = step.event.principal.groups;
  input.addressed = step.event.addressed;
  const std::string thread_key = step.event.platform + "\x1f" + step.event.workspace + "\x1f" +
                                 step.event.channel + "\x1f" + step.event.thread;
  input.recent = memory_.recent(thread_key, deps_.clock.now());
  const ParseResult parsed = co_await deps_.parser.parse_async(std::move(input));
  step.request = parsed.request;
  if (parsed.kind != ParseKind::none) {
    const std::string understood = parsed.kind == ParseKind::request ? describe(parsed.request)
                                                                     : "asked: " + parsed.question;
    memory_.remember(thread_key, ConversationTurn{step.event.text, understood}, deps_.clock.now());
  }
  if (!parsed.degraded.empty()) {
    spdlog::warn("[{}] language model not used: {}", step.request_id, parsed.degraded);
  }
  const std::string parse_detail = parse_audit_detail(parsed);
  const std::string parse_outcome = kind_name(parsed.kind);
  const bool parsed_recorded = co_await record(step, "parsed", parse_outcome, parse_detail);
  if (!parsed_recorded) {
    co_await reply(step, audit_down);
    co_return;
  }
  if (!parsed.notice.empty()) {
    const std::string notice = parsed.notice;
    co_await reply(step, notice);
  }

  std::string answer;
  if (parsed.kind == ParseKind::none) {
    if (!step.event.addressed) {
      co_return;
    }
    answer = "I did not understand that. Try `help` to see what I can do, e.g. `!restart cart staging`.";
  } else if (parsed.kind == ParseKind::clarify) {
    answer = parsed.question;
  }
  const ActionSpec* spec = find_action(step.request.action);
  if (answer.empty() && spec == nullptr) {  // the cascade validated it; a bug if reached
    answer = "Internal error: unknown action " + step.request.action;
  }
  if (!answer.empty()) {
    co_await reply(step, answer);
    co_return;
  }

  const std::shared_ptr<const PolicyEngine> policy = deps_.policy();
  const RequestContext context{step.event.platform, step.event.channel};
  const Decision decision = policy->evaluate(step.event.principal, *spec, step.request, context);
  std::string rules;
  for (const auto& id : decision.rule_ids) {
    rules += (rules.empty() ? "" : ",") + id;
  }
  const std::string effect(to_string(decision.effect));
  const std::string decision_detail =
      decision.explanation + (rules.empty() ? std::string{} : " [rules: " + rules + "]");
  const bool decided = co_await record(step, "decided", effect, decision_detail);
  if (!decided) {
    co_await reply(step, audit_down);
    co_return;
  }
  spdlog::info("[{}] {} {} → {}", step.request_id, step.event.principal.id, step.request.canonical(),
               decision.explanation);

  if (decision.effect == Effect::deny) {
    answer = "⛔ " + decision.explanation;
  } else if (decision.effect == Effect::needs_approval && deps_.approvals == nullptr) {
    answer = "This needs approval, and no approval store is configured; refusing.";
  }
  if (answer.empty()) {
    answer = co_await check_rate_limits(step, decision);
  }
  if (!answer.empty()) {
    co_await reply(step, answer);
    co_return;
  }
  if (decision.effect == Effect::needs_approval) {
    co_await request_approval(step, decision);
    co_return;
  }
  if (spec->name == "approve" || spec->name == "deny") {
    const bool approve = spec->name == "approve";
    co_await handle_vote(step, approve);
    co_return;
  }
  if (spec->name == "cancel") {
    co_await handle_cancel(step);
    co_return;
  }
  if (spec->name == "approvals.list") {
    co_await list_approvals(step);
    co_return;
  }
  if (decision.break_glass) {
    // Loud on purpose: everyone in the channel should see it happen.
    const std::string loud = "🚨 BREAK-GLASS: " + step.event.principal.id + " runs " + describe(step.request) +
                             " without approval. Reason: " + step.request.break_glass_reason;
    co_await reply(step, loud);
  }
  co_await run_action(step, *spec);
}

asio::awaitable<void> Pipeline::on_system_request(ChatEvent origin, ActionRequest request) {
  Step step{std::move(origin), new_request_id(), std::move(request)};
  const std::string what = describe(step.request);
  spdlog::info("[{}] system request by {} in {}/{}: {}", step.request_id, step.event.principal.id,
               step.event.platform, step.event.channel, what);
  const std::string audit_down = "I cannot write to the audit log right now, so I will not act on this. "
                                 "An operator has to look at the opsgate logs.";
  const std::string received_detail = "system request: " + what;
  const bool received = co_await record(step, "received", "ok", received_detail);
  if (!received) {
    co_await reply(step, audit_down);
    co_return;
  }
  // The same schema check every parser's output goes through.
  auto valid = validate_request(step.request, *deps_.inventory);
  const ActionSpec* spec = valid ? find_action(valid->action) : nullptr;
  std::string refusal;
  if (!valid) {
    refusal = "I cannot run " + what + ": " + valid.error().question;
  } else if (spec == nullptr || spec->kind != ActionKind::read) {
    refusal = "I run only read actions on my own; " + what + " needs a person to ask for it.";
  }
  if (valid) {
    step.request = *valid;
  }
  const std::string parse_outcome = refusal.empty() ? "request" : "none";
  const std::string parse_detail = "parser=system" + (refusal.empty() ? std::string{} : " refused: " + refusal);
  const bool parsed = co_await record(step, "parsed", parse_outcome, parse_detail);
  if (!parsed) {
    co_await reply(step, audit_down);
    co_return;
  }
  if (!refusal.empty()) {
    co_await reply(step, refusal);
    co_return;
  }
  const std::shared_ptr<const PolicyEngine> policy = deps_.policy();
  const RequestContext context{step.event.platform, step.event.channel};
  const Decision decision = policy->evaluate(step.event.principal, *spec, step.request, context);
  std::string rules;
  for (const auto& id : decision.rule_ids) {
    rules += (rules.empty() ? "" : ",") + id;
  }
  const std::string effect(to_string(decision.effect));
  const std::string decision_detail =
      decision.explanation + (rules.empty() ? std::string{} : " [rules: " + rules + "]");
  const bool decided = co_await record(step, "decided", effect, decision_detail);
  if (!decided) {
    co_await reply(step, audit_down);
    co_return;
  }
  if (decision.effect == Effect::deny) {
    const std::string text = "⛔ " + decision.explanation + " (grant " + step.event.principal.id + " the role to run " +
                             spec->name + " in the policy)";
    co_await reply(step, text);
    co_return;
  }
  if (decision.effect == Effect::needs_approval) {
    const std::string text = "⛔ " + what + " needs approval, and a request opsgate makes itself cannot wait for one.";
    co_await reply(step, text);
    co_return;
  }
  co_await run_action(step, *spec);
}

asio::awaitable<std::string> Pipeline::check_rate_limits(const Step& step, const Decision& decision) {
  if (deps_.rate_counter == nullptr) {
    co_return std::string{};
  }
  for (const auto& check : decision.rate_limits) {
    const std::string principal = step.event.principal.id;
    const auto now = deps_.clock.now();
    auto counted = co_await deps_.rate_counter->count(check, principal, now);
    if (!counted) {
      const std::string detail = counted.error().message;
      co_await record(step, "rate_limited", "error", detail);
      co_return "I cannot check the rate limits right now (" + detail + "), so I will not act on this.";
    }
    if (counted->count < check.limit) {
      continue;
    }
    const std::int64_t reset_ms =
        counted->oldest_ms + std::chrono::duration_cast<std::chrono::milliseconds>(check.window).count();
    const std::int64_t wait_s = std::max<std::int64_t>(1, (reset_ms - to_unix_ms(now)) / 1000);
    const std::string detail = "rate limit " + check.id + ": " + std::to_string(check.limit) + " per " +
                               format_duration(check.window.count()) + " per " + check.per + " reached";
    co_await record(step, "rate_limited", "deny", detail);
    co_return "⛔ denied: " + detail + "; the next one is possible in " + format_duration(wait_s) + ".";
  }
  co_return std::string{};
}

Pipeline::Step Pipeline::origin_of(const Approval& approval) {
  Step origin;
  origin.event.platform = approval.platform;
  origin.event.channel = approval.channel;
  origin.event.thread = approval.thread;
  origin.event.principal.id = approval.requester;
  origin.event.principal.display_name = approval.requester_name;
  origin.request_id = approval.origin_request_id;
  origin.request = approval.request;
  return origin;
}

asio::awaitable<Result<std::optional<ActionPreview>>> Pipeline::preview_request(const Step& step) {
  Action* action = deps_.actions.find(step.request.action);
  if (action == nullptr) {
    co_return std::optional<ActionPreview>{};
  }
  Result<std::optional<ActionPreview>> result = std::optional<ActionPreview>{};
  std::string crashed;
  try {
    const ActionRequest request = step.request;
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, deps_.action_timeout);
    auto outcome = co_await (action->preview(request) || deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 0) {
      result = std::move(std::get<0>(outcome));
    } else {
      result = fail(Errc::timeout, "the preview did not finish within " + format_duration(deps_.action_timeout.count()));
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

asio::awaitable<void> Pipeline::request_approval(const Step& step, const Decision& decision) {
  // The approvers see what would change (a dry run), and the approval is
  // bound to it: a preview that cannot be made means nothing is asked.
  auto previewed = co_await preview_request(step);
  if (!previewed) {
    const std::string detail = std::string(to_string(previewed.error().code)) + ": " + previewed.error().message;
    co_await record(step, "previewed", "error", detail);
    const std::string text = "❌ I cannot preview " + describe(step.request) + ": " + previewed.error().message +
                             ". Nothing was changed and no approval was asked.";
    co_await reply(step, text);
    co_return;
  }
  std::string preview_text;
  std::string preview_fingerprint;
  if (previewed->has_value()) {
    const ActionPreview& preview = **previewed;
    const std::string outcome = preview.nothing_to_do ? "noop" : "ok";
    const std::string detail = preview.text + " [fingerprint " + preview.fingerprint + "]";
    co_await record(step, "previewed", outcome, detail);
    if (preview.nothing_to_do) {
      const std::string text = "ℹ " + preview.text;
      co_await reply(step, text);
      co_return;
    }
    preview_text = preview.text;
    preview_fingerprint = preview.fingerprint;
  }
  ApprovalDraft draft{step.request_id, step.event.principal, step.event.platform, step.event.channel,
                      step.event.thread, step.request,        decision.approval,  deps_.clock.now(),
                      preview_text,      preview_fingerprint};
  auto created = co_await deps_.approvals->create(std::move(draft));
  if (!created) {
    const std::string detail = created.error().message;
    co_await record(step, "approval_requested", "error", detail);
    const std::string text = "I could not record the approval request (" + detail + "); nothing will run.";
    co_await reply(step, text);
    co_return;
  }
  std::string approvers;
  for (const auto& a : created->requirement.approvers) {
    approvers += (approvers.empty() ? "" : ", ") + a;
  }
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
  co_await send(step, std::move(message));
}

// A decision on an approval: adapters update the request message in place.
OutboundMessage Pipeline::approval_outcome(const Approval& approval, std::string outcome, std::string outcome_text) {
  OutboundMessage message;
  message.approval_id = approval.id;
  message.approval_outcome = std::move(outcome);
  message.approval_outcome_text = std::move(outcome_text);
  return message;
}

static std::string vote_result_name(VoteResult result) {
  if (result == VoteResult::recorded) return "recorded";
  if (result == VoteResult::granted) return "granted";
  if (result == VoteResult::denied) return "denied";
  return "refused";
}

asio::awaitable<void> Pipeline::handle_vote(const Step& step, bool approve) {
  if (deps_.approvals == nullptr) {
    const std::string text = "There are no approvals on this opsgate (no approval store).";
    co_await reply(step, text);
    co_return;
  }
  const std::string id = step.request.params.value("id", "");
  const std::string reason = step.request.params.value("reason", "");
  const auto policy = deps_.policy();
  const auto now = deps_.clock.now();
  auto outcome = co_await deps_.approvals->vote(id, step.event.principal, approve, reason, policy, now);
  if (!outcome) {
    const std::string detail = outcome.error().message;
    co_await record(step, "approval_vote", "error", detail);
    const std::string text = "I could not record that vote: " + detail;
    co_await reply(step, text);
    co_return;
  }
  const std::string result = vote_result_name(outcome->result);
  const std::string vote_detail = std::string(approve ? "approve " : "deny ") + id + ": " + outcome->message +
                                  (reason.empty() ? std::string{} : " (why: " + reason + ")");
  co_await record(step, "approval_vote", result, vote_detail);

  const Approval& approval = outcome->approval;
  const std::string what = describe(approval.request);
  if (outcome->result == VoteResult::refused) {
    const std::string text = "⛔ " + outcome->message;
    co_await reply(step, text);
    co_return;
  }
  if (outcome->result == VoteResult::recorded) {
    const std::string text = "✔ " + outcome->message + " (" + what + ").";
    co_await reply(step, text);
    co_return;
  }
  const Step origin = origin_of(approval);
  if (outcome->result == VoteResult::denied) {
    const std::string detail = "denied by " + step.event.principal.id + (reason.empty() ? "" : ": " + reason);
    co_await record(origin, "approval_denied", "denied", detail);
    OutboundMessage message = approval_outcome(approval, "denied", detail);
    message.text = "🚫 " + approval.id + " (" + what + ") was " + detail + ".";
    co_await send(origin, std::move(message));
    co_return;
  }
  if (!approval.preview_fingerprint.empty()) {
    // The approvers voted on a preview; make sure it is still what would run.
    auto again = co_await preview_request(origin);
    if (!again || !again->has_value()) {
      const std::string why = again ? "the action gave no preview" : again.error().message;
      const std::string detail = "at quorum: " + why;
      co_await record(origin, "previewed", "error", detail);
      co_await deps_.approvals->finish(approval.id, false);
      const std::string text = "❌ " + approval.id + " (" + what + ") was approved, but I cannot re-check what it "
                               "would change (" + why + "), so it did not run.";
      co_await reply(origin, text);
      co_return;
    }
    const ActionPreview& now_preview = **again;
    if (now_preview.fingerprint != approval.preview_fingerprint) {
      const std::string changed = "live object changed since the preview: was [" + approval.preview_fingerprint +
                                  "], now [" + now_preview.fingerprint + "]; the vote starts over";
      co_await record(origin, "preview_changed", "pending", changed);
      const std::string new_text = now_preview.text;
      const std::string new_fingerprint = now_preview.fingerprint;
      const auto restart_at = deps_.clock.now();
      auto reopened = co_await deps_.approvals->restart_vote(approval.id, new_text, new_fingerprint, restart_at);
      if (!reopened) {
        co_await deps_.approvals->finish(approval.id, false);
        const std::string text = "❌ " + approval.id + ": what it would change is no longer what was approved, and I "
                                 "could not restart the vote (" + reopened.error().message + "); nothing ran.";
        co_await reply(origin, text);
        co_return;
      }
      const std::string new_outcome = now_preview.nothing_to_do ? "noop" : "ok";
      const std::string new_detail = now_preview.text + " [fingerprint " + now_preview.fingerprint + "]";
      co_await record(origin, "previewed", new_outcome, new_detail);
      OutboundMessage refreshed;
      refreshed.approval_id = approval.id;
      refreshed.text = "🔄 " + approval.id + " (" + what + "): the live object changed before the vote completed, so "
                       "nothing ran and the vote starts over (approve " + approval.id + " again).\nDry run now: " +
                       now_preview.text;
      co_await send(origin, std::move(refreshed));
      co_return;
    }
    const std::string unchanged = "re-checked at quorum, unchanged: " + now_preview.text;
    co_await record(origin, "previewed", "ok", unchanged);
  }
  std::string by;
  for (const auto& voter : approval.approved_by) {
    by += (by.empty() ? "" : ", ") + voter;
  }
  const std::string granted_detail = "approved by " + by + " (approval " + approval.id + ")";
  const bool granted_recorded = co_await record(origin, "approval_granted", "granted", granted_detail);
  if (!granted_recorded) {
    co_await deps_.approvals->finish(approval.id, false);
    const std::string text = "I cannot write to the audit log right now, so " + approval.id + " did not run.";
    co_await reply(step, text);
    co_return;
  }
  OutboundMessage granted = approval_outcome(approval, "granted", "approved by " + by);
  granted.text = "✅ " + approval.id + " approved by " + by + ": running " + what + " for " + approval.requester + ".";
  co_await send(origin, std::move(granted));
  const ActionSpec* spec = find_action(approval.request.action);
  bool ok = false;
  if (spec != nullptr) {
    ok = co_await run_action(origin, *spec);
  }
  co_await deps_.approvals->finish(approval.id, ok);
}

asio::awaitable<void> Pipeline::handle_cancel(const Step& step) {
  if (deps_.approvals == nullptr) {
    const std::string text = "There are no approvals on this opsgate (no approval store).";
    co_await reply(step, text);
    co_return;
  }
  const std::string id = step.request.params.value("id", "");
  const auto now = deps_.clock.now();
  auto outcome = co_await deps_.approvals->cancel(id, step.event.principal, now);
  if (!outcome) {
    const std::string text = "I could not cancel " + id + ": " + outcome.error().message;
    co_await reply(step, text);
    co_return;
  }
  if (outcome->result == VoteResult::refused) {
    const std::string detail = outcome->message;
    co_await record(step, "approval_cancel", "refused", detail);
    const std::string text = "⛔ " + detail;
    co_await reply(step, text);
    co_return;
  }
  const Step origin = origin_of(outcome->approval);
  const std::string detail = "cancelled by " + step.event.principal.id;
  co_await record(origin, "approval_cancelled", "cancelled", detail);
  OutboundMessage message = approval_outcome(outcome->approval, "cancelled", detail);
  message.text = "Cancelled " + id + ".";
  co_await send(step, std::move(message));
}

asio::awaitable<void> Pipeline::list_approvals(const Step& step) {
  if (deps_.approvals == nullptr) {
    const std::string text = "There are no approvals on this opsgate (no approval store).";
    co_await reply(step, text);
    co_return;
  }
  const auto now = deps_.clock.now();
  auto pending = co_await deps_.approvals->pending(now);
  std::string text;
  if (!pending) {
    text = "I could not read the approvals: " + pending.error().message;
  } else if (pending->empty()) {
    text = "No approvals are pending.";
  } else {
    const auto policy = deps_.policy();
    text = "Pending approvals:";
    for (const auto& a : *pending) {
      const std::int64_t left_s = std::max<std::int64_t>(0, (a.expires_ms - to_unix_ms(now)) / 1000);
      const bool mine = a.requester == step.event.principal.id;
      const bool may = !mine && policy->may_approve(step.event.principal, a.requirement);
      text += "\n  " + a.id + "  " + describe(a.request) + " by " + a.requester +
              ", " + std::to_string(a.approved_by.size()) + "/" + std::to_string(a.requirement.quorum) +
              " approvals, expires in " + format_duration(left_s) +
              (mine ? " — yours (`cancel " + a.id + "`)" : may ? " — you may approve (`approve " + a.id + "`)" : "");
    }
  }
  co_await reply(step, text);
}

asio::awaitable<void> Pipeline::expire_approvals() {
  if (deps_.approvals == nullptr) {
    co_return;
  }
  const auto now = deps_.clock.now();
  auto expired = co_await deps_.approvals->expire_due(now);
  if (!expired) {
    spdlog::error("approval expiry failed: {}", expired.error().message);
    co_return;
  }
  for (const auto& approval : *expired) {
    const Step origin = origin_of(approval);
    const std::string detail = "approval " + approval.id + " expired without a decision";
    co_await record(origin, "approval_expired", "expired", detail);
    OutboundMessage message = approval_outcome(approval, "expired", "expired without a decision");
    message.text =
        "⌛ Approval " + approval.id + " for " + describe(approval.request) + " expired; ask again if it is still needed.";
    co_await send(origin, std::move(message));
  }
}

asio::awaitable<bool> Pipeline::run_action(const Step& step, const ActionSpec& spec) {
  const std::string name = spec.name;
  if (name == "help" || name == "whoami") {
    const std::string text = name == "help" ? help_text(step.event.principal) : whoami_text(step.event.principal);
    co_await record(step, "finished", "ok", name);
    co_await reply(step, text);
    co_return true;
  }
  Action* action = deps_.actions.find(name);
  if (action == nullptr) {
    const std::string detail = "no backend configured for " + name;
    const std::string text = "`" + name + "` is not configured on this opsgate: no backend runs it. "
                             "An operator can add one under `actions:` in the config.";
    co_await record(step, "finished", "error", detail);
    co_await reply(step, text);
    co_return false;
  }

  // A started event that is not durable means the action does not run.
  const bool started = co_await record(step, "started", "ok", name);
  if (!started) {
    const std::string text = "I cannot write to the audit log right now, so I did not run " + name + ".";
    co_await reply(step, text);
    co_return false;
  }

  Result<ActionResult> result = fail(Errc::internal, "the action did not complete");
  std::string crashed;
  try {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, deps_.action_timeout);
    auto outcome = co_await (action->execute(step.request) || deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 0) {
      result = std::move(std::get<0>(outcome));
    } else {
      result = fail(Errc::timeout,
                    name + " did not finish within " + format_duration(deps_.action_timeout.count()) + " and was abandoned");
    }
  } catch (const std::exception& e) {
    crashed = e.what();
  }
  if (!crashed.empty()) {
    spdlog::error("[{}] {} threw: {}", step.request_id, name, crashed);
    result = fail(Errc::internal, "internal error while running " + name);
  }

  std::string outcome = "ok";
  std::string detail;
  std::string text;
  if (result) {
    // The first line is the outcome; long listings stay in the reply only.
    detail = result->summary.substr(0, result->summary.find('\n'));
    text = result->summary;
  } else {
    outcome = "error";
    detail = std::string(to_string(result.error().code)) + ": " + result.error().message;
    text = "❌ " + name + " failed: " + result.error().message;
  }
  co_await record(step, "finished", outcome, detail);
  std::optional<ActionResult> written;
  if (result && spec.kind == ActionKind::write) {
    written = *result;
  }
  OutboundMessage message;
  message.text = std::move(text);
  if (result) {
    message.action = name;
    message.data = std::move(result->data);
    message.suggestions = std::move(result->suggestions);
  }
  co_await send(step, std::move(message));
  if (written) {
    // After a write: follow it until it settles (bounded by the action) and
    // post the outcome as its own message and audit event.
    std::optional<FollowOutcome> followed;
    std::string follow_crash;
    try {
      const ActionRequest request = step.request;
      const ActionResult done = *written;
      followed = co_await action->follow(request, done);
    } catch (const std::exception& e) {
      follow_crash = e.what();
    }
    if (!follow_crash.empty()) {
      spdlog::error("[{}] following {} threw: {}", step.request_id, name, follow_crash);
      const std::string crash_detail = "internal error while following: " + follow_crash;
      co_await record(step, "followed", "error", crash_detail);
    }
    if (followed) {
      const std::string follow_outcome = followed->ok ? "ok" : "error";
      co_await record(step, "followed", follow_outcome, followed->summary);
      OutboundMessage outcome_message;
      outcome_message.text = followed->summary;
      outcome_message.action = name;
      outcome_message.data = followed->data;
      outcome_message.suggestions = followed->suggestions;
      co_await send(step, std::move(outcome_message));
    }
  }
  co_return static_cast<bool>(result);
}

std::string Pipeline::help_text(const Principal& principal) const {
  std::string text = "I can run these for you (" + principal.id + "):\n";
  const auto policy = deps_.policy();
  for (const auto& spec : action_catalogue()) {
    text += "  " + spec.usage + " — " + spec.summary;
    if (spec.kind == ActionKind::write) {
      text += " [write]";
    }
    text += "\n";
  }
  text += "Targets: ";
  const auto names = deps_.inventory->target_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    text += (i ? ", " : "") + names[i];
  }
  text += ". Environments: ";
  const auto envs = deps_.inventory->env_names();
  for (std::size_t i = 0; i < envs.size(); ++i) {
    text += (i ? ", " : "") + envs[i];
  }
  text += " (default " + deps_.inventory->default_env() + " for reads; writes always name one).";
  return text;
}

std::string Pipeline::whoami_text(const Principal& principal) const {
  std::string text = "You are " + principal.id;
  const std::string policy_view = deps_.policy()->describe(principal);
  if (!principal.display_name.empty()) {
    text += " (" + principal.display_name + ")";
  }
  if (principal.groups.empty()) {
    text += ", in no platform groups.";
  } else {
    text += ", in groups: ";
    for (std::size_t i = 0; i < principal.groups.size(); ++i) {
      text += (i ? ", " : "") + principal.groups[i];
    }
    text += ".";
  }
  return text + " In the policy: " + policy_view + ".";
}

}  // namespace opsgate
