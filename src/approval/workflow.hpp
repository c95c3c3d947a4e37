#pragma once
// The approval workflow (DESIGN.md §1, step 4): ask, vote, re-check at grant
// time, cancel, list, expire, and the rate-limit reservations that go with
// them. State lives in the approval store (SQLite); this class holds only
// references, so any strand may call it concurrently. Owned by the daemon
// beside the pipeline, which calls it through ApprovalWorkflow.

#include <chrono>
#include <functional>
#include <memory>

#include "src/core/action_registry.hpp"
#include "src/core/approval_service.hpp"
#include "src/core/approval_workflow.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/policy_engine.hpp"

namespace opsgate::approval {

struct WorkflowDeps {
  ApprovalService& store;
  RateLimiter& limiter;
  AuditLog& audit;
  const Clock& clock;
  // The current policy snapshot: votes and the grant are judged against it.
  std::function<std::shared_ptr<const PolicyEngine>()> policy;
  const ActionRegistry& actions;           // for dry-run previews
  std::chrono::seconds preview_timeout{60};
};

class Workflow final : public ApprovalWorkflow {
 public:
  explicit Workflow(WorkflowDeps deps) : deps_(std::move(deps)) {}

  boost::asio::awaitable<std::string> admit(Step step, Decision decision) override;
  boost::asio::awaitable<WorkflowReply> ask(Step step, Decision decision) override;
  boost::asio::awaitable<WorkflowReply> handle(Step step) override;
  boost::asio::awaitable<void> finished(std::string approval_id, bool ok) override;
  boost::asio::awaitable<WorkflowReply> expire() override;

 private:
  boost::asio::awaitable<WorkflowReply> vote(Step step, bool approve);
  boost::asio::awaitable<WorkflowReply> cancel(Step step);
  boost::asio::awaitable<WorkflowReply> list(Step step);
  // After quorum: the preview and the policy again, then the grant.
  boost::asio::awaitable<WorkflowReply> grant(Step voter, Approval approval);
  boost::asio::awaitable<bool> record(const Step& step, std::string kind, std::string outcome, std::string detail);
  // The action's dry-run preview (nullopt: it has none).
  boost::asio::awaitable<Result<std::optional<ActionPreview>>> preview(const Step& step);

  WorkflowDeps deps_;
};

}  // namespace opsgate::approval
