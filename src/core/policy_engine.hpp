#pragma once
// Extension point: decides from the verified principal and the validated
// request, never from message text. Synchronous, no I/O, thread-safe.

#include <chrono>

#include "src/core/action_catalogue.hpp"
#include "src/core/action_request.hpp"
#include "src/core/chat_event.hpp"
#include "src/core/decision.hpp"
#include "src/core/principal.hpp"

namespace opsgate {

// Facts about where and when the request was made, for rules that match on them.
struct RequestContext {
  std::string platform;
  std::string channel;
  std::chrono::system_clock::time_point now{};
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
};

}  // namespace opsgate
