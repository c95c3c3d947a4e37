#pragma once
// Extension point: decides from the verified principal and the validated
// request, never from message text. Synchronous, no I/O, thread-safe.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "src/core/action_catalogue.hpp"
#include "src/core/action_request.hpp"
#include "src/core/chat_event.hpp"
#include "src/core/decision.hpp"
#include "src/core/principal.hpp"

namespace opsgate {

// Facts about where and when the request was made, for rules that match on
// them. Every field is required: a context without `now` once judged every
// freeze window at 1970. The daemon (with its injected clock) and
// `opsgate policy check` build it the same way, through this constructor.
struct RequestContext {
  RequestContext(std::string platform_name, std::string channel_name, std::chrono::system_clock::time_point at)
      : platform(std::move(platform_name)), channel(std::move(channel_name)), now(at) {}
  std::string platform;
  std::string channel;
  std::chrono::system_clock::time_point now;
};

class PolicyEngine {
 public:
  virtual ~PolicyEngine() = default;
  virtual Decision evaluate(const Principal& principal, const ActionSpec& spec, const ActionRequest& request,
                            const RequestContext& context) const = 0;
  // May this principal vote on an approval that requires `requirement`?
  virtual bool may_approve(const Principal& principal, const ApprovalRequirement& requirement) const = 0;
  // "groups: shop; roles: reader, staging-operator", for whoami.
  virtual std::string describe(const Principal& principal) const = 0;
  // The person a principal belongs to (the policy's `people:` links one
  // person's principals across platforms). Self-approval, quorum and rate
  // limits per subject count persons. An unlinked principal is its own person.
  virtual std::string person_of(std::string_view principal_id) const { return std::string(principal_id); }
};

}  // namespace opsgate
