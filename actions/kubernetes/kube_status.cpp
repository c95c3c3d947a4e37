#include "actions/kubernetes/kube_action.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::kubernetes {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// `rollout.status`: kubectl's rollout status logic, and what to do next
// when the rollout failed. A read: no preview, nothing to follow.
class StatusAction final : public KubeAction {
 public:
  using KubeAction::KubeAction;

 private:
  bool writes() const override { return false; }

  asio::awaitable<Result<ActionResult>> apply(ActionRequest /*request*/, Place p, bool /*dry_run*/) override {
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
};

}  // namespace

std::unique_ptr<opsgate::Action> make_status_action(const ActionSpec& spec, std::shared_ptr<const Backend> backend) {
  return std::make_unique<StatusAction>(spec, std::move(backend));
}

}  // namespace opsgate::actions::kubernetes
