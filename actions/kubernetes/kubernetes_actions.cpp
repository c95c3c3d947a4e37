#include "actions/kubernetes/kubernetes_actions.hpp"

#include <string_view>

#include "actions/kubernetes/kube_action.hpp"
#include "src/core/action_catalogue.hpp"

namespace opsgate::actions::kubernetes {

namespace {

// One line per action: its catalogue name and the file that implements it.
struct KubeActionEntry {
  std::string_view name;
  std::unique_ptr<opsgate::Action> (*make)(const ActionSpec&, std::shared_ptr<const Backend>);
};

constexpr KubeActionEntry kKubeActions[] = {
    {"restart", make_restart_action},           // kube_restart.cpp
    {"scale", make_scale_action},               // kube_scale.cpp
    {"rollout.deploy", make_deploy_action},     // kube_deploy.cpp
    {"rollout.undo", make_undo_action},         // kube_undo.cpp
    {"rollout.status", make_status_action},     // kube_status.cpp
};

}  // namespace

const std::vector<std::string>& kube_action_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : kKubeActions) {
      out.emplace_back(entry.name);
    }
    return out;
  }();
  return names;
}

std::vector<std::unique_ptr<opsgate::Action>> make_kubernetes_actions(const KubernetesConfig& config,
                                                                      std::shared_ptr<const Inventory> inventory,
                                                                      net::HttpClient& http, const Clock& clock) {
  if (!inventory) {
    throw ConfigError("actions.kubernetes: the Kubernetes actions need the inventory");
  }
  auto backend = std::make_shared<Backend>();
  backend->config = config;
  backend->inventory = std::move(inventory);
  backend->clock = &clock;
  for (const auto& [env, cluster] : config.clusters) {
    backend->clients[env] = std::make_unique<KubeClient>(cluster, http);
  }
  std::shared_ptr<const Backend> shared = backend;
  std::vector<std::unique_ptr<opsgate::Action>> actions;
  for (const auto& name : config.actions) {
    const ActionSpec* spec = find_action(name);
    const KubeActionEntry* entry = nullptr;
    for (const auto& candidate : kKubeActions) {
      if (candidate.name == name) {
        entry = &candidate;
      }
    }
    if (spec == nullptr || entry == nullptr) {
      throw ConfigError("actions.kubernetes.actions: unknown action " + name);
    }
    actions.push_back(entry->make(*spec, shared));
  }
  return actions;
}

}  // namespace opsgate::actions::kubernetes
