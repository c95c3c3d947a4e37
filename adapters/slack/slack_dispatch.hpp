#pragma once
// The step every inbound Slack delivery takes, from HTTP or Socket Mode:
// ignore what is not a message, refuse a replay (the replay store decides,
// on its writer thread: nothing here blocks), remember the approval message a
// click names, and hand the message to the pipeline without waiting for it.
// Owned by the Slack adapter; on the daemon's io_context.

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "adapters/slack/slack_identity.hpp"
#include "adapters/slack/slack_inbound.hpp"
#include "adapters/slack/slack_outbound.hpp"
#include "src/core/adapter.hpp"
#include "src/core/clock.hpp"

namespace opsgate::audit {
class ReplayStore;
}

namespace opsgate::adapters::slack {

// What a slash command's acknowledgement says while the work goes on.
inline constexpr const char* kWorkingOnIt = "Working on it…";

enum class Accepted { handled, ignored, replay, unrecorded, busy };

// Messages being handled at once (HTTP); one more waits for a slot up to
// kSlotWait, then is refused with 503 (Slack retries): acknowledged work
// cannot outrun the pipeline without bound.
inline constexpr std::size_t kMaxHandling = 256;
inline constexpr std::chrono::milliseconds kSlotWait{2000};

class SlackDispatch {
 public:
  SlackDispatch(boost::asio::any_io_executor executor, std::shared_ptr<const Clock> clock,
                std::shared_ptr<audit::ReplayStore> replays, SlackIdentity& identity, SlackOutbound& outbound);

  // `key` names the delivery in the replay store (event id, signed-body
  // digest, envelope id); `what` is for log lines. Waits (without blocking
  // the thread) for a handling slot, then for the store's durable decision,
  // so the caller can tell Slack: unrecorded means the store failed and a
  // replay cannot be told from a first delivery, busy that no slot freed in
  // time (answer 503 to both: Slack retries).
  boost::asio::awaitable<Accepted> accept(SlackInbound in, EventSink* sink, std::string what, std::string key);
  // The same decision taken afterwards, with the handling, for deliveries
  // already acknowledged (Socket Mode acknowledges first): a replay is then
  // ignored, and a store failure logged and not run. Returns ignored or
  // handled (taken).
  Accepted accept_later(SlackInbound in, EventSink* sink, std::string what, std::string key);

 private:
  struct SlotWaiter;
  // A handling slot: true at once or when one frees within kSlotWait.
  boost::asio::awaitable<bool> take_slot();
  void release_slot();
  void remember(const SlackInbound& in);
  boost::asio::awaitable<void> decide_then_handle(SlackInbound in, EventSink* sink, std::string what, std::string key);
  boost::asio::awaitable<void> handle(SlackInbound in, EventSink* sink);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<const Clock> clock_;
  std::shared_ptr<audit::ReplayStore> replays_;
  SlackIdentity& identity_;
  SlackOutbound& outbound_;

  std::mutex slots_mutex_;
  std::size_t handling_ = 0;                          // guarded by slots_mutex_
  std::deque<std::shared_ptr<SlotWaiter>> waiting_;  // guarded by slots_mutex_; oldest first
};

}  // namespace opsgate::adapters::slack
