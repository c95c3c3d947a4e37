#include "src/core/pipeline.hpp"

// What the approval workflow answers (expiries, votes) reaches chat here; a
// granted request runs once, in its own thread.

#include <optional>

#include "src/core/action_catalogue.hpp"

namespace opsgate {

namespace asio = boost::asio;

asio::awaitable<void> Pipeline::expire_approvals() {
  if (deps_.approvals == nullptr) {
    co_return;
  }
  WorkflowReply expired = co_await deps_.approvals->expire();
  co_await deliver(std::move(expired));
}

asio::awaitable<void> Pipeline::deliver(WorkflowReply reply) {
  // The workflow made its own events durable before it said anything.
  Trail none;
  bool owned_grant = false;
  for (auto& notice : reply.notices) {
    if (owner_ != nullptr && !notice.message.approval_id.empty() && !notice.message.approval_outcome.empty()) {
      // A gate's approval: the owner records the decision (and tells the
      // pipeline that asked) before the thread hears it.
      const std::string id = notice.message.approval_id;
      const std::string outcome = notice.message.approval_outcome;
      const std::string detail = notice.message.approval_outcome_text;
      const std::optional<std::string> text = co_await owner_->decided(id, outcome, detail);
      if (text) {
        notice.message.text = *text;
        owned_grant = owned_grant || (outcome == "granted" && reply.run && reply.approval_id == id);
      }
    }
    co_await send(notice.to, none, std::move(notice.message));
  }
  if (!reply.run) {
    co_return;
  }
  if (owned_grant) {
    // Granted is the gate's whole outcome: the pipeline deploys, not opsgate.
    co_await deps_.approvals->finished(reply.approval_id, true);
    co_return;
  }
  // Granted: the original request runs in its own thread, once.
  const Step origin = *reply.run;
  const ActionSpec* spec = find_action(origin.request.action);
  bool ok = false;
  if (spec != nullptr) {
    Trail trail;
    ok = co_await run_action(origin, *spec, trail);
  }
  co_await deps_.approvals->finished(reply.approval_id, ok);
}

}  // namespace opsgate
