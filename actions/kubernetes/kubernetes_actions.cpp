#include "actions/kubernetes/kubernetes_actions.hpp"

#include <algorithm>
#include <cstdlib>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"
#include "src/net/backend_connection.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::actions::kubernetes {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

constexpr const char* kStrategicMerge = "application/strategic-merge-patch+json";
constexpr const char* kMergePatch = "application/merge-patch+json";
constexpr const char* kJsonPatch = "application/json-patch+json";
constexpr int kMaxFollowErrors = 3;

const std::vector<std::string>& kube_action_names() {
  static const std::vector<std::string> names{"restart", "scale", "rollout.deploy", "rollout.undo", "rollout.status"};
  return names;
}

// The API server's answers are read without exceptions: a missing or
// mistyped field is the fallback.
std::int64_t at_or(const json& object, const char* pointer, std::int64_t fallback) {
  const json::json_pointer ptr(pointer);
  if (!object.contains(ptr)) {
    return fallback;
  }
  const json& v = object.at(ptr);
  return v.is_number_integer() ? v.get<std::int64_t>() : fallback;
}

bool at_or(const json& object, const char* pointer, bool fallback) {
  const json::json_pointer ptr(pointer);
  if (!object.contains(ptr)) {
    return fallback;
  }
  const json& v = object.at(ptr);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

std::string string_at_or(const json& object, const char* pointer) {
  const json::json_pointer ptr(pointer);
  if (!object.contains(ptr)) {
    return "";
  }
  const json& v = object.at(ptr);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

constexpr const char* kRestartedAtPointer = "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt";

std::string dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

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

std::string write_query(bool dry_run) { return dry_run ? "?dryRun=All&fieldManager=opsgate" : "?fieldManager=opsgate"; }

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

KubeCall call(std::string verb, std::string resource, const Place& p) {
  return KubeCall{std::move(verb), std::move(resource), p.namespace_name};
}

// The Deployment's ReplicaSets (its rollout history), listed by its selector.
asio::awaitable<Result<json>> list_replica_sets(Place p, json live) {
  auto selector = label_selector(live);
  if (!selector) {
    co_return tl::unexpected(selector.error());
  }
  const std::string list_path = "/apis/apps/v1/namespaces/" + net::url_encode(p.namespace_name) +
                                "/replicasets?labelSelector=" + net::url_encode(*selector);
  const KubeCall list_call = call("list", "replicasets", p);
  auto sets = co_await p.client->send("GET", list_path, "", "", list_call);
  co_return sets;
}

// What to offer after a failed or stuck rollout: `!rollback` only when
// `rollout.undo` would accept it now (the same plan_undo it runs), else a
// sentence saying what would help instead.
struct NextStep {
  std::optional<Suggestion> rollback;
  std::string instead;  // set when there is no rollback to offer
};

asio::awaitable<NextStep> next_step(Place p, json live) {
  NextStep next;
  const std::string resume = "resume the rollout first: `kubectl rollout resume deployment/" + p.deployment + " -n " +
                             p.namespace_name + "`";
  if (at_or(live, "/spec/paused", false)) {
    next.instead = p.label() + " is paused; " + resume;
    co_return next;
  }
  auto sets = co_await list_replica_sets(p, live);
  if (!sets) {
    next.instead = "could not read the rollout history (" + sets.error().message + "); check `!status " + p.target +
                   " " + p.env + "`";
    co_return next;
  }
  const auto plan = plan_undo(live, *sets, 0);
  if (!plan) {
    next.instead = plan.error().message + "; there is nothing to roll back to, so fix forward with `!deploy " +
                   p.target + " <version> " + p.env + "`";
    co_return next;
  }
  if (plan->nothing_to_do) {
    next.instead = "the previous revision has the same pod template, so a rollback would change nothing; fix forward "
                   "with `!deploy " + p.target + " <version> " + p.env + "`";
    co_return next;
  }
  next.rollback = Suggestion{"Roll back " + p.target, "!rollback " + p.target + " " + p.env};
  co_return next;
}

asio::awaitable<Result<json>> get_deployment(Place p) {
  const std::string path = p.deployment_path();
  const KubeCall what = call("get", "deployments", p);
  auto got = co_await p.client->send("GET", path, "", "", what);
  co_return got;
}

asio::awaitable<Result<json>> patch_deployment(Place p, std::string content_type, json body, bool dry_run) {
  const std::string path = p.deployment_path() + write_query(dry_run);
  const std::string text = dump(body);
  const KubeCall what = call("patch", "deployments", p);
  auto patched = co_await p.client->send("PATCH", path, content_type, text, what);
  co_return patched;
}

json fingerprint_base(const std::string& action, const Place& p) {
  return {{"action", action}, {"namespace", p.namespace_name}, {"deployment", p.deployment}};
}

// One catalogue action against the cluster of the request's environment.
// Owned by the action registry; execute/preview/follow may run concurrently.
class KubeAction final : public opsgate::Action {
 public:
  KubeAction(const ActionSpec& spec, std::shared_ptr<const Backend> backend)
      : spec_(spec), backend_(std::move(backend)) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    auto place = backend_->place(request);
    if (!place) {
      co_return tl::unexpected(place.error());
    }
    const Place p = *place;
    // 409 Conflict: retried once, after a fresh GET (each attempt starts with one).
    Result<ActionResult> result = fail(Errc::internal, "not run");
    for (int attempt = 0; attempt < 2; ++attempt) {
      result = co_await run(request, p);
      if (result || result.error().code != Errc::conflict) {
        break;
      }
    }
    co_return result;
  }

  asio::awaitable<Result<std::optional<ActionPreview>>> preview(ActionRequest request) override {
    if (spec_.name == "rollout.status") {
      co_return std::optional<ActionPreview>{};
    }
    auto place = backend_->place(request);
    if (!place) {
      co_return tl::unexpected(place.error());
    }
    const Place p = *place;
    auto shown = co_await preview_of(request, p);
    if (!shown) {
      co_return tl::unexpected(shown.error());
    }
    co_return std::optional<ActionPreview>(std::move(*shown));
  }

  asio::awaitable<std::optional<FollowOutcome>> follow(ActionRequest request, ActionResult result) override {
    if (spec_.name == "rollout.status" || !result.data.value("changed", false)) {
      co_return std::optional<FollowOutcome>{};
    }
    auto place = backend_->place(request);
    if (!place) {
      co_return std::optional<FollowOutcome>{};
    }
    const Place p = *place;
    auto outcome = co_await follow_rollout(p);
    co_return std::optional<FollowOutcome>(std::move(outcome));
  }

 private:
  asio::awaitable<Result<ActionResult>> run(ActionRequest request, Place p) {
    if (spec_.name == "restart") {
      auto r = co_await restart(p, false);
      co_return r;
    }
    if (spec_.name == "scale") {
      auto r = co_await scale(request, p, false);
      co_return r;
    }
    if (spec_.name == "rollout.deploy") {
      auto r = co_await deploy(request, p, false);
      co_return r;
    }
    if (spec_.name == "rollout.undo") {
      auto r = co_await undo(request, p, false);
      co_return r;
    }
    auto r = co_await status(p);
    co_return r;
  }

  // The preview is the same function run with dryRun=All: the answer is what
  // the API server would store, compared with the live object.
  asio::awaitable<Result<ActionPreview>> preview_of(ActionRequest request, Place p) {
    Result<ActionResult> dry = fail(Errc::internal, "no preview");
    if (spec_.name == "restart") {
      dry = co_await restart(p, true);
    } else if (spec_.name == "scale") {
      dry = co_await scale(request, p, true);
    } else if (spec_.name == "rollout.deploy") {
      dry = co_await deploy(request, p, true);
    } else {
      dry = co_await undo(request, p, true);
    }
    if (!dry) {
      co_return tl::unexpected(dry.error());
    }
    ActionPreview preview;
    preview.text = dry->summary;
    preview.nothing_to_do = !dry->data.value("changed", false);
    preview.data = dry->data;
    const json fingerprint = dry->data.value("fingerprint", json::object());
    preview.fingerprint = dump(fingerprint);
    co_return preview;
  }

  asio::awaitable<Result<ActionResult>> restart(Place p, bool dry_run) {
    auto live = co_await get_deployment(p);
    if (!live) {
      co_return tl::unexpected(live.error());
    }
    if (at_or(*live, "/spec/paused", false)) {
      co_return fail(Errc::invalid_input, "can't restart paused deployment " + p.object() + " (" + p.label() +
                                              "); resume it first: `kubectl rollout resume deployment/" + p.deployment +
                                              " -n " + p.namespace_name + "`");
    }
    const std::string at = rfc3339_utc(backend_->clock->now());
    const std::int64_t generation = at_or(*live, "/metadata/generation", std::int64_t{0});
    // kubectl's empty-patch check: the annotation has second precision, so a
    // second restart within the same second would change nothing.
    if (string_at_or(*live, kRestartedAtPointer) == at) {
      co_return already_restarted(p, at, generation);
    }
    // The resourceVersion read above is a precondition: a restart that lands
    // between our GET and PATCH makes this one a 409, and the retry after a
    // fresh GET sees the annotation above. Without it both would say "Restarted".
    json body = restart_patch(at);
    const std::string resource_version = string_at_or(*live, "/metadata/resourceVersion");
    if (!resource_version.empty()) {
      body["metadata"]["resourceVersion"] = resource_version;
    }
    auto patched = co_await patch_deployment(p, kStrategicMerge, body, dry_run);
    if (!patched) {
      co_return tl::unexpected(patched.error());
    }
    const std::int64_t new_generation = at_or(*patched, "/metadata/generation", generation);
    if (!dry_run && new_generation == generation) {
      co_return already_restarted(p, at, generation);
    }
    const std::int64_t replicas = at_or(*live, "/spec/replicas", std::int64_t{1});
    ActionResult r;
    r.summary = std::string(dry_run ? "would restart " : "Restarted ") + p.label() + " (deployment " + p.object() +
                "): a rolling restart of " + std::to_string(replicas) + " replica" + (replicas == 1 ? "" : "s") +
                ", images unchanged (" + images_text(*patched) + "); template annotation " +
                std::string(kRestartedAtAnnotation) + " → " + at;
    json fingerprint = fingerprint_base("restart", p);
    fingerprint["images"] = images_text(*live);
    fingerprint["replicas"] = replicas;
    r.data = {{"namespace", p.namespace_name},
              {"deployment", p.deployment},
              {"restartedAt", at},
              {"images", images_text(*patched)},
              {"generation", new_generation},
              {"changed", true},
              {"dry_run", dry_run},
              {"fingerprint", fingerprint}};
    co_return r;
  }

  // The PATCH (or the one it would send) changes nothing: say so, as kubectl
  // reports an empty patch, instead of claiming a second restart.
  static ActionResult already_restarted(const Place& p, const std::string& at, std::int64_t generation) {
    ActionResult r;
    r.summary = p.target + " was already restarted at " + at + " in " + p.env + " (deployment " + p.object() +
                "); no-op: this request changed nothing (generation stays " + std::to_string(generation) + ")";
    json fingerprint = fingerprint_base("restart", p);
    fingerprint["restartedAt"] = at;
    r.data = {{"namespace", p.namespace_name}, {"deployment", p.deployment}, {"restartedAt", at},
              {"generation", generation},      {"changed", false},          {"fingerprint", fingerprint}};
    r.noop = true;
    return r;
  }

  asio::awaitable<Result<ActionResult>> scale(ActionRequest request, Place p, bool dry_run) {
    const json& asked = request.params["replicas"];
    if (!asked.is_number_integer()) {
      co_return fail(Errc::invalid_input, "scale needs a replica count");
    }
    const std::int64_t replicas = asked.get<std::int64_t>();
    if (replicas < p.settings.min_replicas || replicas > p.settings.max_replicas) {
      co_return fail(Errc::invalid_input, p.label() + " may run " + std::to_string(p.settings.min_replicas) + " to " +
                                              std::to_string(p.settings.max_replicas) + " replicas; " +
                                              std::to_string(replicas) +
                                              " is outside (bounds: actions.kubernetes.targets." + p.target + ")");
    }
    const std::string path = p.deployment_path() + "/scale";
    const KubeCall get_call = call("get", "deployments/scale", p);
    auto current = co_await p.client->send("GET", path, "", "", get_call);
    if (!current) {
      co_return tl::unexpected(current.error());
    }
    const std::int64_t old = at_or(*current, "/spec/replicas", std::int64_t{0});
    json fingerprint = fingerprint_base("scale", p);
    fingerprint["from"] = old;
    fingerprint["to"] = replicas;
    ActionResult r;
    if (old == replicas) {
      r.summary = p.label() + " already runs " + std::to_string(replicas) + " replicas; nothing to change.";
      r.data = {{"from", old}, {"to", replicas}, {"changed", false}, {"fingerprint", fingerprint}};
      co_return r;
    }
    const std::string patch_path = path + write_query(dry_run);
    const std::string body = dump(scale_patch(replicas));
    const KubeCall patch_call = call("patch", "deployments/scale", p);
    auto patched = co_await p.client->send("PATCH", patch_path, kMergePatch, body, patch_call);
    if (!patched) {
      co_return tl::unexpected(patched.error());
    }
    const std::int64_t now = at_or(*patched, "/spec/replicas", replicas);
    r.summary = std::string(dry_run ? "would scale " : "Scaled ") + p.label() + " (deployment " + p.object() +
                "): replicas " + std::to_string(old) + " → " + std::to_string(now);
    r.data = {{"namespace", p.namespace_name}, {"deployment", p.deployment}, {"from", old}, {"to", now},
              {"changed", true}, {"dry_run", dry_run}, {"fingerprint", fingerprint}};
    co_return r;
  }

  asio::awaitable<Result<ActionResult>> deploy(ActionRequest request, Place p, bool dry_run) {
    const std::string tag = request.params.value("version", "");
    // Checked before anything is sent: the tag is the one part of the image from chat.
    if (!valid_image_tag(tag)) {
      co_return fail(Errc::invalid_input, "'" + tag.substr(0, 40) +
                                              "' is not a valid image tag (letters, digits, '_', '.', '-'; at most 128)");
    }
    if (p.settings.image.empty()) {
      co_return fail(Errc::invalid_input, "no image repository is configured for " + p.label() +
                                              " (actions.kubernetes.targets." + p.target + ".image)");
    }
    const std::string image = p.settings.image + ":" + tag;
    auto live = co_await get_deployment(p);
    if (!live) {
      co_return tl::unexpected(live.error());
    }
    const std::string container = p.container();
    const auto old = image_of(*live, container);
    if (!old) {
      co_return fail(Errc::invalid_input, "deployment " + p.object() + " has no container `" + container +
                                              "` (it has: " + images_text(*live) + "); set actions.kubernetes.targets." +
                                              p.target + ".container");
    }
    json fingerprint = fingerprint_base("rollout.deploy", p);
    fingerprint["container"] = container;
    fingerprint["from"] = *old;
    fingerprint["to"] = image;
    ActionResult r;
    if (*old == image) {
      r.summary = p.label() + " already runs " + image + "; nothing to deploy.";
      r.data = {{"from", *old}, {"to", image}, {"changed", false}, {"fingerprint", fingerprint}};
      co_return r;
    }
    const json body = image_patch(container, image);
    auto patched = co_await patch_deployment(p, kStrategicMerge, body, dry_run);
    if (!patched) {
      co_return tl::unexpected(patched.error());
    }
    const std::string now = image_of(*patched, container).value_or(image);
    r.summary = std::string(dry_run ? "would deploy " : "Deploying ") + tag + " to " + p.label() + " (deployment " +
                p.object() + ", container " + container + "): image " + *old + " → " + now;
    r.data = {{"namespace", p.namespace_name}, {"deployment", p.deployment}, {"container", container},
              {"from", *old}, {"to", now}, {"changed", true}, {"dry_run", dry_run}, {"fingerprint", fingerprint},
              {"generation", at_or(*patched, "/metadata/generation", std::int64_t{0})}};
    co_return r;
  }

  asio::awaitable<Result<ActionResult>> undo(ActionRequest request, Place p, bool dry_run) {
    const std::int64_t to = request.params.contains("revision") && request.params["revision"].is_number_integer()
                                ? request.params["revision"].get<std::int64_t>()
                                : 0;
    auto live = co_await get_deployment(p);
    if (!live) {
      co_return tl::unexpected(live.error());
    }
    auto sets = co_await list_replica_sets(p, *live);
    if (!sets) {
      co_return tl::unexpected(sets.error());
    }
    auto plan = plan_undo(*live, *sets, to);
    const std::string container = p.container();
    const std::string current_image = image_of(*live, container).value_or(images_text(*live));
    const auto from_revision = revision_of(*live);
    json fingerprint = fingerprint_base("rollout.undo", p);
    fingerprint["from_revision"] = from_revision.value_or(0);
    fingerprint["from"] = current_image;
    ActionResult r;
    if (!plan && plan.error().code == Errc::not_found) {
      // "no history" is an answer, not a failure.
      r.summary = p.label() + ": " + plan.error().message + "; nothing to roll back to.";
      r.data = {{"changed", false}, {"fingerprint", fingerprint}};
      co_return r;
    }
    if (!plan) {
      co_return tl::unexpected(plan.error());
    }
    // The restored template, shaped as a Deployment for image_of().
    const json restored = {{"spec", {{"template", plan->template_}}}};
    const std::string target_image = image_of(restored, container).value_or(images_text(restored));
    fingerprint["to_revision"] = plan->to_revision;
    fingerprint["to"] = target_image;
    if (plan->nothing_to_do) {
      r.summary = p.label() + " is already at revision " + std::to_string(plan->to_revision) + " (" + target_image +
                  "); " + plan->message + ".";
      r.data = {{"changed", false}, {"to_revision", plan->to_revision}, {"fingerprint", fingerprint}};
      co_return r;
    }
    auto patched = co_await patch_deployment(p, kJsonPatch, plan->patch, dry_run);
    if (!patched) {
      co_return tl::unexpected(patched.error());
    }
    const std::string from_text = from_revision ? "revision " + std::to_string(*from_revision) : "the current revision";
    r.summary = std::string(dry_run ? "would roll back " : "Rolling back ") + p.label() + " (deployment " + p.object() +
                "): " + from_text + " → revision " + std::to_string(plan->to_revision) + ", image " + current_image +
                " → " + target_image;
    r.data = {{"namespace", p.namespace_name}, {"deployment", p.deployment},
              {"from_revision", from_revision.value_or(0)}, {"to_revision", plan->to_revision},
              {"from", current_image}, {"to", target_image}, {"changed", true}, {"dry_run", dry_run},
              {"fingerprint", fingerprint},
              {"generation", at_or(*patched, "/metadata/generation", std::int64_t{0})}};
    co_return r;
  }

  asio::awaitable<Result<ActionResult>> status(Place p) {
    auto live = co_await get_deployment(p);
    if (!live) {
      co_return tl::unexpected(live.error());
    }
    const RolloutStatus s = rollout_status(*live);
    const auto revision = revision_of(*live);
    ActionResult r;
    std::string state = s.state == RolloutState::done ? "rolled out" : s.state == RolloutState::failed ? "FAILED" : "in progress";
    r.summary = p.label() + ": " + state + " — " + s.message + (s.failure.empty() ? "" : " (" + s.failure + ")") +
                "; revision " + (revision ? std::to_string(*revision) : std::string("?")) + "; images " +
                images_text(*live) + "; " + std::to_string(s.updated) + "/" + std::to_string(s.desired) +
                " updated, " + std::to_string(s.available) + "/" + std::to_string(s.desired) + " available";
    r.data = {{"namespace", p.namespace_name}, {"deployment", p.deployment}, {"state", state},
              {"message", s.message},          {"revision", revision.value_or(0)}, {"images", images_text(*live)},
              {"desired", s.desired},          {"updated", s.updated},     {"available", s.available}};
    if (s.state == RolloutState::failed) {
      const json current = *live;
      const NextStep next = co_await next_step(p, current);
      if (next.rollback) {
        r.suggestions.push_back(*next.rollback);
      } else {
        r.summary += "\n" + next.instead;
      }
    }
    co_return r;
  }

  // Polls the Deployment until kubectl's status logic says done or failed,
  // at most follow_timeout / follow_interval + 1 times. A paused Deployment
  // does not roll out, so it is answered at once.
  asio::awaitable<FollowOutcome> follow_rollout(Place p) {
    const auto& config = backend_->config;
    const auto started = backend_->clock->now();
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    const auto polls = config.follow_timeout / std::max(config.follow_interval, std::chrono::milliseconds(1)) + 1;
    int errors = 0;
    std::string last = "no answer yet";
    json last_live;
    for (std::int64_t i = 0; i < polls; ++i) {
      if (i > 0) {
        timer.expires_after(config.follow_interval);
        co_await timer.async_wait(asio::use_awaitable);
      }
      auto live = co_await get_deployment(p);
      if (!live) {
        last = live.error().message;
        if (++errors >= kMaxFollowErrors) {
          break;
        }
        continue;
      }
      errors = 0;
      last_live = *live;
      const RolloutStatus s = rollout_status(*live);
      last = s.message;
      const auto elapsed_s =
          std::chrono::duration_cast<std::chrono::seconds>(backend_->clock->now() - started).count();
      FollowOutcome outcome;
      outcome.data = {{"state", s.state == RolloutState::done ? "done" : "failed"}, {"message", s.message},
                      {"desired", s.desired},
                      {"updated", s.updated},
                      {"available", s.available},
                      {"elapsed_s", elapsed_s},
                      {"images", images_text(*live)},
                      {"revision", revision_of(*live).value_or(0)}};
      if (s.state == RolloutState::done) {
        outcome.ok = true;
        outcome.summary = p.target + " rolled out in " + format_duration(elapsed_s) + " in " + p.env + " (" +
                          std::to_string(s.available) + "/" + std::to_string(s.desired) + " available)";
        co_return outcome;
      }
      if (at_or(*live, "/spec/paused", false)) {
        outcome.data["state"] = "paused";
        outcome.summary = "⏸ " + p.target + " in " + p.env + " is paused: the change is saved but does not roll out "
                          "until the rollout is resumed (`kubectl rollout resume deployment/" + p.deployment + " -n " +
                          p.namespace_name + "`)";
        co_return outcome;
      }
      if (s.state == RolloutState::failed) {
        const json current = *live;
        const NextStep next = co_await next_step(p, current);
        outcome.summary = "⚠ " + p.target + " in " + p.env + " failed to roll out: " +
                          (s.failure.empty() ? s.message : s.failure) + " — " +
                          (next.rollback ? "consider `" + next.rollback->command + "`" : next.instead);
        if (next.rollback) {
          outcome.suggestions.push_back(*next.rollback);
        }
        co_return outcome;
      }
    }
    FollowOutcome outcome;
    outcome.data = {{"state", "timeout"}, {"message", last}};
    const Suggestion status{"Status of " + p.target, "!status " + p.target + " " + p.env};
    std::string advice = "check `" + status.command + "`";
    if (last_live.is_object()) {
      const NextStep next = co_await next_step(p, last_live);
      if (next.rollback) {
        advice += " or consider `" + next.rollback->command + "`";
        outcome.suggestions.push_back(*next.rollback);
      } else {
        advice += "; " + next.instead;
      }
    }
    outcome.summary = "⚠ " + p.target + " in " + p.env + " had not rolled out after " +
                      format_duration(std::chrono::duration_cast<std::chrono::seconds>(config.follow_timeout).count()) +
                      ": " + last + " — " + advice;
    outcome.suggestions.push_back(status);
    co_return outcome;
  }

  const ActionSpec& spec_;
  std::shared_ptr<const Backend> backend_;
};

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
        node.fail("actions", "'" + name + "' is not a Kubernetes action (restart, scale, rollout.deploy, rollout.undo, "
                                          "rollout.status)");
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
    if (spec == nullptr) {
      throw ConfigError("actions.kubernetes.actions: unknown action " + name);
    }
    actions.push_back(std::make_unique<KubeAction>(*spec, shared));
  }
  return actions;
}

}  // namespace opsgate::actions::kubernetes
