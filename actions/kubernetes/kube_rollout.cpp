#include "actions/kubernetes/kube_rollout.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace opsgate::actions::kubernetes {

using nlohmann::json;

namespace {

const json* at(const json& object, std::initializer_list<std::string_view> path) {
  const json* node = &object;
  for (const auto key : path) {
    if (!node->is_object()) {
      return nullptr;
    }
    const auto it = node->find(std::string(key));
    if (it == node->end()) {
      return nullptr;
    }
    node = &*it;
  }
  return node;
}

std::int64_t integer_at(const json& object, std::initializer_list<std::string_view> path, std::int64_t fallback = 0) {
  const json* node = at(object, path);
  return node != nullptr && node->is_number_integer() ? node->get<std::int64_t>() : fallback;
}

std::string string_at(const json& object, std::initializer_list<std::string_view> path) {
  const json* node = at(object, path);
  return node != nullptr && node->is_string() ? node->get<std::string>() : std::string{};
}

// A template as compared by kubectl's equalIgnoreHash.
json without_hash(json pod_template) {
  if (pod_template.is_object() && pod_template.contains("metadata") && pod_template["metadata"].is_object() &&
      pod_template["metadata"].contains("labels") && pod_template["metadata"]["labels"].is_object()) {
    pod_template["metadata"]["labels"].erase(std::string(kPodTemplateHashLabel));
    if (pod_template["metadata"]["labels"].empty()) {
      pod_template["metadata"].erase("labels");
    }
  }
  return pod_template;
}

// The Deployment's own annotations that a rollback keeps (kubectl's annotationsToSkip).
const std::set<std::string, std::less<>>& annotations_to_skip() {
  static const std::set<std::string, std::less<>> skip{
      "kubectl.kubernetes.io/last-applied-configuration",
      "deployment.kubernetes.io/revision",
      "deployment.kubernetes.io/revision-history",
      "deployment.kubernetes.io/desired-replicas",
      "deployment.kubernetes.io/max-replicas",
      "deprecated.deployment.rollback.to",
  };
  return skip;
}

bool controlled_by(const json& replica_set, const std::string& uid) {
  const json* owners = at(replica_set, {"metadata", "ownerReferences"});
  if (owners == nullptr || !owners->is_array()) {
    return false;
  }
  return std::any_of(owners->begin(), owners->end(), [&](const json& ref) {
    return ref.is_object() && ref.value("controller", false) && ref.value("uid", "") == uid;
  });
}

}  // namespace

bool valid_image_tag(std::string_view tag) {
  static const std::regex tag_re("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$");
  return std::regex_match(tag.begin(), tag.end(), tag_re);
}

json restart_patch(std::string_view restarted_at) {
  return {{"spec",
           {{"template", {{"metadata", {{"annotations", {{std::string(kRestartedAtAnnotation), restarted_at}}}}}}}}}};
}

json image_patch(std::string_view container, std::string_view image) {
  json entry = {{"name", container}, {"image", image}};
  return {{"spec", {{"template", {{"spec", {{"containers", json::array({entry})}}}}}}}};
}

json scale_patch(std::int64_t replicas) { return {{"spec", {{"replicas", replicas}}}}; }

std::vector<std::pair<std::string, std::string>> container_images(const json& deployment) {
  std::vector<std::pair<std::string, std::string>> out;
  const json* containers = at(deployment, {"spec", "template", "spec", "containers"});
  if (containers == nullptr || !containers->is_array()) {
    return out;
  }
  for (const auto& c : *containers) {
    if (c.is_object()) {
      out.emplace_back(c.value("name", ""), c.value("image", ""));
    }
  }
  return out;
}

