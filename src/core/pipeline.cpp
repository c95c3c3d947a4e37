#include "src/core/pipeline.hpp"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

#include "src/core/action_catalogue.hpp"
#include "src/core/request_id.hpp"
#include "src/core/text.hpp"

namespace opsgate {

namespace asio = boost::asio;

namespace {

std::string kind_name(ParseKind kind) {
  switch (kind) {
    case ParseKind::request: return "request";
    case ParseKind::clarify: return "clarify";
    case ParseKind::none: return "none";
  }
  return "none";
}

std::string decision_detail(const Decision& decision) {
  // One string, appended to (every decided event has this detail).
  std::string detail;
  detail.reserve(decision.explanation.size() + 16 + decision.rule_ids.size() * 24);
  detail += decision.explanation;
  const std::size_t bare = detail.size();  // nothing of the rule list yet
  for (const auto& id : decision.rule_ids) {
    if (detail.size() != bare) {
      detail += ',';
      detail += id;
    } else if (!id.empty()) {
      detail += " [rules: ";
      detail += id;
    }
  }
  if (detail.size() != bare) {
    detail += ']';
  }
  return detail;
}

}  // namespace

Pipeline::Pipeline(PipelineDeps deps) : deps_(std::move(deps)), memory_(deps_.conversation) {}

void Pipeline::add_adapter(Adapter& adapter) { adapters_[std::string(adapter.platform())] = &adapter; }

// Forwarders, not coroutines: a coroutine here would hold one more frame for
// every message in flight.
asio::awaitable<void> Pipeline::on_event(ChatEvent event) {
  return handle(Step{std::move(event), new_request_id(), {}, {}}, std::function<void()>{});
}

asio::awaitable<void> Pipeline::on_event_pipelined(ChatEvent event, std::function<void()> handed_off) {
  return handle(Step{std::move(event), new_request_id(), {}, {}}, std::move(handed_off));
}

// GCC 12 miscompiles temporaries that live across a co_await (double
// destruction), so every co_await below takes named locals only, and no
// co_await sits inside a switch or a condition.
//
// The straight line: received → understood → decided → (ask for approval |
// run) → replied. Everything about approvals, votes and rate-limit slots is
// the workflow's (src/approval/). Events gather in the trail and become
// durable together: before a reply, before a write starts, before the
// workflow changes anything.
//
// Frames: GCC 12 gives every local of a coroutine its own slot in the frame,
// live or not, and a frame lives until its coroutine returns. A piped message
// waiting for its group commit holds the frames of every stage it is in, so
// each stage that ends early (understanding, the workflow, running a backend)
// is a coroutine of its own: 256 messages in flight then hold about 2 MB less.
// The step is made once, by the caller, and held by handle() alone: both
// frames then stay under 1 KB, which malloc serves from its per-thread cache.
asio::awaitable<void> Pipeline::handle(Step step, std::function<void()> handed_off) {
  Trail trail;
  trail.events.reserve(4);  // a read's trail: received, parsed, decided, finished (one allocation, not three)
  trail.handed_off = std::move(handed_off);
  co_await handle_trail(step, trail);
  trail.hand_off();
}

asio::awaitable<void> Pipeline::handle_trail(Step& step, Trail& trail) {
  spdlog::debug("[{}] {} {} in {}: {}", step.request_id, step.event.platform, step.event.principal.id,
                step.event.channel, text::truncate_utf8(step.event.text, 200, "…"));

  // Received, then understood. Parsing has no effect, so it needs nothing on
  // record yet; the context is this person's own recent turns in this thread.
  note(trail, step, "received", "ok", step.event.text);
  const std::shared_ptr<const PolicyEngine> policy = deps_.policy();
  const std::string memory_key = step.event.platform + "\x1f" + step.event.workspace + "\x1f" + step.event.channel +
                                 "\x1f" + step.event.thread + "\x1f" + policy->person_of(step.event.principal.id);
  const Understood understood = co_await understand(step, trail, memory_key);
  if (understood.done) {
    co_return;
  }
  std::string answer = understood.answer;
  const ActionSpec* spec = find_action(step.request.action);
  if (answer.empty() && spec == nullptr) {  // the cascade validated it; a bug if reached
    answer = "Internal error: unknown action " + step.request.action;
  }
  if (!answer.empty()) {
    trail.may_hand_off = true;
    co_await reply(step, trail, answer);
    co_return;
  }

  // Decided, at the injected clock's now.
  const RequestContext context{step.event.platform, step.event.channel, deps_.clock.now()};
  const Decision decision = policy->evaluate(step.event.principal, *spec, step.request, context);
  note(trail, step, "decided", std::string(to_string(decision.effect)), decision_detail(decision));
  spdlog::info("[{}] {} {} → {}", step.request_id, step.event.principal.id, step.request.canonical(),
               decision.explanation);
  // Memory keeps only what was understood and allowed, and never a vote:
  // a refused request is not context for the next message.
  if (decision.effect != Effect::deny && !is_vote_action(spec->name)) {
    memory_.remember(memory_key, ConversationTurn{step.event.text, describe(step.request)}, deps_.clock.now());
  }

  if (decision.effect == Effect::deny) {
    answer = "⛔ " + decision.explanation;
  } else if (deps_.approvals == nullptr && (decision.effect == Effect::needs_approval || is_approval_action(spec->name))) {
    answer = "This needs the approval workflow, and no approval store is configured; refusing.";
  }
  if (!answer.empty()) {
    trail.may_hand_off = true;
    co_await reply(step, trail, answer);
    co_return;
  }
  // The workflow writes its own events and state: the trail goes first.
  const bool workflow_involved = is_approval_action(spec->name) || decision.effect == Effect::needs_approval ||
                                 (deps_.approvals != nullptr && !decision.rate_limits.empty());
  if (workflow_involved) {
    const bool run_now = co_await through_workflow(step, trail, *spec, decision);
    if (!run_now) {
      co_return;
    }
  }
  if (decision.break_glass) {
    // Loud on purpose: everyone in the channel should see it happen.
    const std::string loud = "🚨 BREAK-GLASS: " + step.event.principal.id + " runs " + describe(step.request) +
                             " without approval. Reason: " + step.request.break_glass_reason;
    co_await reply(step, trail, loud);
  }
  co_await run_action(step, *spec, trail);
}

asio::awaitable<Pipeline::Understood> Pipeline::understand(Step& step, Trail& trail, const std::string& memory_key) {
  ParseInput input;
  input.text = step.event.text;
  input.platform = step.event.platform;
  input.workspace = step.event.workspace;
  input.channel = step.event.channel;
  input.thread = step.event.thread;
  input.principal = step.event.principal.id;
  input.groups = step.event.principal.groups;
  input.addressed = step.event.addressed;
  input.recent = memory_.recent(memory_key, deps_.clock.now());
  const ParseResult parsed = co_await deps_.parser.parse_async(std::move(input));
  step.request = parsed.request;
  step.parser = parsed.parser;
  if (!parsed.degraded.empty()) {
    spdlog::warn("[{}] language model not used: {}", step.request_id, parsed.degraded);
  }
  if (parsed.kind == ParseKind::none && !step.event.addressed && parsed.notice.empty() && parsed.degraded.empty()) {
    // Chatter: not addressed, not understood, causes nothing. Not recorded
    // (README, "The audit log"), so a busy channel costs no disk.
    co_return Understood{true, {}};
  }
  spdlog::info("[{}] {} {} in {}: {}", step.request_id, step.event.platform, step.event.principal.id,
               step.event.channel, text::truncate_utf8(step.event.text, 200, "…"));
  note(trail, step, "parsed", kind_name(parsed.kind), parse_audit_detail(parsed));
  if (!parsed.notice.empty()) {
    const std::string notice = parsed.notice;
    co_await reply(step, trail, notice);
  }
  if (parsed.kind == ParseKind::none) {
    if (!step.event.addressed) {
      const bool recorded = co_await commit(step, trail);
      (void)recorded;  // logged by commit(); nothing was going to happen anyway
      co_return Understood{true, {}};
    }
    co_return Understood{false, "I did not understand that. Try `help` to see what I can do, e.g. `!restart cart staging`."};
  }
  if (parsed.kind == ParseKind::clarify) {
    if (!is_vote_action(parsed.request.action)) {
      memory_.remember(memory_key, ConversationTurn{step.event.text, "asked: " + parsed.question}, deps_.clock.now());
    }
    co_return Understood{false, parsed.question};
  }
  co_return Understood{false, {}};
}

asio::awaitable<bool> Pipeline::through_workflow(const Step& step, Trail& trail, const ActionSpec& spec,
                                                 const Decision& decision) {
  const bool durable = co_await commit(step, trail);
  if (!durable) {
    co_await reply(step, trail, kAuditDown);
    co_return false;
  }
  if (is_approval_action(spec.name)) {
    WorkflowReply handled = co_await deps_.approvals->handle(step);
    co_await deliver(std::move(handled));
    co_return false;
  }
  if (deps_.approvals != nullptr && !decision.rate_limits.empty()) {
    // Without slots to reserve admit() answers "" at once; not calling it
    // spares each request copies of its step and decision (a coroutine frame).
    const std::string refusal = co_await deps_.approvals->admit(step, decision);
    if (!refusal.empty()) {
      co_await reply(step, trail, refusal);
      co_return false;
    }
  }
  if (decision.effect == Effect::needs_approval) {
    WorkflowReply asked = co_await deps_.approvals->ask(step, decision);
    co_await deliver(std::move(asked));
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Pipeline::on_system_request(ChatEvent origin, ActionRequest request) {
  Step step{std::move(origin), new_request_id(), std::move(request), "system"};
  const std::string what = describe(step.request);
  spdlog::info("[{}] system request by {} in {}/{}: {}", step.request_id, step.event.principal.id,
               step.event.platform, step.event.channel, what);
  Trail trail;
  note(trail, step, "received", "ok", "system request: " + what);
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
  note(trail, step, "parsed", parse_outcome, parse_detail);
  if (!refusal.empty()) {
    co_await reply(step, trail, refusal);
    co_return;
  }
  const std::shared_ptr<const PolicyEngine> policy = deps_.policy();
  const RequestContext context{step.event.platform, step.event.channel, deps_.clock.now()};
  const Decision decision = policy->evaluate(step.event.principal, *spec, step.request, context);
  const std::string effect(to_string(decision.effect));
  const std::string decided_detail = decision_detail(decision);
  note(trail, step, "decided", effect, decided_detail);
  if (decision.effect == Effect::deny) {
    const std::string text = "⛔ " + decision.explanation + " (grant " + step.event.principal.id + " the role to run " +
                             spec->name + " in the policy)";
    co_await reply(step, trail, text);
    co_return;
  }
  if (decision.effect == Effect::needs_approval) {
    const std::string text = "⛔ " + what + " needs approval, and a request opsgate makes itself cannot wait for one.";
    co_await reply(step, trail, text);
    co_return;
  }
  co_await run_action(step, *spec, trail);
}


}  // namespace opsgate
