#include "actions/kubernetes/kube_action.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::kubernetes {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// `restart`: a rolling restart, as `kubectl rollout restart` does it (the
// restartedAt template annotation), with the resourceVersion as precondition.
class RestartAction final : public KubeAction {
 public:
  using KubeAction::KubeAction;

 private:
  asio::awaitable<Result<ActionResult>> apply(ActionRequest /*request*/, Place p, bool dry_run) override {
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
};

}  // namespace

std::unique_ptr<opsgate::Action> make_restart_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend) {
  return std::make_unique<RestartAction>(spec, std::move(backend));
}

}  // namespace opsgate::actions::kubernetes
