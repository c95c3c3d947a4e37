#pragma once
// The flow of one message (DESIGN.md §1): received → understood → decided →
// (ask for approval | run) → replied. A request's audit events are collected
// and made durable together, in one group commit: before a write action
// starts (its `started` event and all before it) and before any reply (a
// reply never claims what a crash could lose); before approval state changes.
// The `replied` event follows without being waited for. Unaddressed text that
// is not understood causes nothing and is not recorded. Approvals, votes and rate-limit slots are the
// approval workflow's (ApprovalWorkflow, implemented in src/approval/).
// Owned by the daemon; on_event may be called from any strand, concurrently.
// The class is defined across pipeline.cpp (the message flow and system
// requests), pipeline_trail.cpp (audit commit and replies), pipeline_run_action.cpp,
// pipeline_approvals.cpp (what the workflow answers) and pipeline_help_text.cpp.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/action_registry.hpp"
#include "src/core/adapter.hpp"
#include "src/core/approval_workflow.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/conversation_memory.hpp"
#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"
#include "src/core/policy_engine.hpp"
#include "src/core/step.hpp"

namespace opsgate {

struct PipelineDeps {
  const IntentParser& parser;
  // Returns the current policy snapshot; policies are swapped whole on reload.
  std::function<std::shared_ptr<const PolicyEngine>()> policy;
  const ActionRegistry& actions;
  AuditLog& audit;
  const Clock& clock;
  std::shared_ptr<const Inventory> inventory;
  std::chrono::seconds action_timeout{60};
  // Without it, needs_approval and votes are refused and rate limits are not enforced.
  ApprovalWorkflow* approvals = nullptr;
  ConversationLimits conversation{};  // recent turns per (thread, person) given to parsers as context
};

class Pipeline final : public EventSink {
 public:
  explicit Pipeline(PipelineDeps deps);

  // Replies go back through the adapter of the event's platform.
  void add_adapter(Adapter& adapter);
  // Deployment gates: their approvals are decided here but never run. Set
  // before events flow; `owner` must outlive the pipeline's work.
  void set_approval_owner(ApprovalOwner* owner) { owner_ = owner; }

  boost::asio::awaitable<void> on_event(ChatEvent event) override;
  boost::asio::awaitable<void> on_event_pipelined(ChatEvent event, std::function<void()> handed_off) override;

  // A request opsgate makes itself, e.g. the triage of an Alertmanager alert:
  // no text to parse, but the same trail (received, parsed, decided, started,
  // finished, replied) and the same policy check for origin.principal (say
  // system:alertmanager; the policy must grant it the action). Only read
  // actions run this way; a needs_approval decision is refused (nobody asked
  // who could be told). The reply goes to origin's platform, channel and thread.
  boost::asio::awaitable<void> on_system_request(ChatEvent origin, ActionRequest request);

  // One pass: the workflow expires pending approvals past their deadline and
  // their threads are told. The daemon calls it at start-up and then periodically.
  boost::asio::awaitable<void> expire_approvals();

 private:
  // The events of one request not yet handed to the log, and whom to tell
  // once later events may be handled (on_event_pipelined).
  struct Trail {
    std::vector<AuditEvent> events;
    std::function<void()> handed_off;  // emptied once called
    // Set once nothing this request still does can be seen by later ones:
    // the next commit then hands off as soon as its events are queued.
    bool may_hand_off = false;
    bool failed = false;  // a commit failed: every later one fails too
    void hand_off();
  };

  // What understanding a message left to do: nothing more (done), or answer
  // it (answer), or decide on step.request (neither).
  struct Understood {
    bool done = false;
    std::string answer;
  };

  boost::asio::awaitable<void> handle(Step step, std::function<void()> handed_off);
  boost::asio::awaitable<void> handle_trail(Step& step, Trail& trail);
  // Parses the message into step.request and records how; replies itself
  // where that is all there is to do.
  boost::asio::awaitable<Understood> understand(Step& step, Trail& trail, const std::string& memory_key);
  // Approvals, votes and rate-limit slots, after the trail is committed;
  // true when the action may run now.
  boost::asio::awaitable<bool> through_workflow(const Step& step, Trail& trail, const ActionSpec& spec,
                                                const Decision& decision);
  void note(Trail& trail, const Step& step, std::string kind, std::string outcome, std::string detail) const;
  // Makes the trail durable (one commit); false, with a log line, if it could not be.
  boost::asio::awaitable<bool> commit(const Step& step, Trail& trail);
  // Commits the trail, then sends (the audit-down answer instead when the
  // commit failed); the `replied` event follows without waiting.
  boost::asio::awaitable<void> reply(const Step& step, Trail& trail, std::string text);
  boost::asio::awaitable<void> send(const Step& step, Trail& trail, OutboundMessage message);
  // Returns true when the action ran and succeeded.
  boost::asio::awaitable<bool> run_action(const Step& step, const ActionSpec& spec, Trail& trail);
  // run_action with a backend: the deadline, the outcome, the reply.
  boost::asio::awaitable<bool> execute(const Step& step, const ActionSpec& spec, Action& action, Trail& trail);
  // After a write that succeeded: follows it until it settles and posts how.
  boost::asio::awaitable<void> follow_write(const Step& step, const ActionSpec& spec, Action& action, Trail& trail,
                                            ActionResult written);
  // Sends what the approval workflow has to say and runs what it granted.
  boost::asio::awaitable<void> deliver(WorkflowReply reply);
  std::string help_text(const Principal& principal) const;
  std::string whoami_text(const Principal& principal) const;

  PipelineDeps deps_;
  ConversationMemory memory_;
  std::map<std::string, Adapter*, std::less<>> adapters_;
  ApprovalOwner* owner_ = nullptr;
};

}  // namespace opsgate
