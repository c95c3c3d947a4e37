#include "src/core/config.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "src/core/duration.hpp"

namespace opsgate {

namespace {

const std::regex kNameRe("^[a-z0-9][a-z0-9-]{0,62}$");

std::string fill(std::string text, const std::string& target, const std::string& env, const std::string& ns) {
  const std::pair<std::string, std::string> vars[] = {{"{target}", target}, {"{env}", env}, {"{namespace}", ns}};
  for (const auto& [key, value] : vars) {
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size())) {
      text.replace(at, key.size(), value);
    }
  }
  return text;
}

struct PlacementTemplate {
  std::string namespace_name = "{env}";
  std::string deployment = "{target}";
  std::string prometheus_selector = "app=\"{target}\",namespace=\"{namespace}\"";
  std::string loki_selector = "{app=\"{target}\",namespace=\"{namespace}\"}";
};

// Reads the placement keys present in `node` over `base`.
PlacementTemplate read_placement(const ConfigNode& node, PlacementTemplate base) {
  base.namespace_name = node.str_or("namespace", base.namespace_name);
  base.deployment = node.str_or("deployment", base.deployment);
  base.prometheus_selector = node.str_or("prometheus_selector", base.prometheus_selector);
  base.loki_selector = node.str_or("loki_selector", base.loki_selector);
  return base;
}

void check_selector(const ConfigNode& node, const std::string& key, const std::string& value, bool braces) {
  if (value.empty()) {
    node.fail(key, "must not be empty");
  }
  const bool has_braces = value.front() == '{' && value.back() == '}';
  if (braces && !has_braces) {
    node.fail(key, "a Loki stream selector needs braces, e.g. {app=\"checkout\"}; got '" + value + "'");
  }
  if (!braces && has_braces) {
    node.fail(key, "write Prometheus label matchers without braces, e.g. app=\"checkout\"; got '" + value + "'");
  }
}

// storage.postgres.leader_lease: {ttl, safety_margin}. The leader renews
// every ttl/3 and stops leader-only work at ttl - safety_margin after a
// renewal was sent; Leadership refuses a margin over half the ttl.
void read_leader_lease(const ConfigNode& lease, PostgresStorage& pg) {
  if (!lease.is_map()) {
    lease.fail_here("expected a mapping such as {ttl: 15s, safety_margin: 5s}");
  }
  pg.lease_ttl = lease.duration_or("ttl", pg.lease_ttl);
  if (pg.lease_ttl < std::chrono::seconds(3) || pg.lease_ttl > std::chrono::seconds(600)) {
    lease.fail("ttl", "must be between 3s and 10m (the leader renews every ttl/3; a standby takes over at most a ttl "
                      "after the leader dies), got " + format_duration(pg.lease_ttl.count()));
  }
  pg.lease_safety_margin = lease.duration_or("safety_margin", pg.lease_safety_margin);
  if (pg.lease_safety_margin < std::chrono::seconds(1) || pg.lease_safety_margin * 2 > pg.lease_ttl) {
    lease.fail("safety_margin",
               "must be at least 1s and at most half the ttl (" + format_duration(pg.lease_ttl.count()) +
                   "), got " + format_duration(pg.lease_safety_margin.count()) +
                   ": the leader stops leader-only work this long before the lease could pass to another replica");
  }
  lease.finish();
}

// storage.backend and storage.postgres.
void read_storage_backend(const ConfigNode& storage, Config& config) {
  const std::string backend = storage.str_or("backend", "sqlite");
  if (backend == "sqlite") {
    if (storage.has("postgres")) {
      storage.fail("postgres", "is used only with backend: postgres (the backend is sqlite)");
    }
    return;
  }
  if (backend != "postgres") {
    storage.fail("backend", "expected sqlite or postgres, got '" + backend + "'");
  }
  if (!storage.has("postgres")) {
    storage.fail("backend", "postgres needs storage.postgres.dsn, e.g. postgres: {dsn: {env: OPSGATE_PG_DSN}}");
  }
  config.storage_backend = StorageBackend::postgres;
  const ConfigNode node = storage.child("postgres");
  PostgresStorage pg;
  pg.dsn = node.secret("dsn");
  if (pg.dsn.empty()) {
    node.fail("dsn", "is empty; give a libpq connection string such as host=db port=5432 dbname=opsgate user=opsgate");
  }
  pg.pool_size = static_cast<std::size_t>(node.integer_or("pool_size", 4, 1, 64));
  pg.connect_timeout = node.duration_or("connect_timeout", pg.connect_timeout);
  if (pg.connect_timeout < std::chrono::seconds(1) || pg.connect_timeout > std::chrono::seconds(300)) {
    node.fail("connect_timeout", "must be between 1s and 300s");
  }
  pg.statement_timeout = node.duration_or("statement_timeout", pg.statement_timeout);
  if (pg.statement_timeout < std::chrono::seconds(1) || pg.statement_timeout > std::chrono::seconds(3600)) {
    node.fail("statement_timeout", "must be between 1s and 1h");
  }
  if (auto lease = node.optional_child("leader_lease")) {
    read_leader_lease(*lease, pg);
  }
  node.finish();
  config.postgres = std::move(pg);
}

}  // namespace

