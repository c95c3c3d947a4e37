#pragma once
// Extension point: the approval workflow, as the pipeline sees it. The
// pipeline decides; when a decision needs people (an approval, a vote, a
// cancellation, the list of pending approvals, a rate-limit slot) it asks
// the workflow, which keeps its own state and audit trail and tells the
// pipeline back what to say and, at quorum, what to run. The implementation
// is src/approval/ (approval::Workflow). Any strand.

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/decision.hpp"
#include "src/core/step.hpp"

namespace opsgate {

// A message for one conversation, on behalf of one request (whose trail
// records the reply).
struct Notice {
  Step to;
  OutboundMessage message;
};

struct WorkflowReply {
  std::vector<Notice> notices;  // send in order
  // At quorum, after every check: run this request (the original one, in its
  // own thread) and then report the outcome with finished().
  std::optional<Step> run;
  std::string approval_id;  // of `run`
};

class ApprovalWorkflow {
 public:
  virtual ~ApprovalWorkflow() = default;
  // Reserves the request's rate-limit slots (decision.rate_limits) in the
  // same transaction that checks them. Empty when admitted, else the refusal.
  virtual boost::asio::awaitable<std::string> admit(Step step, Decision decision) = 0;
  // A needs_approval decision: preview, store the approval, tell the thread.
  virtual boost::asio::awaitable<WorkflowReply> ask(Step step, Decision decision) = 0;
  // approve, deny, cancel and approvals.list from step.event.principal.
  // Votes and cancellations count only from the exact command (parser
  // "command", which platform buttons go through too).
  virtual boost::asio::awaitable<WorkflowReply> handle(Step step) = 0;
  // The granted request ran (ok) or failed.
  virtual boost::asio::awaitable<void> finished(std::string approval_id, bool ok) = 0;
  // Expires what is past its deadline; the notices tell the threads.
  virtual boost::asio::awaitable<WorkflowReply> expire() = 0;
};

// Approvals that belong to something other than a chat request (deployment
// gates, src/gates/): told of each decision the workflow announces; the
// pipeline runs nothing they own. Any strand.
class ApprovalOwner {
 public:
  virtual ~ApprovalOwner() = default;
  // outcome: granted, denied, expired, cancelled. nullopt: not this owner's
  // approval. Else the text to post in the approval's thread instead of the
  // workflow's (which would say the request runs now).
  virtual boost::asio::awaitable<std::optional<std::string>> decided(std::string approval_id, std::string outcome,
                                                                     std::string detail) = 0;
};

// Is this action one of the workflow's (handled by handle())?
bool is_approval_action(std::string_view action);
// A vote or a cancellation: only a person's exact command may produce it.
bool is_vote_action(std::string_view action);

}  // namespace opsgate
