#include "src/core/pipeline.hpp"

// Running one action: the `started` event durable first, a deadline, a crash
// caught and audited, then the `finished` event and the follow-ups.

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "src/core/duration.hpp"

namespace opsgate {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

// Three coroutines, not one: a message waiting for its commit holds the frame
// of every stage it is in, and GCC 12 gives each local its own slot
// (pipeline.cpp). `whoami` and `help` never hold the backend's.
asio::awaitable<bool> Pipeline::run_action(const Step& step, const ActionSpec& spec, Trail& trail) {
  if (spec.name == "help" || spec.name == "whoami") {
    const std::string text = spec.name == "help" ? help_text(step.event.principal) : whoami_text(step.event.principal);
    note(trail, step, "finished", "ok", spec.name);
    trail.may_hand_off = true;
    co_await reply(step, trail, text);
    co_return true;
  }
  Action* action = deps_.actions.find(spec.name);
  if (action == nullptr) {
    const std::string text = "`" + spec.name + "` is not configured on this opsgate: no backend runs it. "
                             "An operator can add one under `actions:` in the config.";
    note(trail, step, "finished", "error", "no backend configured for " + spec.name);
    trail.may_hand_off = true;
    co_await reply(step, trail, text);
    co_return false;
  }
  const bool ok = co_await execute(step, spec, *action, trail);
  co_return ok;
}

asio::awaitable<bool> Pipeline::execute(const Step& step, const ActionSpec& spec, Action& action, Trail& trail) {
  const std::string& name = spec.name;
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
    auto outcome = co_await (action.execute(step.request) || deadline.async_wait(asio::use_awaitable));
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
    co_await follow_write(step, spec, action, trail, std::move(*written));
  }
  co_return static_cast<bool>(result);
}

asio::awaitable<void> Pipeline::follow_write(const Step& step, const ActionSpec& spec, Action& action, Trail& trail,
                                             ActionResult written) {
  // Follows it until it settles (bounded by the action) and posts the outcome
  // as its own message and audit event.
  const std::string& name = spec.name;
  std::optional<FollowOutcome> followed;
  std::string follow_crash;
  try {
    const ActionRequest request = step.request;  // named: no temporary across the co_await (GCC 12)
    followed = co_await action.follow(request, written);
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

}  // namespace opsgate
