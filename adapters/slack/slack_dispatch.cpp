#include "adapters/slack/slack_dispatch.hpp"

#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "src/audit/replay_store.hpp"
#include "src/core/log_exception.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;

SlackDispatch::SlackDispatch(asio::any_io_executor executor, std::shared_ptr<const Clock> clock,
                             std::shared_ptr<audit::ReplayStore> replays, SlackIdentity& identity,
                             SlackOutbound& outbound)
    : executor_(std::move(executor)),
      clock_(std::move(clock)),
      replays_(std::move(replays)),
      identity_(identity),
      outbound_(outbound) {}

struct SlackDispatch::SlotWaiter {
  explicit SlotWaiter(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool granted = false;  // guarded by slots_mutex_: a finishing handler passed its slot on
};

asio::awaitable<bool> SlackDispatch::take_slot() {
  std::shared_ptr<SlotWaiter> waiter;
  {
    std::lock_guard lock(slots_mutex_);
    if (handling_ < kMaxHandling && waiting_.empty()) {
      ++handling_;
      co_return true;
    }
    waiter = std::make_shared<SlotWaiter>(executor_);
    waiter->timer.expires_after(kSlotWait);
    waiting_.push_back(waiter);
  }
  // Ends at the deadline, or earlier when release_slot() cancels it.
  const auto waited = co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)waited;
  std::lock_guard lock(slots_mutex_);
  if (waiter->granted) {
    co_return true;
  }
  std::erase(waiting_, waiter);
  co_return false;
}

void SlackDispatch::release_slot() {
  std::shared_ptr<SlotWaiter> next;
  {
    std::lock_guard lock(slots_mutex_);
    if (waiting_.empty()) {
      --handling_;
      return;
    }
    next = std::move(waiting_.front());
    waiting_.pop_front();
    next->granted = true;  // the slot passes on: handling_ stays
  }
  // On the timer's executor: a timer is not to be touched from two threads at once.
  asio::post(next->timer.get_executor(), [next] { next->timer.cancel(); });
}

asio::awaitable<Accepted> SlackDispatch::accept(SlackInbound in, EventSink* sink, std::string what, std::string key) {
  if (in.kind != SlackInbound::Kind::message) {
    spdlog::debug("slack: {} ignored: {}", what, in.reason);
    co_return Accepted::ignored;
  }
  // The slot first: a key recorded for a delivery then refused as busy would
  // make Slack's retry look like a replay.
  const bool slot = co_await take_slot();
  if (!slot) {
    spdlog::warn("slack: {} {} refused: {} messages are being handled and none finished within {} ms", what, key,
                 kMaxHandling, kSlotWait.count());
    co_return Accepted::busy;
  }
  const auto now = clock_->now();
  auto first = co_await replays_->first_time_async(key, now);
  if (!first) {
    release_slot();
    spdlog::error("slack: {} refused: {}", what, first.error().message);
    co_return Accepted::unrecorded;
  }
  if (!*first) {
    release_slot();
    spdlog::info("slack: {} {} is a replay or retry of one already handled; ignored", what, key);
    co_return Accepted::replay;
  }
  remember(in);
  asio::co_spawn(executor_, handle(std::move(in), sink), [this](std::exception_ptr e) {
    release_slot();
    log_exception("slack: handling an inbound message", e);
  });
  co_return Accepted::handled;
}

Accepted SlackDispatch::accept_later(SlackInbound in, EventSink* sink, std::string what, std::string key) {
  if (in.kind != SlackInbound::Kind::message) {
    spdlog::debug("slack: {} ignored: {}", what, in.reason);
    return Accepted::ignored;
  }
  asio::co_spawn(executor_, decide_then_handle(std::move(in), sink, std::move(what), std::move(key)),
                 [](std::exception_ptr e) { log_exception("slack: handling an inbound message", e); });
  return Accepted::handled;
}

asio::awaitable<void> SlackDispatch::decide_then_handle(SlackInbound in, EventSink* sink, std::string what,
                                                        std::string key) {
  const auto now = clock_->now();
  auto first = co_await replays_->first_time_async(key, now);
  if (!first) {
    // Already acknowledged: Slack will not send it again. Not run unrecorded.
    spdlog::error("slack: {} {} not handled: {}", what, key, first.error().message);
    co_return;
  }
  if (!*first) {
    spdlog::info("slack: {} {} is a replay or retry of one already handled; ignored", what, key);
    co_return;
  }
  remember(in);
  co_await handle(std::move(in), sink);
}

// The message with the buttons, so the decision can update it even if
// opsgate restarted since it posted the request. The id is the clicker's
// word until the workflow finds the approval: kept apart, bounded by bytes,
// and never over what opsgate posted itself.
void SlackDispatch::remember(const SlackInbound& in) {
  outbound_.remember_clicked(in.approval_id, PostedMessage{in.channel, in.approval_message_ts, in.approval_message_text});
}

asio::awaitable<void> SlackDispatch::handle(SlackInbound in, EventSink* sink) {
  ChatEvent event;
  event.platform = "slack";
  event.workspace = in.team;
  event.channel = in.channel;
  event.thread = in.thread;
  event.message_id = in.message_id;
  event.principal.id = "slack:" + in.team + ":" + in.user;
  event.text = in.text;
  event.addressed = in.addressed;
  const std::string user = in.user;
  event.principal.display_name = co_await identity_.display_name(user);
  event.principal.groups = co_await identity_.groups_of(user);
  co_await sink->on_event(std::move(event));
}

}  // namespace opsgate::adapters::slack
