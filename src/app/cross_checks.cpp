#include "src/app/cross_checks.hpp"

#include <set>

#include "src/core/action_catalogue.hpp"
#include <fmt/format.h>

namespace opsgate::app {

namespace {

std::set<std::string> enabled_platforms(const Components& c) {
  std::set<std::string> out;
  if (c.shell.enabled) {
    out.insert("shell");
  }
  for (const auto& chat : c.chat_adapters) {
    out.insert(std::string(chat->platform()));
  }
  return out;
}

std::string listed(const std::set<std::string>& names) {
  return names.empty() ? "none" : fmt::to_string(fmt::join(names, ", "));
}

// A warning in the same file:line: key: form as the errors.
std::string warning_at(const ConfigNode& node, const std::string& key, const std::string& what) {
  try {
    node.fail(key, what);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return what;  // not reached: fail() always throws
}

void check_channel(const ConfigNode& node, const std::string& key, const ChannelRef& channel,
                   const std::set<std::string>& platforms, std::vector<std::string>& warnings) {
  if (platforms.count(channel.platform) == 0) {
    warnings.push_back(warning_at(node, key, "posts to " + channel.platform + ":" + channel.channel + ", but no " +
                                                 channel.platform + " adapter is enabled (adapters." + channel.platform +
                                                 "; enabled: " + listed(platforms) +
                                                 "), so these alerts will be answered 502 and not posted"));
  }
}

void check_alertmanager(const Config& config, const Components& c, std::vector<std::string>& warnings) {
  const ConfigNode& node = *config.alertmanager;
  const alertmanager::AlertWebhookConfig& alerts = *c.alertmanager;
  const std::set<std::string> platforms = enabled_platforms(c);
  const ConfigNode channels = node.child("channels");
  if (alerts.channels.default_channel) {
    check_channel(channels, "default", *alerts.channels.default_channel, platforms, warnings);
  }
  if (const auto teams = channels.optional_child("teams")) {
    for (const auto& [team, channel] : alerts.channels.team_channels) {
      check_channel(*teams, team, channel, platforms, warnings);
    }
  }
  if (const auto targets = channels.optional_child("targets")) {
    for (const auto& [target, channel] : alerts.channels.target_channels) {
      check_channel(*targets, target, channel, platforms, warnings);
    }
  }
  if (!alerts.triage) {
    return;
  }
  if (c.actions.find("triage") == nullptr) {
    node.fail("triage", std::string(node.has("triage") ? "is true" : "is on by default") +
                            ", but no `triage` action is configured, so every alert would say \"Triage follows\" and "
                            "then \"`triage` is not configured\": add an `actions.triage` section (config/example.yaml), "
                            "or set `alertmanager.triage: false` to post alerts only");
  }
  // The pipeline refuses a system request the policy does not allow; one
  // target and environment it does allow is enough to be useful.
  const ActionSpec* spec = find_action("triage");
  Principal principal;
  principal.id = alerts.principal;
  const RequestContext context{"", "", c.clock->now()};
  for (const auto& target : config.inventory->target_names()) {
    for (const auto& env : config.inventory->env_names()) {
      const ActionRequest request("triage", {{"target", target}, {"env", env}});
      if (c.policy->evaluate(principal, *spec, request, context).effect == Effect::allow) {
        return;
      }
    }
  }
  node.fail(node.has("principal") ? "principal" : "triage",
            "the policy allows " + alerts.principal + " to run triage for no target, so every alert's triage would be "
            "denied: bind it to a role with `actions: [triage]` (policy: roles: {alert-triage: {actions: [triage]}}, "
            "bindings: [{subjects: [" + alerts.principal + "], roles: [alert-triage]}]), or set "
            "`alertmanager.triage: false`");
}

void check_triage_sources(const Config& config, const Components& c) {
  if (!config.actions || !config.actions->has("triage") || c.actions.find("triage") == nullptr) {
    return;
  }
  for (const char* source : {"metrics.query", "alerts.list", "logs.search", "rollout.status"}) {
    if (c.actions.find(source) != nullptr) {
      return;
    }
  }
  config.actions->fail("triage", "triage reads metrics, alerts, logs and rollouts, but none of them is configured: "
                                 "add actions.prometheus, and a log backend (actions.loki or actions.logfile)");
}

}  // namespace

std::vector<std::string> check_cross_sections(const Config& config, const Components& components) {
  std::vector<std::string> warnings;
  check_triage_sources(config, components);
  if (config.alertmanager && components.alertmanager) {
    check_alertmanager(config, components, warnings);
  }
  return warnings;
}

}  // namespace opsgate::app
