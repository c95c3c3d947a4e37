#pragma once
// Slack's HTTP mode: POST /slack/events, /slack/commands and
// /slack/interactions on the daemon's server. Checks the size and Slack's
// signature, answers the URL check and the certificate check, parses the
// delivery and hands it to SlackDispatch; acknowledges within Slack's 3 s.
// Owned by the Slack adapter; the routes run on the daemon's io_context.

#include <memory>

#include <boost/asio/awaitable.hpp>

#include "adapters/slack/slack_adapter.hpp"
#include "adapters/slack/slack_dispatch.hpp"
#include "src/core/adapter.hpp"
#include "src/core/clock.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::adapters::slack {

class SlackHttpReceiver {
 public:
  SlackHttpReceiver(const SlackConfig& config, std::shared_ptr<const Clock> clock, SlackDispatch& dispatch);

  void install_routes(net::HttpServer& server, EventSink& sink);

 private:
  enum class Route { events, commands, interactions };

  boost::asio::awaitable<net::HttpResponse> on_http(net::HttpRequest request, EventSink* sink, Route route);

  const SlackConfig& config_;
  std::shared_ptr<const Clock> clock_;
  SlackDispatch& dispatch_;
};

}  // namespace opsgate::adapters::slack
