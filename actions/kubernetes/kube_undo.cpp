#include "actions/kubernetes/kube_action.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::kubernetes {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// `rollout.undo`: back to the previous revision, as `kubectl rollout undo`
// plans it (plan_undo).
class UndoAction final : public KubeAction {
 public:
  using KubeAction::KubeAction;

 private:
  asio::awaitable<Result<ActionResult>> apply(ActionRequest request, Place p, bool dry_run) override {
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
};

}  // namespace

std::unique_ptr<opsgate::Action> make_undo_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend) {
  return std::make_unique<UndoAction>(spec, std::move(backend));
}

}  // namespace opsgate::actions::kubernetes
