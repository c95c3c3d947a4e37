#pragma once
// Extension point: something the outside world calls on the daemon's HTTP
// server (a chat platform's webhooks, Alertmanager). install_routes() is the
// one way a receiver adds routes; the daemon calls it once, before the server
// starts. Core names the server only: net implements it, so core compiles
// without net or Beast.

#include "src/core/adapter.hpp"

namespace opsgate::net {
class HttpServer;
}  // namespace opsgate::net

namespace opsgate {

class WebhookReceiver {
 public:
  virtual ~WebhookReceiver() = default;
  // Adds this receiver's routes; what they receive goes to `sink`, which
  // outlives the server. Throws std::invalid_argument for a route taken twice.
  virtual void install_routes(net::HttpServer& server, EventSink& sink) = 0;
};

// A chat platform that receives webhooks (Slack's Events API, Teams' Bot
// Framework, Discord's interactions) and may hold outbound connections in
// run(). Owned by the daemon's components; the daemon runs and cancels it.
class WebhookAdapter : public Adapter, public WebhookReceiver {};

}  // namespace opsgate
