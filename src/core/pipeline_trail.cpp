#include "src/core/pipeline.hpp"

// A request's trail: its audit events gathered, then made durable in one
// commit before anything that could claim them (a reply, a write, a vote).

#include <spdlog/spdlog.h>

namespace opsgate {

namespace asio = boost::asio;

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

// Not a coroutine: send() holds the message in its own frame.
asio::awaitable<void> Pipeline::reply(const Step& step, Trail& trail, std::string text) {
  OutboundMessage message;
  message.text = std::move(text);
  return send(step, trail, std::move(message));
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

}  // namespace opsgate
