#pragma once
// Extension point: one chat platform. run() is the receive loop and returns
// when cancelled (or, for the shell, at end of input); send() delivers a reply.

#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/chat_event.hpp"
#include "src/core/error.hpp"

namespace opsgate {

// Where adapters hand verified events. The pipeline implements it.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Returns when the event has been fully handled (replies sent).
  virtual boost::asio::awaitable<void> on_event(ChatEvent event) = 0;
  // Like on_event, and calls `handed_off` (once) as soon as the next event
  // may be handled: everything this one does that a later one could see
  // (conversation memory, approvals, a write and its effect) is done, and its
  // audit events hold their place in the log; what remains is waiting for
  // them to be durable and replying. At the latest when it returns. For an
  // adapter that keeps replies in input order itself (the piped shell).
  virtual boost::asio::awaitable<void> on_event_pipelined(ChatEvent event, std::function<void()> handed_off) {
    co_await on_event(std::move(event));
    handed_off();
  }
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view platform() const = 0;
  virtual boost::asio::awaitable<void> run(EventSink& sink) = 0;
  virtual boost::asio::awaitable<void> send(OutboundMessage message) = 0;
  // Posts a new top-level message in message.channel (no inbound event to
  // reply to, e.g. an alert) and returns the thread id later replies use.
  // Platforms without threads return the channel.
  virtual boost::asio::awaitable<Result<std::string>> post(OutboundMessage message) {
    const std::string channel = message.channel;
    co_await send(std::move(message));
    co_return channel;
  }
};

}  // namespace opsgate
