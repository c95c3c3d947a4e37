#include "src/app/components.hpp"

#include "actions/exec/exec_action.hpp"
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
      } else {
        config.adapters->fail(name, "unknown adapter '" + name + "' (available: shell)");
      }
    }
  }
  c.notes.push_back(std::string("adapters: shell ") + (c.shell.enabled ? "on" : "off") +
                    (c.shell.allow_impersonation ? " (impersonation allowed)" : ""));

  c.actions.add(make_audit_show_action(config.storage_path, config.inventory));
  if (config.actions) {
    for (const auto& [name, node] : config.actions->entries()) {
      if (name == "timeout") {
        continue;  // read by load_config
      }
      if (name != "exec") {
        config.actions->fail(name, "unknown action backend '" + name + "' (available: exec)");
      }
      const auto exec_config = actions::exec::parse_exec_config(node);
      for (auto& action : actions::exec::make_exec_actions(exec_config, config.inventory, executor)) {
        const std::string action_name = action->spec().name;
        if (!c.actions.add(std::move(action))) {
          node.fail("commands", "two backends configured for " + action_name);
        }
        c.notes.push_back("action: " + action_name + " via exec");
      }
    }
  }
  return c;
}

}  // namespace opsgate::app
