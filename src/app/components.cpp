#include "src/app/components.hpp"

#include <filesystem>
#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "actions/exec/exec_action.hpp"
#include "actions/kubernetes/kubernetes_actions.hpp"
#include "actions/loki/logs_action.hpp"
#include "actions/prometheus/prometheus_actions.hpp"
#include "actions/triage/triage_action.hpp"
#include "adapters/discord/discord_adapter.hpp"
#include "adapters/slack/slack_adapter.hpp"
#include "adapters/teams/teams_adapter.hpp"
#include "policies/rbac_policy.hpp"
#include "src/app/app_config.hpp"
#include "src/app/audit_deploy_history.hpp"
#include "src/app/audit_show_action.hpp"
#include "src/app/cross_checks.hpp"
#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
#include "src/intent/llm_accounting.hpp"
#include "src/intent/llm_parser.hpp"
#include "src/intent/nlu_parser.hpp"

namespace opsgate::app {

namespace {

// "a, b, c" from a table's names, for "unknown …  (available: …)".
template <typename Table>
std::string names_of(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    out += (out.empty() ? "" : ", ") + std::string(entry.name);
  }
  return out;
}

template <typename Table>
const auto* find_entry(const Table& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return static_cast<decltype(&table[0])>(nullptr);
}

// ---- intent parsers: `intent.parsers`, in cascade order -------------------

struct ParserBuild {
  const Config& config;
  const ParserSetup& setup;
  intent::CascadeOptions& options;  // the llm parser sets its accounting here
};

std::unique_ptr<IntentParser> make_command_parser(ParserBuild& build) {
  return std::make_unique<intent::CommandParser>(build.config.inventory);
}

std::unique_ptr<IntentParser> make_nlu_parser(ParserBuild& build) {
  return std::make_unique<intent::NluParser>(build.config.inventory);
}

std::unique_ptr<IntentParser> make_llm_parser(ParserBuild& build) {
  const Config& config = build.config;
  const ParserSetup& setup = build.setup;
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
  build.options.accounting = std::make_shared<intent::LlmAccounting>(llm, setup.metrics);
  build.options.llm_unaddressed = llm.unaddressed;
  if (setup.accounting_out != nullptr) {
    *setup.accounting_out = build.options.accounting;
  }
  return std::make_unique<intent::LlmParser>(llm.active(), llm.prompt, llm.prices, llm.context_turns, config.inventory,
                                             *setup.http);
}

struct ParserEntry {
  std::string_view name;
  std::unique_ptr<IntentParser> (*make)(ParserBuild&);
};

constexpr ParserEntry kParsers[] = {
    {"command", make_command_parser},
    {"nlu", make_nlu_parser},
    {"llm", make_llm_parser},
};

// ---- what every section builder reads and fills ---------------------------

struct SectionBuild {
  const Config& config;
  boost::asio::any_io_executor executor;
  Components& out;
  // Read by triage, which composes the other backends.
  std::optional<actions::prometheus::PrometheusConfig> prometheus;
  std::string logs_backend;  // "the log backend" until loki or logfile names it

