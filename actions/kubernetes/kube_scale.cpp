#include "actions/kubernetes/kube_action.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::kubernetes {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// `scale`: the Deployment's scale subresource, within the target's
// min_replicas..max_replicas.
class ScaleAction final : public KubeAction {
 public:
  using KubeAction::KubeAction;

 private:
  asio::awaitable<Result<ActionResult>> apply(ActionRequest request, Place p, bool dry_run) override {
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
};

}  // namespace

std::unique_ptr<opsgate::Action> make_scale_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend) {
  return std::make_unique<ScaleAction>(spec, std::move(backend));
}

}  // namespace opsgate::actions::kubernetes
