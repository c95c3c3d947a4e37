#pragma once
// The Kubernetes backend: restart, scale, rollout.deploy, rollout.undo and
// rollout.status against the API server of each environment's cluster, with
// the exact requests kubectl makes (shared/specs/kubernetes.md), dry-run
// previews and a follow loop. The folder's one public header.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actions/kubernetes/kube_client.hpp"
#include "src/core/action.hpp"
#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::actions::kubernetes {

// What opsgate may do to one target in one environment, on top of the
// inventory's namespace and deployment. Nothing here comes from chat.
struct TargetSettings {
  std::string container;  // empty: the deployment's name
  std::string image;      // repository without tag, e.g. registry.example/cart; empty: no rollout.deploy
  std::int64_t min_replicas = 1;
  std::int64_t max_replicas = 20;
};

// The `actions.kubernetes` section, validated once at start-up.
struct KubernetesConfig {
  std::map<std::string, ClusterConfig> clusters;  // env -> cluster
  TargetSettings defaults;
  // target -> env -> settings (defaults, then the target's, then its env's)
  std::map<std::string, std::map<std::string, TargetSettings>> targets;
  std::chrono::milliseconds follow_interval{2000};
  std::chrono::milliseconds follow_timeout{std::chrono::minutes(5)};
  std::vector<std::string> actions{"restart", "scale", "rollout.deploy", "rollout.undo", "rollout.status"};

  // The resolved settings of target in env.
  TargetSettings settings(const std::string& target, const std::string& env) const;
};

// Throws ConfigError naming file:line:key.
KubernetesConfig parse_kubernetes_config(const ConfigNode& node, const Inventory& inventory);

// One Action per configured action name. The HttpClient and the clock must
// outlive the actions.
std::vector<std::unique_ptr<opsgate::Action>> make_kubernetes_actions(const KubernetesConfig& config,
                                                                      std::shared_ptr<const Inventory> inventory,
                                                                      net::HttpClient& http, const Clock& clock);

}  // namespace opsgate::actions::kubernetes
