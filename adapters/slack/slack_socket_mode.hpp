#pragma once
// Slack's Socket Mode: opsgate asks apps.connections.open (app token) for a
// WebSocket URL, connects with net::WebSocketClient, acknowledges each
// envelope at once and hands its payload to SlackDispatch. On `disconnect`
// it opens the new connection before closing the old one; reconnects with
// net::Backoff; stops for good on link_disabled.
// Owned by the Slack adapter; run() and stop() on the daemon's io_context.

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "adapters/slack/slack_dispatch.hpp"
#include "adapters/slack/slack_web_api.hpp"
#include "src/core/adapter.hpp"
#include "src/core/error.hpp"
#include "src/net/websocket_client.hpp"

namespace opsgate::adapters::slack {

class SlackSocketMode {
 public:
  SlackSocketMode(boost::asio::any_io_executor executor, WebApi& app_api, std::chrono::milliseconds idle_timeout,
                  SlackDispatch& dispatch);

  // The receive loop; returns when stopped or cancelled, or on link_disabled.
  boost::asio::awaitable<void> run(EventSink* sink);
  // Shutdown: the loop ends and a pending read ends now.
  void stop();

 private:
  enum class Ending { dropped, refresh, link_disabled, stopping };

  boost::asio::awaitable<Result<std::string>> open_socket_url();
  boost::asio::awaitable<Ending> serve_socket(net::WebSocketClient& ws, EventSink* sink);

  boost::asio::any_io_executor executor_;
  WebApi& app_api_;
  std::chrono::milliseconds idle_timeout_;
  SlackDispatch& dispatch_;
  bool stopping_ = false;
  net::WebSocketClient* socket_ = nullptr;
};

}  // namespace opsgate::adapters::slack
