#include "actions/kubernetes/kubernetes_actions.hpp"

// The `actions.kubernetes` section: clusters, per-target settings, the follow
// loop's limits. Validated once at start-up; errors name file:line: key.

#include <algorithm>

#include "actions/kubernetes/kube_backend.hpp"
#include "src/net/backend_connection.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::actions::kubernetes {

namespace {

TargetSettings overlay(TargetSettings base, const ConfigNode& node) {
  base.container = node.str_or("container", base.container);
  base.image = node.str_or("image", base.image);
  base.min_replicas = node.integer_or("min_replicas", base.min_replicas, 0, 1000);
  base.max_replicas = node.integer_or("max_replicas", base.max_replicas, 0, 1000);
  if (base.min_replicas > base.max_replicas) {
    node.fail("min_replicas", "is larger than max_replicas");
  }
  if (!base.image.empty() && (base.image.find(':') != std::string::npos && base.image.rfind(':') > base.image.rfind('/'))) {
    node.fail("image", "give the repository without a tag (e.g. registry.example/cart); the tag comes from the request");
  }
  if (base.image.find_first_of(" \t\n@") != std::string::npos) {
    node.fail("image", "not an image repository (no spaces or digests)");
  }
  return base;
}

ClusterConfig parse_cluster(const ConfigNode& node, const std::string& env) {
  ClusterConfig c;
  c.env = env;
  c.in_cluster = node.boolean_or("in_cluster", false);
  if (c.in_cluster) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
      node.fail("in_cluster", "KUBERNETES_SERVICE_HOST/PORT are not set: opsgate is not running in a pod; "
                              "give api_server, token_file and ca_file instead");
    }
    const std::string h = host;
    c.api_server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
    c.token_file = node.str_or("token_file", "/var/run/secrets/kubernetes.io/serviceaccount/token");
    c.ca_file = node.str_or("ca_file", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  } else {
    c.api_server = node.str("api_server");
    while (!c.api_server.empty() && c.api_server.back() == '/') {
      c.api_server.pop_back();
    }
    c.token_file = node.str_or("token_file", "");
    c.token = node.optional_secret("token");
    c.ca_file = node.str_or("ca_file", "");
  }
  c.client_cert_file = node.str_or("client_cert_file", "");
  c.client_key_file = node.str_or("client_key_file", "");
  if (!c.in_cluster) {
    // A token or client key: https, or http only to loopback (kubectl proxy without credentials is plain).
    const bool sensitive = c.token || !c.token_file.empty() || !c.client_key_file.empty();
    net::require_outbound_url(node, "api_server", c.api_server,
                              sensitive ? net::UrlSecrecy::sensitive : net::UrlSecrecy::plain);
  }
  if (c.client_cert_file.empty() != c.client_key_file.empty()) {
    node.fail(c.client_cert_file.empty() ? "client_key_file" : "client_cert_file",
              "give client_cert_file and client_key_file together");
  }
  if (!c.token_file.empty() && c.token) {
    node.fail("token", "give token or token_file, not both");
  }
  if (c.token_file.empty() && !c.token && c.client_cert_file.empty()) {
    node.fail_here("no credentials: give token_file, token, or client_cert_file + client_key_file");
  }
  c.verify_tls = !node.boolean_or("insecure_skip_verify", false);
  const auto timeout = node.duration_or("timeout", std::chrono::seconds(10));
  if (timeout < std::chrono::seconds(1) || timeout > std::chrono::minutes(5)) {
    node.fail("timeout", "expected 1s to 5m");
  }
  c.timeout = timeout;
  node.finish();
  return c;
}

}  // namespace

TargetSettings KubernetesConfig::settings(const std::string& target, const std::string& env) const {
  const auto t = targets.find(target);
  if (t == targets.end()) {
    return defaults;
  }
  const auto e = t->second.find(env);
  return e == t->second.end() ? defaults : e->second;
}

KubernetesConfig parse_kubernetes_config(const ConfigNode& node, const Inventory& inventory) {
  KubernetesConfig config;
  const ConfigNode clusters = node.child("clusters");
  if (!clusters.is_map()) {
    node.fail("clusters", "expected a mapping of environments to clusters, e.g. prod: {in_cluster: true}");
  }
  for (const auto& [env, cluster] : clusters.entries()) {
    if (inventory.find_env(env) == nullptr || inventory.find_env(env)->name != env) {
      clusters.fail(env, "unknown environment '" + env + "' (the inventory's environments name the clusters)");
    }
    config.clusters[env] = parse_cluster(cluster, env);
  }
  clusters.finish();

  if (const auto follow = node.optional_child("follow")) {
    config.follow_interval = follow->duration_or("interval", std::chrono::seconds(2));
    config.follow_timeout = follow->duration_or("timeout", std::chrono::minutes(5));
    if (config.follow_interval < std::chrono::seconds(1) || config.follow_interval > std::chrono::minutes(1)) {
      follow->fail("interval", "expected 1s to 1m");
    }
    if (config.follow_timeout < config.follow_interval || config.follow_timeout > std::chrono::hours(1)) {
      follow->fail("timeout", "expected from the interval up to 1h");
    }
    follow->finish();
  }
  if (node.has("actions")) {
    config.actions = node.strings_or("actions");
    for (const auto& name : config.actions) {
      if (std::find(kube_action_names().begin(), kube_action_names().end(), name) == kube_action_names().end()) {
        std::string known;
        for (const auto& action : kube_action_names()) {
          known += (known.empty() ? "" : ", ") + action;
        }
        node.fail("actions", "'" + name + "' is not a Kubernetes action (" + known + ")");
      }
    }
  }
  if (const auto defaults = node.optional_child("defaults")) {
    config.defaults = overlay(config.defaults, *defaults);
    defaults->finish();
  }
  if (const auto targets = node.optional_child("targets")) {
    for (const auto& [name, target] : targets->entries()) {
      if (inventory.find_target(name) == nullptr || inventory.find_target(name)->name != name) {
        targets->fail(name, "unknown target '" + name + "' (use the inventory's target names)");
      }
      const TargetSettings base = overlay(config.defaults, target);
      std::optional<ConfigNode> envs = target.optional_child("envs");
      for (const auto& env : inventory.env_names()) {
        TargetSettings settings = base;
        if (envs && envs->has(env)) {
          const ConfigNode one = envs->child(env);
          settings = overlay(base, one);
          one.finish();
        }
        config.targets[name][env] = settings;
      }
      if (envs) {
        envs->finish();
      }
      target.finish();
    }
    targets->finish();
  }
  node.finish();
  return config;
}

}  // namespace opsgate::actions::kubernetes
