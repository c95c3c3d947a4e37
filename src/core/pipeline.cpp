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
#include "src/core/text.hpp"

namespace opsgate {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

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
  std::string rules;
  for (const auto& id : decision.rule_ids) {
    rules += (rules.empty() ? "" : ",") + id;
  }
  return decision.explanation + (rules.empty() ? std::string{} : " [rules: " + rules + "]");
}

}  // namespace

Pipeline::Pipeline(PipelineDeps deps) : deps_(std::move(deps)), memory_(deps_.conversation) {}

void Pipeline::add_adapter(Adapter& adapter) { adapters_[std::string(adapter.platform())] = &adapter; }

void Pipeline::Trail::hand_off() {
  if (handed_off) {
    auto call = std::move(handed_off);
    handed_off = nullptr;
    call();
  }
}

void Pipeline::note(Trail& trail, const Step& step, std::string kind, std::string outcome, std::string detail) const {
  trail.events.push_back(step_event(deps_.clock, step, std::move(kind), std::move(outcome), std::move(detail)));
}

asio::awaitable<bool> Pipeline::commit(const Step& step, Trail& trail) {
  if (trail.failed) {
    // Earlier events of this request are lost: nothing more may happen on
    // top of them (fail closed), and no reply may claim otherwise.
    co_return false;
  }
  if (trail.events.empty()) {
    if (trail.may_hand_off) {
      trail.hand_off();
    }
    co_return true;
  }
  std::vector<AuditEvent> events = std::move(trail.events);
  trail.events.clear();
  std::function<void()> queued;
  if (trail.may_hand_off) {
    queued = [&trail] { trail.hand_off(); };
  }
  const std::size_t count = events.size();
  auto appended = co_await deps_.audit.append_all(std::move(events), std::move(queued));
  if (!appended) {
    spdlog::error("[{}] audit append of {} events failed: {}", step.request_id, count, appended.error().message);
    trail.failed = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Pipeline::reply(const Step& step, Trail& trail, std::string text) {
  OutboundMessage message;
  message.text = std::move(text);
  co_await send(step, trail, std::move(message));
}

asio::awaitable<void> Pipeline::send(const Step& step, Trail& trail, OutboundMessage message) {
  const bool durable = co_await commit(step, trail);
  if (!durable) {
    // The reply would claim what the log does not hold.
    message = OutboundMessage{};
    message.text = kAuditDown;
  }
  const auto it = adapters_.find(step.event.platform);
  if (it == adapters_.end()) {
    spdlog::error("[{}] no adapter for platform '{}' to reply through", step.request_id, step.event.platform);
    co_return;
  }
  message.platform = step.event.platform;
  message.channel = step.event.channel;
  message.thread = step.event.thread;
  message.request_id = step.request_id;
  message.reply_to = step.event.message_id;
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
  // Not waited for: a crash can lose only the note that a reply went out.
  deps_.audit.append_later(step_event(deps_.clock, step, "replied", outcome, failure));
}

asio::awaitable<void> Pipeline::on_event(ChatEvent event) {
  std::function<void()> nobody;
  co_await handle(std::move(event), std::move(nobody));
}

asio::awaitable<void> Pipeline::on_event_pipelined(ChatEvent event, std::function<void()> handed_off) {
  co_await handle(std::move(event), std::move(handed_off));
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
asio::awaitable<void> Pipeline::handle(ChatEvent event, std::function<void()> handed_off) {
  Trail trail;
  trail.handed_off = std::move(handed_off);
  co_await handle_trail(std::move(event), trail);
  trail.hand_off();
}

asio::awaitable<void> Pipeline::handle_trail(ChatEvent event, Trail& trail) {
  Step step{std::move(event), new_request_id(), {}, {}};
  spdlog::debug("[{}] {} {} in {}: {}", step.request_id, step.event.platform, step.event.principal.id,
                step.event.channel, text::truncate_utf8(step.event.text, 200, "…"));

  // Received, then understood. Parsing has no effect, so it needs nothing on
  // record yet; the context is this person's own recent turns in this thread.
  note(trail, step, "received", "ok", step.event.text);
  const std::shared_ptr<const PolicyEngine> policy = deps_.policy();
  const std::string memory_key = step.event.platform + "\x1f" + step.event.workspace + "\x1f" + step.event.channel +
                                 "\x1f" + step.event.thread + "\x1f" + policy->person_of(step.event.principal.id);
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
    co_return;
  }
  spdlog::info("[{}] {} {} in {}: {}", step.request_id, step.event.platform, step.event.principal.id,
               step.event.channel, text::truncate_utf8(step.event.text, 200, "…"));
  note(trail, step, "parsed", kind_name(parsed.kind), parse_audit_detail(parsed));
  if (!parsed.notice.empty()) {
    const std::string notice = parsed.notice;
    co_await reply(step, trail, notice);
  }

  std::string answer;
  if (parsed.kind == ParseKind::none) {
    if (!step.event.addressed) {
      const bool recorded = co_await commit(step, trail);
      (void)recorded;  // logged by commit(); nothing was going to happen anyway
      co_return;
    }
    answer = "I did not understand that. Try `help` to see what I can do, e.g. `!restart cart staging`.";
  } else if (parsed.kind == ParseKind::clarify) {
    answer = parsed.question;
    if (!is_vote_action(parsed.request.action)) {
      memory_.remember(memory_key, ConversationTurn{step.event.text, "asked: " + parsed.question}, deps_.clock.now());
    }
  }
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
    const bool durable = co_await commit(step, trail);
    if (!durable) {
      co_await reply(step, trail, kAuditDown);
      co_return;
    }
  }
  if (is_approval_action(spec->name)) {
    WorkflowReply handled = co_await deps_.approvals->handle(step);
    co_await deliver(std::move(handled));
    co_return;
  }
  if (deps_.approvals != nullptr) {
    answer = co_await deps_.approvals->admit(step, decision);
  }
  if (!answer.empty()) {
    co_await reply(step, trail, answer);
    co_return;
  }
  if (decision.effect == Effect::needs_approval) {
    WorkflowReply asked = co_await deps_.approvals->ask(step, decision);
    co_await deliver(std::move(asked));
    co_return;
  }
  if (decision.break_glass) {
    // Loud on purpose: everyone in the channel should see it happen.
    const std::string loud = "🚨 BREAK-GLASS: " + step.event.principal.id + " runs " + describe(step.request) +
                             " without approval. Reason: " + step.request.break_glass_reason;
    co_await reply(step, trail, loud);
  }
  co_await run_action(step, *spec, trail);
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

asio::awaitable<void> Pipeline::expire_approvals() {
  if (deps_.approvals == nullptr) {
    co_return;
  }
  WorkflowReply expired = co_await deps_.approvals->expire();
  co_await deliver(std::move(expired));
}

asio::awaitable<void> Pipeline::deliver(WorkflowReply reply) {
  // The workflow made its own events durable before it said anything.
  Trail none;
  bool owned_grant = false;
  for (auto& notice : reply.notices) {
    if (owner_ != nullptr && !notice.message.approval_id.empty() && !notice.message.approval_outcome.empty()) {
      // A gate's approval: the owner records the decision (and tells the
      // pipeline that asked) before the thread hears it.
      const std::string id = notice.message.approval_id;
      const std::string outcome = notice.message.approval_outcome;
      const std::string detail = notice.message.approval_outcome_text;
      const std::optional<std::string> text = co_await owner_->decided(id, outcome, detail);
      if (text) {
        notice.message.text = *text;
        owned_grant = owned_grant || (outcome == "granted" && reply.run && reply.approval_id == id);
      }
    }
    co_await send(notice.to, none, std::move(notice.message));
  }
  if (!reply.run) {
    co_return;
  }
  if (owned_grant) {
    // Granted is the gate's whole outcome: the pipeline deploys, not opsgate.
    co_await deps_.approvals->finished(reply.approval_id, true);
    co_return;
  }
  // Granted: the original request runs in its own thread, once.
  const Step origin = *reply.run;
  const ActionSpec* spec = find_action(origin.request.action);
  bool ok = false;
  if (spec != nullptr) {
    Trail trail;
    ok = co_await run_action(origin, *spec, trail);
  }
  co_await deps_.approvals->finished(reply.approval_id, ok);
}

asio::awaitable<bool> Pipeline::run_action(const Step& step, const ActionSpec& spec, Trail& trail) {
  const std::string name = spec.name;
  if (name == "help" || name == "whoami") {
    const std::string text = name == "help" ? help_text(step.event.principal) : whoami_text(step.event.principal);
    note(trail, step, "finished", "ok", name);
    trail.may_hand_off = true;
    co_await reply(step, trail, text);
    co_return true;
  }
  Action* action = deps_.actions.find(name);
  if (action == nullptr) {
    const std::string detail = "no backend configured for " + name;
    const std::string text = "`" + name + "` is not configured on this opsgate: no backend runs it. "
                             "An operator can add one under `actions:` in the config.";
    note(trail, step, "finished", "error", detail);
    trail.may_hand_off = true;
    co_await reply(step, trail, text);
    co_return false;
  }

  note(trail, step, "started", "ok", name);
  if (spec.kind == ActionKind::write) {
    // A started event that is not durable means the action does not run.
    const bool started = co_await commit(step, trail);
    if (!started) {
      co_await reply(step, trail, kAuditDown);
      co_return false;
    }
  } else {
    // A read changes nothing a later message could see, but it must not see
    // what a later one does either: the next message starts once this one's
    // result is in and its trail is queued (send() below), not before.
    trail.may_hand_off = true;
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
    if (result->noop) {
      outcome = "noop";  // e.g. a second restart in the same second changed nothing
    }
  } else {
    outcome = "error";
    detail = std::string(to_string(result.error().code)) + ": " + result.error().message;
    text = "❌ " + name + " failed: " + result.error().message;
  }
  note(trail, step, "finished", outcome, detail);
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
  co_await send(step, trail, std::move(message));
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
      note(trail, step, "followed", "error", crash_detail);
      const bool recorded = co_await commit(step, trail);
      (void)recorded;  // logged by commit(); the follow-up is over either way
    }
    if (followed) {
      const std::string follow_outcome = followed->ok ? "ok" : "error";
      note(trail, step, "followed", follow_outcome, followed->summary);
      OutboundMessage outcome_message;
      outcome_message.text = followed->summary;
      outcome_message.action = name;
      outcome_message.data = followed->data;
      outcome_message.suggestions = followed->suggestions;
      co_await send(step, trail, std::move(outcome_message));
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
