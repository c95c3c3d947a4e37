#include "src/gates/gates_config.hpp"

#include <algorithm>

#include "src/gates/azure.hpp"
#include "src/gates/github.hpp"
#include "src/gates/gitlab.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::gates {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool GateClient::may_gate(const std::string& target, const std::string& env) const {
  return (contains(targets, "*") || contains(targets, target)) && (contains(envs, "*") || contains(envs, env));
}

const GateClient* GatesConfig::client_by_token(const std::string& token) const {
  if (token.empty()) {
    return nullptr;
  }
  const std::string digest = crypto::sha256_hex(token);
  const GateClient* found = nullptr;
  for (const auto& c : clients) {
    // Every client is compared, in constant time: the answer time says nothing.
    if (crypto::constant_time_equal(c.token_sha256, digest)) {
      found = &c;
    }
  }
  return found;
}

const GateClient* GatesConfig::client(const std::string& name) const {
  for (const auto& c : clients) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

GatesConfig parse_gates_config(const ConfigNode& node, const Inventory& inventory) {
  if (!node.is_map()) {
    node.fail_here("expected a mapping (public_url, channels, identities, clients)");
  }
  GatesConfig config;
  config.public_url = node.str_or("public_url", "");
  while (!config.public_url.empty() && config.public_url.back() == '/') {
    config.public_url.pop_back();
  }
  config.show_metrics = node.boolean_or("show_metrics", true);
  config.tick = node.duration_or("tick", config.tick);
  config.context_timeout = node.duration_or("context_timeout", config.context_timeout);
  config.max_backoff = node.duration_or("max_backoff", config.max_backoff);
  config.alert_after = node.duration_or("alert_after", config.alert_after);
  if (config.tick.count() < 1) {
    node.fail("tick", "must be at least 1s");
  }
  config.channels = read_channel_routes(node, inventory);
  if (const auto identities = node.optional_child("identities")) {
    if (!identities->is_map()) {
      identities->fail_here("expected a mapping of CI user names to principals, e.g. {alice: slack:T0AAA:U0ALICE}");
    }
    for (const auto& [name, value] : identities->entries()) {
      const std::string principal = value.as_string();
      if (principal.find(':') == std::string::npos) {
        identities->fail(name, "expected a principal such as slack:T0AAA:U0ALICE or shell:alice; got '" + principal + "'");
      }
      config.identities[name] = principal;
    }
  }
  if (const auto clients = node.optional_child("clients")) {
    if (!clients->is_map()) {
      clients->fail_here("expected a mapping of client names to {token, targets, envs}");
    }
    for (const auto& [name, client_node] : clients->entries()) {
      GateClient client;
      client.name = name;
      const Secret token = client_node.secret("token");
      if (token.reveal().size() < 16) {
        client_node.fail("token", "is shorter than 16 characters; use a long random token (openssl rand -hex 32)");
      }
      client.token_sha256 = crypto::sha256_hex(token.reveal());
      client.targets = client_node.strings_or("targets");
      client.envs = client_node.strings_or("envs");
      if (client.targets.empty()) {
        client_node.fail("targets", "is required: the targets this client may gate, or [\"*\"]");
      }
      if (client.envs.empty()) {
        client_node.fail("envs", "is required: the environments this client may gate, or [\"*\"]");
      }
      for (const auto& t : client.targets) {
        if (t != "*" && inventory.find_target(t) == nullptr) {
          client_node.fail("targets", "'" + t + "' is not a target in the inventory");
        }
      }
      for (const auto& e : client.envs) {
        if (e != "*" && inventory.find_env(e) == nullptr) {
          client_node.fail("envs", "'" + e + "' is not an environment in the inventory");
        }
      }
      if (const auto callback = client_node.optional_child("callback")) {
        client.callback_url = callback->str("url");
        // The one outbound URL rule: https, plain http only to a loopback host (parsed, not prefix-matched).
        net::require_outbound_url(*callback, "url", client.callback_url, net::UrlSecrecy::sensitive);
        client.callback_secret = callback->secret("secret");
        callback->finish();
      }
      client_node.finish();
      for (const auto& other : config.clients) {
        if (other.token_sha256 == client.token_sha256) {
          clients->fail(name, "has the same token as client " + other.name + "; give each client its own token");
        }
      }
      config.clients.push_back(std::move(client));
    }
  }
  if (const auto github = node.optional_child("github")) {
    config.github = std::make_shared<const GithubConfig>(parse_github_config(*github, inventory));
  }
  if (const auto azure = node.optional_child("azure")) {
    config.azure = std::make_shared<const AzureConfig>(parse_azure_config(*azure));
  }
  if (const auto gitlab = node.optional_child("gitlab")) {
    config.gitlab = std::make_shared<const GitlabConfig>(parse_gitlab_config(*gitlab, inventory));
  }
  node.finish();
  return config;
}

std::map<std::string, std::string> read_platform_targets(const ConfigNode& map, const Inventory& inventory) {
  std::map<std::string, std::string> names;
  for (const auto& [name, value] : map.entries()) {
    const Target* target = inventory.find_target(value.as_string());
    if (target == nullptr) {
      map.fail(name, "'" + value.as_string() + "' is not a target in the inventory");
    }
    names[name] = target->name;
  }
  return names;
}

std::map<std::string, std::string> read_platform_environments(const ConfigNode& map, const Inventory& inventory) {
  std::map<std::string, std::string> names;
  for (const auto& [name, value] : map.entries()) {
    const Environment* env = inventory.find_env(value.as_string());
    if (env == nullptr) {
      map.fail(name, "'" + value.as_string() + "' is not an environment in the inventory");
    }
    names[name] = env->name;
  }
  return names;
}

}  // namespace opsgate::gates
