#include "actions/kubernetes/kube_action.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::kubernetes {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// `rollout.deploy`: a new image tag for the target's container, from the
// configured repository only.
class DeployAction final : public KubeAction {
 public:
  using KubeAction::KubeAction;

 private:
  asio::awaitable<Result<ActionResult>> apply(ActionRequest request, Place p, bool dry_run) override {
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
};

}  // namespace

std::unique_ptr<opsgate::Action> make_deploy_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend) {
  return std::make_unique<DeployAction>(spec, std::move(backend));
}

}  // namespace opsgate::actions::kubernetes
