#include "src/core/pipeline.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

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

Pipeline::Pipeline(PipelineDeps deps) : deps_(std::move(deps)) {}

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
  const auto it = adapters_.find(step.event.platform);
  if (it == adapters_.end()) {
    spdlog::error("[{}] no adapter for platform '{}' to reply through", step.request_id, step.event.platform);
    co_return;
  }
  OutboundMessage message;
  message.platform = step.event.platform;
  message.channel = step.event.channel;
  message.thread = step.event.thread;
  message.request_id = step.request_id;
  message.text = std::move(text);
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

  const ParseResult parsed = deps_.parser.parse(step.event.text);
  step.request = parsed.request;
  char confidence[16];
  std::snprintf(confidence, sizeof confidence, "%.2f", parsed.confidence);
  std::string parse_detail = "parser=" + parsed.parser + " confidence=" + confidence;
  if (parsed.kind == ParseKind::clarify) {
    parse_detail += " question=" + parsed.question;
  }
  const std::string parse_outcome = kind_name(parsed.kind);
  const bool parsed_recorded = co_await record(step, "parsed", parse_outcome, parse_detail);
  if (!parsed_recorded) {
    co_await reply(step, audit_down);
    co_return;
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
  } else if (decision.effect == Effect::needs_approval) {
    answer = "This needs approval, and approvals are not available with this policy.";
  }
  if (!answer.empty()) {
    co_await reply(step, answer);
    co_return;
  }
  co_await run_action(step, *spec);
}

asio::awaitable<void> Pipeline::run_action(const Step& step, const ActionSpec& spec) {
  const std::string name = spec.name;
  if (name == "help" || name == "whoami") {
    const std::string text = name == "help" ? help_text(step.event.principal) : whoami_text(step.event.principal);
    co_await record(step, "finished", "ok", name);
    co_await reply(step, text);
    co_return;
  }
  Action* action = deps_.actions.find(name);
  if (action == nullptr) {
    const std::string detail = "no backend configured for " + name;
    const std::string text = "`" + name + "` is not configured on this opsgate: no backend runs it. "
                             "An operator can add one under `actions:` in the config.";
    co_await record(step, "finished", "error", detail);
    co_await reply(step, text);
    co_return;
  }

  // A started event that is not durable means the action does not run.
  const bool started = co_await record(step, "started", "ok", name);
  if (!started) {
    const std::string text = "I cannot write to the audit log right now, so I did not run " + name + ".";
    co_await reply(step, text);
    co_return;
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
  co_await reply(step, text);
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
  return text;
}

}  // namespace opsgate
