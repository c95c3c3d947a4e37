#pragma once
// What the Kubernetes actions share (private to actions/kubernetes): where a
// request acts (Place), the clients of one config (Backend), the Deployment
// GET/PATCH and the rollback advice. Read-only after start-up.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "actions/kubernetes/kube_client.hpp"
#include "actions/kubernetes/kubernetes_actions.hpp"
#include "src/core/action_result.hpp"
#include "src/core/error.hpp"
#include "src/net/backend_connection.hpp"

namespace opsgate::actions::kubernetes {

inline constexpr const char* kStrategicMerge = "application/strategic-merge-patch+json";
inline constexpr const char* kMergePatch = "application/merge-patch+json";
inline constexpr const char* kJsonPatch = "application/json-patch+json";
inline constexpr const char* kRestartedAtPointer =
    "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt";

// restart, scale, rollout.deploy, rollout.undo, rollout.status.
const std::vector<std::string>& kube_action_names();

// The API server's answers are read without exceptions: a missing or
// mistyped field is the fallback.
std::int64_t at_or(const nlohmann::json& object, const char* pointer, std::int64_t fallback);
bool at_or(const nlohmann::json& object, const char* pointer, bool fallback);
std::string string_at_or(const nlohmann::json& object, const char* pointer);
std::string dump(const nlohmann::json& body);

// Where one request acts: everything here comes from config and the inventory.
struct Place {
  std::string target;
  std::string env;
  std::string namespace_name;
  std::string deployment;
  TargetSettings settings;
  KubeClient* client = nullptr;

  std::string deployment_path() const {
    return "/apis/apps/v1/namespaces/" + net::url_encode(namespace_name) + "/deployments/" + net::url_encode(deployment);
  }
  std::string container() const { return settings.container.empty() ? deployment : settings.container; }
  std::string label() const { return target + " in " + env; }
  std::string object() const { return namespace_name + "/" + deployment; }
};

// Shared by all actions of one config: clusters, settings, inventory, clock.
struct Backend {
  KubernetesConfig config;
  std::shared_ptr<const Inventory> inventory;
  std::map<std::string, std::unique_ptr<KubeClient>> clients;  // env -> client
  const Clock* clock = nullptr;

  Result<Place> place(const ActionRequest& request) const {
    Place p;
    p.target = request.params.value("target", "");
    p.env = request.params.value("env", "");
    const TargetPlacement* placement = inventory->placement(p.target, p.env);
    if (placement == nullptr) {
      return fail(Errc::not_found, "the inventory does not place " + p.target + " in " + p.env);
    }
    if (placement->namespace_name.empty() || placement->deployment.empty()) {
      return fail(Errc::invalid_input, "the inventory names no Kubernetes namespace and deployment for " + p.target +
                                           " in " + p.env + " (targets." + p.target + ".envs." + p.env + ")");
    }
    const auto client = clients.find(p.env);
    if (client == clients.end()) {
      return fail(Errc::invalid_input, "no Kubernetes cluster is configured for " + p.env +
                                           " (actions.kubernetes.clusters." + p.env + ")");
    }
    p.namespace_name = placement->namespace_name;
    p.deployment = placement->deployment;
    p.settings = config.settings(p.target, p.env);
    p.client = client->second.get();
    return p;
  }
};

std::string write_query(bool dry_run);
KubeCall call(std::string verb, std::string resource, const Place& p);

// The Deployment's ReplicaSets (its rollout history), listed by its selector.
boost::asio::awaitable<Result<nlohmann::json>> list_replica_sets(Place p, nlohmann::json live);

// What to offer after a failed or stuck rollout: `!rollback` only when
// `rollout.undo` would accept it now (the same plan_undo it runs), else a
// sentence saying what would help instead.
struct NextStep {
  std::optional<Suggestion> rollback;
  std::string instead;  // set when there is no rollback to offer
};
boost::asio::awaitable<NextStep> next_step(Place p, nlohmann::json live);

boost::asio::awaitable<Result<nlohmann::json>> get_deployment(Place p);
boost::asio::awaitable<Result<nlohmann::json>> patch_deployment(Place p, std::string content_type, nlohmann::json body,
                                                                bool dry_run);
nlohmann::json fingerprint_base(const std::string& action, const Place& p);

}  // namespace opsgate::actions::kubernetes