Inventory load_inventory(const ConfigNode& root) {
  std::vector<Environment> envs;
  std::set<std::string> taken;  // every name, alias and synonym, lowercased
  const ConfigNode env_node = root.child("environments");
  for (const auto& [name, node] : env_node.entries()) {
    if (!std::regex_match(name, kNameRe)) {
      env_node.fail(name, "an environment name must be lowercase letters, digits and '-'");
    }
    Environment env{name, {}};
    if (node.is_map()) {
      env.synonyms = node.strings_or("synonyms");
      node.finish();
    } else if (!node.raw().IsNull()) {
      env_node.fail(name, "expected a mapping such as {synonyms: [production]} or nothing");
    }
    for (const auto& word : std::vector<std::string>{env.name} ) {
      if (!taken.insert(to_lower(word)).second) {
        env_node.fail(name, "'" + word + "' is used twice");
      }
    }
    for (const auto& word : env.synonyms) {
      if (!taken.insert(to_lower(word)).second) {
        env_node.fail(name, "the synonym '" + word + "' is already used by another environment");
      }
    }
    envs.push_back(std::move(env));
  }
  if (envs.empty()) {
    env_node.fail_here("declare at least one environment");
  }

  const std::string default_env = root.str_or("default_env", envs.front().name);
  bool default_known = false;
  for (const auto& env : envs) {
    default_known = default_known || env.name == default_env;
  }
  if (!default_known) {
    root.fail("default_env", "'" + default_env + "' is not one of the environments");
  }

  std::vector<Target> targets;
  const ConfigNode targets_node = root.child("targets");
  for (const auto& [name, node] : targets_node.entries()) {
    if (!std::regex_match(name, kNameRe)) {
      targets_node.fail(name, "a target name must be lowercase letters, digits and '-' (at most 63)");
    }
    if (!node.is_map()) {
      targets_node.fail(name, "expected a mapping (team, aliases, namespace, ...)");
    }
    Target target;
    target.name = name;
    target.aliases = node.strings_or("aliases");
    target.team = node.str_or("team", "");
    const PlacementTemplate base = read_placement(node, PlacementTemplate{});
    const std::vector<std::string> in_envs = node.strings_or("environments", {});
    std::optional<ConfigNode> overrides = node.optional_child("envs");
    // Not a lambda capturing `name`: clang 14 (the sanitizer build) cannot capture a structured binding.
    std::vector<std::string> words = target.aliases;
    words.insert(words.begin(), name);
    for (const auto& word : words) {
      if (!taken.insert(to_lower(word)).second) {
        targets_node.fail(name, "the name or alias '" + word + "' is already used by another target or environment");
      }
    }
    for (const auto& env : envs) {
      if (!in_envs.empty() && std::find(in_envs.begin(), in_envs.end(), env.name) == in_envs.end()) {
        continue;
      }
      PlacementTemplate t = base;
      if (overrides && overrides->has(env.name)) {
        const ConfigNode one = overrides->child(env.name);
        t = read_placement(one, base);
        one.finish();
      }
      TargetPlacement p;
      p.namespace_name = fill(t.namespace_name, name, env.name, "");
      p.deployment = fill(t.deployment, name, env.name, p.namespace_name);
      p.prometheus_selector = fill(t.prometheus_selector, name, env.name, p.namespace_name);
      p.loki_selector = fill(t.loki_selector, name, env.name, p.namespace_name);
      check_selector(node, "prometheus_selector", p.prometheus_selector, false);
      check_selector(node, "loki_selector", p.loki_selector, true);
      target.placements.emplace(env.name, std::move(p));
    }
    for (const auto& env_name : in_envs) {
      bool known = false;
      for (const auto& env : envs) {
        known = known || env.name == env_name;
      }
      if (!known) {
        node.fail("environments", "'" + env_name + "' is not declared under environments");
      }
    }
    if (overrides) {
      for (const auto& [env_name, unused] : overrides->entries()) {
        if (target.placements.count(env_name) == 0) {
          overrides->fail(env_name, "'" + env_name + "' is not an environment of this target");
        }
      }
    }
    node.finish();
    targets.push_back(std::move(target));
  }
  if (targets.empty()) {
    targets_node.fail_here("declare at least one target");
  }
  return Inventory(std::move(targets), std::move(envs), default_env);
}

Config load_config(const ConfigNode& root) {
  Config config;
  config.source = root.file();
  if (auto storage = root.optional_child("storage")) {
    config.storage_path = storage->str_or("path", "var/opsgate.db");
    read_storage_backend(*storage, config);
    storage->finish();
  } else {
    config.storage_path = "var/opsgate.db";
  }
  config.inventory = std::make_shared<const Inventory>(load_inventory(root));
  if (auto intent = root.optional_child("intent")) {
    config.intent.node = intent;
    config.intent.parsers = intent->strings_or("parsers", config.intent.parsers);
    if (config.intent.parsers.empty()) {
      intent->fail("parsers", "list at least one parser, e.g. [command]");
    }
    config.intent.min_confidence =
        static_cast<double>(intent->integer_or("min_confidence_percent", 60, 0, 100)) / 100.0;
    intent->finish();
  }
  if (auto logging = root.optional_child("logging")) {
    config.log_level = logging->str_or("level", "info");
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (levels.count(config.log_level) == 0) {
      logging->fail("level", "expected one of trace, debug, info, warn, error, critical, off");
    }
    logging->finish();
  }
  config.server = root.optional_child("server");
  config.adapters = root.optional_child("adapters");
  config.actions = root.optional_child("actions");
  config.alertmanager = root.optional_child("alertmanager");
  config.policy = root.optional_child("policy");
  config.llm = root.optional_child("llm");
  config.gates = root.optional_child("gates");
  const bool wants_llm = std::find(config.intent.parsers.begin(), config.intent.parsers.end(), "llm") !=
                         config.intent.parsers.end();
  if (wants_llm && !config.llm) {
    root.fail("intent", "the llm parser needs an `llm:` section with at least one connection (see config/example.yaml)");
  }
  if (config.actions) {
    config.action_timeout = config.actions->duration_or("timeout", config.action_timeout);
  }
  root.finish();
  return config;
}

}  // namespace opsgate
