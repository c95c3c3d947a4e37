#pragma once
// What the policy engine decided about one request. A refusal is a value.

#include <chrono>
#include <string>
#include <vector>

namespace opsgate {

enum class Effect { allow, deny, needs_approval };

struct ApprovalRequirement {
  std::vector<std::string> approvers;  // subjects, "group:NAME" or "role:NAME"
  int quorum = 1;                      // distinct approvers, never the requester
  std::chrono::seconds expiry{3600};
};

struct Decision {
  Effect effect = Effect::deny;
  std::vector<std::string> rule_ids;  // every rule that matched
  std::string explanation;            // "denied: rule prod-freeze (...)"
  ApprovalRequirement approval;       // when effect == needs_approval
  bool break_glass = false;
};

std::string_view to_string(Effect effect);

}  // namespace opsgate
