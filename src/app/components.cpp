#include "src/app/components.hpp"

#include "actions/exec/exec_action.hpp"
#include "adapters/discord/discord_adapter.hpp"
#include "actions/loki/logs_action.hpp"
#include "actions/prometheus/prometheus_actions.hpp"
#include <filesystem>

#include "policies/rbac_policy.hpp"
#include "src/app/app_config.hpp"
#include "src/app/audit_show_action.hpp"
#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
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
  c.parser = build_parser(config);
  std::string parsers;
  for (const auto& name : config.intent.parsers) {
    parsers += (parsers.empty() ? "" : " → ") + name;
  }
  c.notes.push_back("intent: " + parsers);

  c.policy = build_policy(config);
  const auto* rbac = dynamic_cast<const policies::RbacPolicy*>(c.policy.get());
  c.notes.push_back(config.policy ? "policy: " + rbac->source() + " (" + std::to_string(rbac->rule_count()) + " rules)"
                                  : "policy: none configured — everything but help and whoami is denied");

  if (config.server) {
    c.server = net::parse_http_server_config(*config.server);
  }
  c.notes.push_back("http: " + c.server.listen + " (/healthz, /readyz)");

  if (config.adapters) {
    for (const auto& [name, node] : config.adapters->entries()) {
      if (name == "shell") {
        c.shell = adapters::shell::parse_shell_config(node);
      } else if (name == "discord") {
        auto discord = adapters::discord::parse_discord_config(node);
        c.notes.push_back(std::string("adapters: discord ") + (discord.enabled ? "on" : "off") + " (" +
                          adapters::discord::kInteractionsPath +
                          (discord.enabled && discord.gateway ? ", gateway" : "") + ")");
        if (discord.enabled) {
          if (!c.http) {
            c.http = std::make_unique<net::HttpClient>();
          }
          auto adapter = adapters::discord::make_discord_adapter(std::move(discord), executor, *c.http);
          auto* routes = adapter.get();
          c.chat_adapters.push_back(
              ChatAdapter{std::move(adapter), [routes](net::HttpServer& server, EventSink& sink) { routes->install_routes(server, sink); }});
        }
      } else {
        config.adapters->fail(name, "unknown adapter '" + name + "' (available: shell)");
      }
    }
  }
  c.notes.push_back(std::string("adapters: shell ") + (c.shell.enabled ? "on" : "off") +
                    (c.shell.allow_impersonation ? " (impersonation allowed)" : ""));

  c.actions.add(make_audit_show_action(config.storage_path, config.inventory));
  if (!c.http) {
    c.http = std::make_unique<net::HttpClient>();
  }
  auto add = [&](std::unique_ptr<Action> action, const ConfigNode& node, const std::string& backend) {
    const std::string action_name = action->spec().name;
    if (!c.actions.add(std::move(action))) {
      node.fail_here("a second backend for " + action_name + " (each action has one backend)");
    }
    c.notes.push_back("action: " + action_name + " via " + backend);
  };
  if (config.actions) {
    for (const auto& [name, node] : config.actions->entries()) {
      if (name == "timeout") {
        continue;  // read by load_config
      }
      if (name == "exec") {
        for (auto& action : actions::exec::make_exec_actions(actions::exec::parse_exec_config(node), config.inventory, executor)) {
          add(std::move(action), node, "exec");
        }
      } else if (name == "prometheus") {
        const auto prometheus = actions::prometheus::parse_prometheus_config(node);
        for (auto& action : actions::prometheus::make_prometheus_actions(prometheus, config.inventory, *c.http, c.clock)) {
          add(std::move(action), node, "prometheus " + prometheus.connection.url);
        }
      } else if (name == "loki") {
        const auto loki = actions::loki::parse_loki_config(node);
        add(actions::loki::make_loki_logs_action(loki, config.inventory, *c.http, *c.clock), node,
            "loki " + loki.connection.url);
      } else if (name == "logfile") {
        add(actions::loki::make_file_logs_action(actions::loki::parse_logfile_config(node), config.inventory, *c.clock),
            node, "log files");
      } else {
        config.actions->fail(name, "unknown action backend '" + name + "' (available: exec, prometheus, loki, logfile)");
      }
    }
  }
  return c;
}

}  // namespace opsgate::app