  void add_action(std::unique_ptr<Action> action, const ConfigNode& node, const std::string& backend) {
    const std::string action_name = action->spec().name;
    if (!out.actions.add(std::move(action))) {
      node.fail_here("a second backend for " + action_name + " (each action has one backend)");
    }
    out.notes.push_back("action: " + action_name + " via " + backend);
  }
};

// ---- adapters: `adapters.<name>` ------------------------------------------

void add_shell(const ConfigNode& node, SectionBuild& build) {
  build.out.shell = adapters::shell::parse_shell_config(node);
}

void add_slack(const ConfigNode& node, SectionBuild& build) {
  const auto slack = adapters::slack::parse_slack_config(node);
  if (!slack.enabled) {
    return;
  }
  Components& c = build.out;
  c.notes.push_back("adapters: slack (" + slack.mode + " mode, Web API " + slack.api_base + ")");
  c.replays->widen_window(slack.dedup_window);
  c.chat_adapters.push_back(adapters::slack::make_slack_adapter(
      slack, adapters::slack::SlackServices{build.executor, *c.http, c.clock, c.replays}));
}

void add_teams(const ConfigNode& node, SectionBuild& build) {
  Components& c = build.out;
  auto teams = adapters::teams::parse_teams_config(node);
  c.notes.push_back("adapters: teams on " + teams.path + " (app " + teams.app_id + ", tenant " + teams.tenant + ")");
  c.chat_adapters.push_back(
      adapters::teams::make_teams_adapter(std::move(teams), build.executor, *c.http, *c.clock, c.replays));
}

void add_discord(const ConfigNode& node, SectionBuild& build) {
  Components& c = build.out;
  auto discord = adapters::discord::parse_discord_config(node);
  c.notes.push_back(std::string("adapters: discord ") + (discord.enabled ? "on" : "off") + " (" +
                    adapters::discord::kInteractionsPath + (discord.enabled && discord.gateway ? ", gateway" : "") +
                    ")");
  if (discord.enabled) {
    c.chat_adapters.push_back(
        adapters::discord::make_discord_adapter(std::move(discord), build.executor, *c.http, *c.clock, c.replays,
                                               c.leadership));
  }
}

struct SectionEntry {
  std::string_view name;
  void (*add)(const ConfigNode& node, SectionBuild& build);
  // Built after every other section of its kind (it reads what they registered).
  bool reads_the_others = false;
};

constexpr SectionEntry kAdapters[] = {
    {"shell", add_shell},
    {"slack", add_slack},
    {"teams", add_teams},
    {"discord", add_discord},
};

// ---- action backends: `actions.<name>` ------------------------------------

void add_exec(const ConfigNode& node, SectionBuild& build) {
  const Config& config = build.config;
  for (auto& action :
       actions::exec::make_exec_actions(actions::exec::parse_exec_config(node), config.inventory, build.executor)) {
    build.add_action(std::move(action), node, "exec");
  }
}

void add_prometheus(const ConfigNode& node, SectionBuild& build) {
  const Config& config = build.config;
  const auto prometheus = actions::prometheus::parse_prometheus_config(node);
  build.prometheus = prometheus;
  for (auto& action :
       actions::prometheus::make_prometheus_actions(prometheus, config.inventory, *build.out.http, build.out.clock)) {
    build.add_action(std::move(action), node, "prometheus " + prometheus.connection.url);
  }
}

void add_loki(const ConfigNode& node, SectionBuild& build) {
  const auto loki = actions::loki::parse_loki_config(node);
  build.logs_backend = "Loki";
  build.add_action(
      actions::loki::make_loki_logs_action(loki, build.config.inventory, *build.out.http, *build.out.clock), node,
      "loki " + loki.connection.url);
}

void add_kubernetes(const ConfigNode& node, SectionBuild& build) {
  const Config& config = build.config;
  const auto kubernetes = actions::kubernetes::parse_kubernetes_config(node, *config.inventory);
  std::string clusters;
  for (const auto& [env, cluster] : kubernetes.clusters) {
    clusters += (clusters.empty() ? "" : ", ") + env + "=" + cluster.api_server;
  }
  for (auto& action :
       actions::kubernetes::make_kubernetes_actions(kubernetes, config.inventory, *build.out.http, *build.out.clock)) {
    build.add_action(std::move(action), node, "kubernetes (" + clusters + ")");
  }
}

void add_logfile(const ConfigNode& node, SectionBuild& build) {
  build.logs_backend = "the log files";
  build.add_action(actions::loki::make_file_logs_action(actions::loki::parse_logfile_config(node),
                                                        build.config.inventory, *build.out.clock),
                   node, "log files");
}

void add_triage(const ConfigNode& node, SectionBuild& build) {
  const Config& config = build.config;
  Components& c = build.out;
  actions::triage::TriageSources sources;
  if (build.prometheus) {
    sources.prometheus = std::make_shared<actions::prometheus::PrometheusReader>(*build.prometheus, config.inventory,
                                                                                  *c.http);
  }
  sources.alerts = c.actions.find("alerts.list");
  sources.logs = c.actions.find("logs.search");
  sources.rollout = c.actions.find("rollout.status");
  sources.logs_backend = build.logs_backend;
  sources.deploy_histories.push_back(make_audit_deploy_history(audit_source(config)));
  sources.clock = c.clock;
  build.add_action(
      actions::triage::make_triage_action(actions::triage::parse_triage_config(node), config.inventory,
                                          std::move(sources)),
      node, "prometheus, alerts, logs and the audit log");
}

constexpr SectionEntry kActionBackends[] = {
    {"exec", add_exec},
    {"kubernetes", add_kubernetes},
    {"prometheus", add_prometheus},
    {"loki", add_loki},
    {"logfile", add_logfile},
    {"triage", add_triage, true},
};

// Builds each entry of `section` (`adapters` or `actions`) with its table's
// builder, in the config's order; those that read the others go last.
// `settings` are keys of the section that are not extensions.
template <std::size_t N>
void build_section(const ConfigNode& section, const SectionEntry (&table)[N], std::string_view kind,
                   std::initializer_list<std::string_view> settings, SectionBuild& build) {
  std::vector<std::pair<const SectionEntry*, ConfigNode>> last;
  for (const auto& [name, node] : section.entries()) {
    if (std::find(settings.begin(), settings.end(), name) != settings.end()) {
      continue;
    }
    const SectionEntry* entry = find_entry(table, name);
    if (entry == nullptr) {
      section.fail(name, "unknown " + std::string(kind) + " '" + name + "' (available: " + names_of(table) + ")");
    }
    if (entry->reads_the_others) {
      last.emplace_back(entry, node);
      continue;
    }
    entry->add(node, build);
  }
  for (const auto& [entry, node] : last) {
    entry->add(node, build);
  }
}

// The policy as its concrete type, so start-up can say what it loaded.
std::shared_ptr<const policies::RbacPolicy> load_policy(const Config& config) {
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
    return policies::load_rbac_policy(
        ConfigNode::parse(std::string(kEmbeddedDemoPolicy), std::string(kEmbeddedPolicyName)), config.inventory);
  }
  if (!std::filesystem::exists(path)) {
    node.fail("file", "no policy file at " + path + " (paths are relative to the directory opsgate runs in)");
  }
  return policies::load_rbac_policy(ConfigNode::load_file(path), config.inventory);
}

}  // namespace

