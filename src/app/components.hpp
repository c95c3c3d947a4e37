#pragma once
// Registration, written out in one place: which parser, policy, actions and
// adapters a config asks for. Building them validates every extension section,
// so `opsgate config check` and start-up refuse the same mistakes.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "adapters/shell/shell_adapter.hpp"
#include "adapters/teams/teams_adapter.hpp"
#include "src/core/action_registry.hpp"
#include "src/core/adapter.hpp"
#include "src/core/config.hpp"
#include "src/core/intent_parser.hpp"
#include "src/core/policy_engine.hpp"
#include "src/core/clock.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::app {

// A chat platform other than the shell. The daemon adds it to the pipeline,
// calls install_routes (when set) before the HTTP server starts so webhooks
// reach it, runs adapter->run() until shutdown (outbound connections such
// as Socket Mode or a gateway live there; a webhook-only adapter's run()
// just waits for cancellation) and cancels it on shutdown.
struct ChatAdapter {
  std::unique_ptr<Adapter> adapter;
  std::function<void(net::HttpServer&, EventSink&)> install_routes;
};

struct Components {
  // Declared first so they outlive the actions that use them.
  std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>();
  std::unique_ptr<net::HttpClient> http;
  std::unique_ptr<IntentParser> parser;  // the cascade
  std::shared_ptr<const PolicyEngine> policy;
  ActionRegistry actions;
  net::HttpServerConfig server;
  adapters::shell::ShellConfig shell;
  std::vector<ChatAdapter> chat_adapters;
  std::vector<std::string> notes;  // one line per component, for `config check`
};

// Throws ConfigError on the first invalid extension section.
Components build_components(const Config& config, boost::asio::any_io_executor executor);

// Only the cascade (for `opsgate parse` and `eval`).
std::unique_ptr<IntentParser> build_parser(const Config& config);

// Only the policy (for SIGHUP reload and `policy check`).
std::shared_ptr<const PolicyEngine> build_policy(const Config& config);

}  // namespace opsgate::app