std::optional<std::string> image_of(const json& deployment, std::string_view container) {
  for (const auto& [name, image] : container_images(deployment)) {
    if (name == container) {
      return image;
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> revision_of(const json& object) {
  const std::string text = string_at(object, {"metadata", "annotations", kRevisionAnnotation});
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(text);
}

std::string images_text(const json& deployment) {
  std::string out;
  for (const auto& [name, image] : container_images(deployment)) {
    out += (out.empty() ? "" : ", ") + name + "=" + image;
  }
  return out.empty() ? "(no containers)" : out;
}

RolloutStatus rollout_status(const json& deployment) {
  RolloutStatus s;
  const std::string name = string_at(deployment, {"metadata", "name"});
  s.desired = integer_at(deployment, {"spec", "replicas"}, 1);
  s.updated = integer_at(deployment, {"status", "updatedReplicas"});
  s.available = integer_at(deployment, {"status", "availableReplicas"});
  s.replicas = integer_at(deployment, {"status", "replicas"});
  const std::int64_t generation = integer_at(deployment, {"metadata", "generation"});
  const std::int64_t observed = integer_at(deployment, {"status", "observedGeneration"});
  if (generation > observed) {
    s.message = "Waiting for deployment spec update to be observed...";
    return s;
  }
  const json* conditions = at(deployment, {"status", "conditions"});
  if (conditions != nullptr && conditions->is_array()) {
    for (const auto& c : *conditions) {
      if (c.is_object() && c.value("type", "") == "Progressing" && c.value("reason", "") == "ProgressDeadlineExceeded") {
        s.state = RolloutState::failed;
        s.message = "deployment \"" + name + "\" exceeded its progress deadline";
        s.failure = c.value("message", "");
        return s;
      }
    }
  }
  if (s.updated < s.desired) {
    s.message = "Waiting for deployment \"" + name + "\" rollout to finish: " + std::to_string(s.updated) + " out of " +
                std::to_string(s.desired) + " new replicas have been updated...";
    return s;
  }
  if (s.replicas > s.updated) {
    s.message = "Waiting for deployment \"" + name + "\" rollout to finish: " + std::to_string(s.replicas - s.updated) +
                " old replicas are pending termination...";
    return s;
  }
  if (s.available < s.updated) {
    s.message = "Waiting for deployment \"" + name + "\" rollout to finish: " + std::to_string(s.available) + " of " +
                std::to_string(s.updated) + " updated replicas are available...";
    return s;
  }
  s.state = RolloutState::done;
  s.message = "deployment \"" + name + "\" successfully rolled out";
  return s;
}

Result<UndoPlan> plan_undo(const json& deployment, const json& replica_set_list, std::int64_t to_revision) {
  const std::string name = string_at(deployment, {"metadata", "name"});
  const json* paused = at(deployment, {"spec", "paused"});
  if (paused != nullptr && paused->is_boolean() && paused->get<bool>()) {
    return fail(Errc::invalid_input, "you cannot roll back a paused deployment (" + name +
                                         "); resume it first with `kubectl rollout resume deployment/" + name + "`");
  }
  const std::string uid = string_at(deployment, {"metadata", "uid"});
  const json* items = at(replica_set_list, {"items"});
  const json* chosen = nullptr;
  const json* latest = nullptr;
  const json* previous = nullptr;
  std::int64_t latest_revision = -1;
  std::int64_t previous_revision = -1;
  if (items != nullptr && items->is_array()) {
    for (const auto& rs : *items) {
      if (!controlled_by(rs, uid)) {
        continue;
      }
      const auto v = revision_of(rs);
      if (!v) {
        continue;
      }
      if (to_revision == 0) {
        // kubectl keeps the highest and the second-highest revision.
        if (latest_revision < *v) {
          previous_revision = latest_revision;
          previous = latest;
          latest_revision = *v;
          latest = &rs;
        } else if (previous_revision < *v) {
          previous_revision = *v;
          previous = &rs;
        }
      } else if (*v == to_revision) {
        chosen = &rs;
        break;
      }
    }
  }
  if (to_revision > 0 && chosen == nullptr) {
    return fail(Errc::not_found, "unable to find revision " + std::to_string(to_revision) + " in the history of " + name);
  }
  if (to_revision == 0) {
    if (previous == nullptr) {
      return fail(Errc::not_found, "no rollout history found for deployment \"" + name + "\"");
    }
    chosen = previous;
    to_revision = previous_revision;
  }

  UndoPlan plan;
  plan.to_revision = to_revision;
  plan.from_revision = revision_of(deployment);
  const json* rs_template = at(*chosen, {"spec", "template"});
  const json* current_template = at(deployment, {"spec", "template"});
  const json restored = without_hash(rs_template != nullptr ? *rs_template : json::object());
  if (current_template != nullptr && without_hash(*current_template) == restored) {
    plan.nothing_to_do = true;
    plan.message = "skipped rollback (current template already matches revision " + std::to_string(to_revision) + ")";
    plan.template_ = restored;
    return plan;
  }
  json annotations = json::object();
  const json* own = at(deployment, {"metadata", "annotations"});
  if (own != nullptr && own->is_object()) {
    for (const auto& [k, v] : own->items()) {
      if (annotations_to_skip().count(k) != 0) {
        annotations[k] = v;
      }
    }
  }
  const json* theirs = at(*chosen, {"metadata", "annotations"});
  if (theirs != nullptr && theirs->is_object()) {
    for (const auto& [k, v] : theirs->items()) {
      if (annotations_to_skip().count(k) == 0) {
        annotations[k] = v;
      }
    }
  }
  plan.template_ = restored;
  plan.patch = json::array({
      {{"op", "replace"}, {"path", "/spec/template"}, {"value", restored}},
      {{"op", "replace"}, {"path", "/metadata/annotations"}, {"value", annotations}},
  });
  return plan;
}

Result<std::string> label_selector(const json& deployment) {
  const json* labels = at(deployment, {"spec", "selector", "matchLabels"});
  const json* expressions = at(deployment, {"spec", "selector", "matchExpressions"});
  if (expressions != nullptr && expressions->is_array() && !expressions->empty()) {
    return fail(Errc::invalid_input, "the deployment's selector uses matchExpressions, which opsgate does not read; "
                                     "roll back with kubectl");
  }
  if (labels == nullptr || !labels->is_object() || labels->empty()) {
    return fail(Errc::invalid_input, "the deployment has no spec.selector.matchLabels");
  }
  std::string out;
  for (const auto& [k, v] : labels->items()) {  // nlohmann keeps keys sorted
    if (!v.is_string()) {
      return fail(Errc::invalid_input, "the deployment's selector label " + k + " is not text");
    }
    out += (out.empty() ? "" : ",") + k + "=" + v.get<std::string>();
  }
  return out;
}

std::string status_message(int http_status, std::string_view body) {
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "Status") {
    const std::string message = parsed.value("message", "");
    if (!message.empty()) {
      return message;
    }
  }
  std::string text(body.substr(0, 200));
  return "HTTP " + std::to_string(http_status) + (text.empty() ? std::string{} : ": " + text);
}

std::string status_reason(std::string_view body) {
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "Status") {
    return parsed.value("reason", "");
  }
  return "";
}

}  // namespace opsgate::actions::kubernetes
