#include "src/app/components.hpp"
#include "src/app/cross_checks.hpp"

#include "actions/exec/exec_action.hpp"
#include "actions/kubernetes/kubernetes_actions.hpp"
#include "adapters/discord/discord_adapter.hpp"
#include "actions/loki/logs_action.hpp"
#include "actions/prometheus/prometheus_actions.hpp"
#include "actions/triage/triage_action.hpp"
#include "adapters/slack/slack_adapter.hpp"
#include <filesystem>

#include "policies/rbac_policy.hpp"
#include "src/app/app_config.hpp"
#include "src/app/audit_deploy_history.hpp"
#include "src/app/audit_show_action.hpp"
#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
#include "src/intent/llm_accounting.hpp"
#include "src/intent/llm_parser.hpp"
#include "src/intent/nlu_parser.hpp"

namespace opsgate::app {

std::unique_ptr<IntentParser> build_parser(const Config& config) {
  std::vector<std::unique_ptr<IntentParser>> parsers;
  for (const auto& name : config.intent.parsers) {
    if (name == "command") {
      parsers.push_back(std::make_unique<intent::CommandParser>(config.inventory));
    } else if (name == "nlu") {
      parsers.push_back(std::make_unique<intent::NluParser>(config.inventory));
    }
  }
  return std::make_unique<intent::IntentCascade>(std::move(parsers), config.inventory, config.intent.min_confidence);
}

std::unique_ptr<IntentParser> build_parser(const Config& config, const ParserSetup& setup) {
  const std::vector<std::string> names = setup.parsers.value_or(config.intent.parsers);
  std::vector<std::unique_ptr<IntentParser>> parsers;
  intent::CascadeOptions options;
  options.clock = setup.clock;
  for (const auto& name : names) {
    if (name == "command") {
      parsers.push_back(std::make_unique<intent::CommandParser>(config.inventory));
    } else if (name == "nlu") {
      parsers.push_back(std::make_unique<intent::NluParser>(config.inventory));
    } else if (name == "llm") {
      if (!config.llm) {
        throw ConfigError(config.source + ": the llm parser needs an `llm:` section with a connection");
      }
      if (setup.http == nullptr) {
        throw ConfigError("the llm parser needs an HTTP client (internal)");
      }
      intent::LlmConfig llm = intent::parse_llm_config(*config.llm);
      if (setup.connection) {
        if (llm.connections.count(*setup.connection) == 0) {
          throw ConfigError("no llm connection named '" + *setup.connection + "' in " + config.source);
        }
        llm.connection = *setup.connection;
      }
      if (setup.prompt) {
        llm.prompt = intent::load_prompt(*setup.prompt);
      }
      options.accounting = std::make_shared<intent::LlmAccounting>(llm, setup.metrics);
      options.llm_unaddressed = llm.unaddressed;
      if (setup.accounting_out != nullptr) {
        *setup.accounting_out = options.accounting;
      }
      parsers.push_back(std::make_unique<intent::LlmParser>(llm.active(), llm.prompt, llm.prices, llm.context_turns,
                                                            config.inventory, *setup.http));
    } else {
      throw ConfigError("unknown parser '" + name + "' (available: command, nlu, llm)");
    }
  }
  return std::make_unique<intent::IntentCascade>(std::move(parsers), config.inventory,
                                                 setup.min_confidence.value_or(config.intent.min_confidence),
                                                 std::move(options));
}

std::shared_ptr<const PolicyEngine> build_policy(const Config& config) {
  if (!config.policy) {
    // Deny by default: with no policy nothing but help and whoami happens.
    return policies::load_rbac_policy(ConfigNode::parse("roles: {}\n", "<no policy configured>"), config.inventory);
  }
  const ConfigNode& node = *config.policy;
  if (!node.has("file")) {
    return policies::load_rbac_policy(node, config.inventory);  // the policy written inline
  }
  const std::string path = node.str("file");
  node.finish();
  if (!std::filesystem::exists(path) && config.source == kEmbeddedName && path == "config/policy.yaml") {
    // The embedded demo carries its policy, so `opsgate serve` works anywhere.
    return policies::load_rbac_policy(ConfigNode::parse(std::string(kEmbeddedDemoPolicy), std::string(kEmbeddedPolicyName)),
                                      config.inventory);
  }
  if (!std::filesystem::exists(path)) {
    node.fail("file", "no policy file at " + path + " (paths are relative to the directory opsgate runs in)");
  }
  return policies::load_rbac_policy(ConfigNode::load_file(path), config.inventory);
}

Components build_components(const Config& config, boost::asio::any_io_executor executor) {
  Components c;
  c.http = std::make_unique<net::HttpClient>();
  ParserSetup setup;
  setup.http = c.http.get();
  setup.metrics = c.metrics.get();
  setup.clock = c.clock;
  setup.accounting_out = &c.llm_accounting;
  c.parser = build_parser(config, setup);
  std::string parsers;
  for (const auto& name : config.intent.parsers) {
    parsers += (parsers.empty() ? "" : " → ") + name;
  }
  c.notes.push_back("intent: " + parsers);
  if (config.llm) {
    // Validated even when no parser uses it, so `config check` finds mistakes early.
    const intent::LlmConfig llm = intent::parse_llm_config(*config.llm);
    const intent::LlmConnection& active = llm.active();
    c.context_turns = c.llm_accounting ? llm.context_turns : 0;
    c.notes.push_back(std::string(c.llm_accounting ? "llm" : "llm (not in intent.parsers)") + ": connection " + active.name + " (" + active.type + ", " + active.url() + ", model " +
                      active.model_name() + ", key " + (active.api_key.empty() ? "none" : active.api_key.source()) +
                      "), prompt " + llm.prompt.path + " " + llm.prompt.version);
  }

  c.policy = build_policy(config);
  const auto* rbac = dynamic_cast<const policies::RbacPolicy*>(c.policy.get());
  c.notes.push_back(config.policy ? "policy: " + rbac->source() + " (" + std::to_string(rbac->rule_count()) + " rules)"
                                  : "policy: none configured — everything but help and whoami is denied");

  if (config.server) {
    c.server = net::parse_http_server_config(*config.server);
  }
  c.notes.push_back("http: " + c.server.listen + " (/healthz, /readyz, /metrics)");

  std::optional<adapters::slack::SlackConfig> slack;
  c.replays = std::make_shared<audit::ReplayStore>(config.storage_path, std::chrono::hours(1));
  if (config.adapters) {
    for (const auto& [name, node] : config.adapters->entries()) {
      if (name == "shell") {
        c.shell = adapters::shell::parse_shell_config(node);
      } else if (name == "slack") {
        slack = adapters::slack::parse_slack_config(node);
      } else if (name == "teams") {
        auto teams_config = adapters::teams::parse_teams_config(node);
        c.notes.push_back("adapters: teams on " + teams_config.path + " (app " + teams_config.app_id + ", tenant " +
                          teams_config.tenant + ")");
        auto teams = adapters::teams::make_teams_adapter(std::move(teams_config), executor, *c.http, *c.clock, c.replays);
        auto* routes = teams.get();
        c.chat_adapters.push_back(
            ChatAdapter{std::move(teams), [routes](net::HttpServer& server, EventSink& sink) { routes->install_routes(server, sink); }});
      } else if (name == "discord") {
        auto discord = adapters::discord::parse_discord_config(node);
        c.notes.push_back(std::string("adapters: discord ") + (discord.enabled ? "on" : "off") + " (" +
                          adapters::discord::kInteractionsPath +
                          (discord.enabled && discord.gateway ? ", gateway" : "") + ")");
        if (discord.enabled) {
          auto adapter = adapters::discord::make_discord_adapter(std::move(discord), executor, *c.http, *c.clock, c.replays);
          auto* routes = adapter.get();
          c.chat_adapters.push_back(
              ChatAdapter{std::move(adapter), [routes](net::HttpServer& server, EventSink& sink) { routes->install_routes(server, sink); }});
        }
      } else {
        config.adapters->fail(name, "unknown adapter '" + name + "' (available: shell, slack, teams, discord)");
      }
    }
  }
  c.notes.push_back(std::string("adapters: shell ") + (c.shell.enabled ? "on" : "off") +
                    (c.shell.allow_impersonation ? " (impersonation allowed)" : ""));

  c.actions.add(make_audit_show_action(config.storage_path, config.inventory));
  if (slack && slack->enabled) {
    c.notes.push_back("adapters: slack (" + slack->mode + " mode, Web API " + slack->api_base + ")");
    auto adapter = adapters::slack::make_slack_adapter(
        *slack, adapters::slack::SlackServices{executor, *c.http, c.clock, c.replays});
    c.replays->widen_window(slack->dedup_window);
    auto* routes = adapter.get();
    c.chat_adapters.push_back(ChatAdapter{
        std::move(adapter), [routes](net::HttpServer& server, EventSink& sink) { routes->install_routes(server, sink); }});
  }
  auto add = [&](std::unique_ptr<Action> action, const ConfigNode& node, const std::string& backend) {
    const std::string action_name = action->spec().name;
    if (!c.actions.add(std::move(action))) {
      node.fail_here("a second backend for " + action_name + " (each action has one backend)");
    }
    c.notes.push_back("action: " + action_name + " via " + backend);
  };
  std::optional<actions::prometheus::PrometheusConfig> prometheus_config;  // for triage
  std::string logs_backend = "the log backend";
  if (config.actions) {
    for (const auto& [name, node] : config.actions->entries()) {
      if (name == "timeout" || name == "triage") {
        continue;  // read by load_config; triage composes the others, built below
      }
      if (name == "exec") {
        for (auto& action : actions::exec::make_exec_actions(actions::exec::parse_exec_config(node), config.inventory, executor)) {
          add(std::move(action), node, "exec");
        }
      } else if (name == "prometheus") {
        const auto prometheus = actions::prometheus::parse_prometheus_config(node);
        prometheus_config = prometheus;
        for (auto& action : actions::prometheus::make_prometheus_actions(prometheus, config.inventory, *c.http, c.clock)) {
          add(std::move(action), node, "prometheus " + prometheus.connection.url);
        }
      } else if (name == "loki") {
        const auto loki = actions::loki::parse_loki_config(node);
        logs_backend = "Loki";
        add(actions::loki::make_loki_logs_action(loki, config.inventory, *c.http, *c.clock), node,
            "loki " + loki.connection.url);
      } else if (name == "kubernetes") {
        const auto kubernetes = actions::kubernetes::parse_kubernetes_config(node, *config.inventory);
        std::string clusters;
        for (const auto& [env, cluster] : kubernetes.clusters) {
          clusters += (clusters.empty() ? "" : ", ") + env + "=" + cluster.api_server;
        }
        for (auto& action :
             actions::kubernetes::make_kubernetes_actions(kubernetes, config.inventory, *c.http, *c.clock)) {
          add(std::move(action), node, "kubernetes (" + clusters + ")");
        }
      } else if (name == "logfile") {
        logs_backend = "the log files";
        add(actions::loki::make_file_logs_action(actions::loki::parse_logfile_config(node), config.inventory, *c.clock),
            node, "log files");
      } else {
        config.actions->fail(name, "unknown action backend '" + name +
                                       "' (available: exec, kubernetes, prometheus, loki, logfile, triage)");
      }
    }
    // Triage reads through the others, so it is built once they are registered.
    if (const auto node = config.actions->optional_child("triage")) {
      actions::triage::TriageSources sources;
      if (prometheus_config) {
        sources.prometheus =
            std::make_shared<actions::prometheus::PrometheusReader>(*prometheus_config, config.inventory, *c.http);
      }
      sources.alerts = c.actions.find("alerts.list");
      sources.logs = c.actions.find("logs.search");
      sources.rollout = c.actions.find("rollout.status");
      sources.logs_backend = logs_backend;
      sources.deploy_histories.push_back(make_audit_deploy_history(config.storage_path));
      sources.clock = c.clock;
      add(actions::triage::make_triage_action(actions::triage::parse_triage_config(*node), config.inventory,
                                              std::move(sources)),
          *node, "prometheus, alerts, logs and the audit log");
    }
  }
  if (config.alertmanager) {
    c.alertmanager = parse_alert_webhook_config(*config.alertmanager, *config.inventory);
    c.notes.push_back("alertmanager: POST /alertmanager (bearer token from " + c.alertmanager->token.source() +
                      "), triage as " + c.alertmanager->principal);
  }
  if (config.gates) {
    c.gates = gates::parse_gates_config(*config.gates, *config.inventory);
    c.notes.push_back("gates: " + std::to_string(c.gates->clients.size()) + " API client(s) on /api/v1/gates");
  }
  c.warnings = check_cross_sections(config, c);
  return c;
}

}  // namespace opsgate::app
