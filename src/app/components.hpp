#pragma once
// Registration, written out in one place (the tables in components.cpp):
// which parser, policy, actions and adapters a config asks for. Adding a
// platform or a backend is its folder and one line in a table. Building them
// validates every extension section, so `opsgate config check` and start-up
// refuse the same mistakes.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "adapters/shell/shell_adapter.hpp"
#include "src/alertmanager/alert_webhook.hpp"
#include "src/audit/replay_store.hpp"
#include "src/core/action_registry.hpp"
#include "src/core/adapter.hpp"
#include "src/core/config.hpp"
#include "src/core/intent_parser.hpp"
#include "src/core/leadership.hpp"
#include "src/core/policy_engine.hpp"
#include "src/core/clock.hpp"
#include "src/core/metrics.hpp"
#include "src/core/webhook_receiver.hpp"
#include "src/gates/gates_config.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::intent {
class LlmAccounting;
}

namespace opsgate::app {

struct Components {
  // Declared first so they outlive the actions that use them.
  std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>();
  std::unique_ptr<net::HttpClient> http;
  std::unique_ptr<IntentParser> parser;  // the cascade
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>();  // GET /metrics
  std::shared_ptr<intent::LlmAccounting> llm_accounting;  // set when the cascade has an llm parser
  std::size_t context_turns = 0;                         // recent turns per thread kept for the llm
  std::shared_ptr<const PolicyEngine> policy;
  ActionRegistry actions;
  net::HttpServerConfig server;
  adapters::shell::ShellConfig shell;
  // Chat platforms other than the shell. The daemon adds each to the pipeline,
  // installs its routes before the HTTP server starts, runs it until shutdown
  // (outbound connections such as Socket Mode or a gateway live in run(); a
  // webhook-only adapter's run() just waits for cancellation) and cancels it.
  std::vector<std::unique_ptr<WebhookAdapter>> chat_adapters;
  // The one replay store every adapter shares (in the storage file); the daemon opens it.
  std::shared_ptr<audit::ReplayStore> replays;
  // Which replica runs what must run once (the Discord gateway, gate timers);
  // the daemon renews it on the database's lease.
  std::shared_ptr<Leadership> leadership = std::make_shared<Leadership>(LeadershipOptions{});
  std::optional<alertmanager::AlertWebhookConfig> alertmanager;  // POST /alertmanager, when configured
  std::optional<gates::GatesConfig> gates;         // deployment gates (/api/v1/gates, webhooks), when configured
  std::vector<std::string> notes;  // one line per component, for `config check`
  std::vector<std::string> warnings;  // file:line: key: what will not work (config check prints, serve logs)
};

// Throws ConfigError on the first invalid extension section.
Components build_components(const Config& config, boost::asio::any_io_executor executor);

// What the cascade needs beyond the config, and what `opsgate eval` varies.
struct ParserSetup {
  net::HttpClient* http = nullptr;  // required when the chain includes llm
  MetricsRegistry* metrics = nullptr;
  std::shared_ptr<const Clock> clock;
  std::shared_ptr<intent::LlmAccounting>* accounting_out = nullptr;  // receives the LLM accounting, if any
  // Overrides (eval variants): intent.parsers, intent.min_confidence, llm.connection, llm.prompt.
  std::optional<std::vector<std::string>> parsers;
  std::optional<double> min_confidence;
  std::optional<std::string> connection;
  std::optional<std::string> prompt;
};
// Only the cascade (for `opsgate parse` and `eval`). Throws ConfigError for a
// parser name no table entry has (the message lists those that exist).
std::unique_ptr<IntentParser> build_parser(const Config& config, const ParserSetup& setup);

// Only the policy (for SIGHUP reload and `policy check`).
std::shared_ptr<const PolicyEngine> build_policy(const Config& config);

}  // namespace opsgate::app