std::unique_ptr<IntentParser> build_parser(const Config& config, const ParserSetup& setup) {
  const std::vector<std::string> names = setup.parsers.value_or(config.intent.parsers);
  intent::CascadeOptions options;
  options.clock = setup.clock;
  ParserBuild build{config, setup, options};
  std::vector<std::unique_ptr<IntentParser>> parsers;
  for (const auto& name : names) {
    const ParserEntry* entry = find_entry(kParsers, name);
    if (entry == nullptr) {
      const std::string what = "unknown parser '" + name + "' (available: " + names_of(kParsers) + ")";
      if (!setup.parsers && config.intent.node) {
        config.intent.node->fail("parsers", what);
      }
      throw ConfigError(what);
    }
    parsers.push_back(entry->make(build));
  }
  return std::make_unique<intent::IntentCascade>(std::move(parsers), config.inventory,
                                                 setup.min_confidence.value_or(config.intent.min_confidence),
                                                 std::move(options));
}

std::shared_ptr<const PolicyEngine> build_policy(const Config& config) { return load_policy(config); }

Components build_components(const Config& config, boost::asio::any_io_executor executor) {
  Components c;
  c.leadership = std::make_shared<Leadership>(leadership_options(config));
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
    c.notes.push_back(std::string(c.llm_accounting ? "llm" : "llm (not in intent.parsers)") + ": connection " +
                      active.name + " (" + active.type + ", " + active.url() + ", model " + active.model_name() +
                      ", key " + (active.api_key.empty() ? "none" : active.api_key.source()) + "), prompt " +
                      llm.prompt.path + " " + llm.prompt.version);
  }

  const auto policy = load_policy(config);
  c.policy = policy;
  c.notes.push_back(config.policy ? "policy: " + policy->source() + " (" + std::to_string(policy->rule_count()) + " rules)"
                                  : "policy: none configured — everything but help and whoami is denied");

  if (config.server) {
    c.server = net::parse_http_server_config(*config.server);
  }
  c.notes.push_back("http: " + c.server.listen + " (/healthz, /readyz, /metrics)");

  c.replays = std::make_shared<audit::ReplayStore>(config.storage_path, std::chrono::hours(1));
  SectionBuild build{config, executor, c, std::nullopt, "the log backend"};
  if (config.adapters) {
    build_section(*config.adapters, kAdapters, "adapter", {}, build);
  }
  c.notes.push_back(std::string("adapters: shell ") + (c.shell.enabled ? "on" : "off") +
                    (c.shell.allow_impersonation ? " (impersonation allowed)" : ""));

  c.actions.add(make_audit_show_action(audit_source(config), config.inventory));
  if (config.actions) {
    // `timeout` is a setting of the section (read by load_config), not a backend.
    build_section(*config.actions, kActionBackends, "action backend", {"timeout"}, build);
  }
  if (config.alertmanager) {
    c.alertmanager = alertmanager::parse_alert_webhook_config(*config.alertmanager, *config.inventory);
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
