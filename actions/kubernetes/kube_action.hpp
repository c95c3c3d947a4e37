#pragma once
// One Kubernetes action (private to actions/kubernetes): what every action
// shares — the place from the request, a 409 retried once after a fresh GET,
// the preview as the same request with dryRun=All, the follow loop — with
// apply() written once per action (kube_restart.cpp, kube_scale.cpp, …).
// Owned by the action registry; execute/preview/follow may run concurrently.

#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>

#include "actions/kubernetes/kube_backend.hpp"
#include "src/core/action.hpp"

namespace opsgate::actions::kubernetes {

class KubeAction : public opsgate::Action {
 public:
  KubeAction(const ActionSpec& spec, std::shared_ptr<const Backend> backend)
      : spec_(spec), backend_(std::move(backend)) {}

  const ActionSpec& spec() const override { return spec_; }
  boost::asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override;
  boost::asio::awaitable<Result<std::optional<ActionPreview>>> preview(ActionRequest request) override;
  boost::asio::awaitable<std::optional<FollowOutcome>> follow(ActionRequest request, ActionResult result) override;

 protected:
  // The action against the live Deployment, or what it would do (dryRun=All).
  virtual boost::asio::awaitable<Result<ActionResult>> apply(ActionRequest request, Place p, bool dry_run) = 0;
  // false for a read: no preview, nothing to follow.
  virtual bool writes() const { return true; }

  const ActionSpec& spec_;
  std::shared_ptr<const Backend> backend_;

 private:
  boost::asio::awaitable<FollowOutcome> follow_rollout(Place p);
};

// One per action; `backend` is shared by the actions of one config.
std::unique_ptr<opsgate::Action> make_restart_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend);
std::unique_ptr<opsgate::Action> make_scale_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend);
std::unique_ptr<opsgate::Action> make_deploy_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend);
std::unique_ptr<opsgate::Action> make_undo_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend);
std::unique_ptr<opsgate::Action> make_status_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend);

}  // namespace opsgate::actions::kubernetes
