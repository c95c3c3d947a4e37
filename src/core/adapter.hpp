#pragma once
// Extension point: one chat platform. run() is the receive loop and returns
// when cancelled (or, for the shell, at end of input); send() delivers a reply.

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
