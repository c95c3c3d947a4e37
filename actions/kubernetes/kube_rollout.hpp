#pragma once
// kubectl's rollout logic as pure functions over the API server's JSON
// (k8s.io/kubectl pkg/polymorphichelpers: objectrestarter, rollback,
// rollout_status; pkg/cmd/set/set_image). No I/O: the actions fetch the
// objects and send the bodies these build. Private to actions/kubernetes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/error.hpp"

namespace opsgate::actions::kubernetes {

inline constexpr std::string_view kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr std::string_view kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";
inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";

// An image tag as kubectl and registries accept it: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool valid_image_tag(std::string_view tag);

// `kubectl rollout restart`: the template annotation, RFC 3339 in UTC.
nlohmann::json restart_patch(std::string_view restarted_at);
// `kubectl set image`: containers merge on name.
nlohmann::json image_patch(std::string_view container, std::string_view image);
// `kubectl scale` on the /scale subresource (merge patch).
nlohmann::json scale_patch(std::int64_t replicas);

// "cart=registry.example/cart:3.1.0" per container, in template order.
std::vector<std::pair<std::string, std::string>> container_images(const nlohmann::json& deployment);
std::optional<std::string> image_of(const nlohmann::json& deployment, std::string_view container);
std::optional<std::int64_t> revision_of(const nlohmann::json& object);  // the revision annotation
std::string images_text(const nlohmann::json& deployment);  // "cart=registry/cart:3.1.0, sidecar=..."

// kubectl's DeploymentStatusViewer.
enum class RolloutState { waiting, done, failed };
struct RolloutStatus {
  RolloutState state = RolloutState::waiting;
  std::string message;  // kubectl's wording
  std::string failure;  // the Progressing condition's message on failure
  std::int64_t desired = 0;
  std::int64_t updated = 0;
  std::int64_t available = 0;
  std::int64_t replicas = 0;
};
RolloutStatus rollout_status(const nlohmann::json& deployment);

// `kubectl rollout undo`: from the Deployment and the ReplicaSets listed with
// its selector, the JSON Patch that restores a revision, or an answer.
struct UndoPlan {
  bool nothing_to_do = false;  // the current template already is that revision
  std::int64_t to_revision = 0;
  std::optional<std::int64_t> from_revision;
  nlohmann::json patch;        // JSON Patch (application/json-patch+json)
  nlohmann::json template_;    // the restored pod template
  std::string message;         // for nothing_to_do
};
// Errc::invalid_input: paused; Errc::not_found: no history, or no such revision.
Result<UndoPlan> plan_undo(const nlohmann::json& deployment, const nlohmann::json& replica_set_list,
                           std::int64_t to_revision /* 0: the previous one */);

// spec.selector.matchLabels as a labelSelector ("app=cart,tier=web"), sorted.
Result<std::string> label_selector(const nlohmann::json& deployment);

// A Kubernetes `Status` error body (or any error answer) as text for people:
// the Status message when there is one.
std::string status_message(int http_status, std::string_view body);
std::string status_reason(std::string_view body);  // "Forbidden", "Conflict", ... or ""

}  // namespace opsgate::actions::kubernetes
