#pragma once
// What the policy engine decided about one request. A refusal is a value.

#include <chrono>
#include <string>
#include <vector>

namespace opsgate {

enum class Effect { allow, deny, needs_approval };

struct ApprovalRequirement {
  std::string rule_id;                 // the rule that asked for approval
  std::vector<std::string> approvers;  // subjects, "group:NAME" or "role:NAME"
  int quorum = 1;                      // distinct approvers, never the requester
  std::chrono::seconds expiry{3600};
};

// A rate limit the pipeline must check (the count lives in SQLite, so the
// policy engine itself stays free of I/O).
struct RateLimitCheck {
  std::string id;
  std::vector<std::string> actions;  // counted actions (resolved from globs)
  std::string per;                   // "subject", "target" or "team"
  std::vector<std::string> targets;  // per target/team: the targets counted together
  int limit = 0;
  std::chrono::seconds window{3600};
};

struct Decision {
  Effect effect = Effect::deny;
  std::vector<std::string> rule_ids;  // every rule that matched
  std::string explanation;            // "denied: rule prod-freeze (...)"
  ApprovalRequirement approval;       // when effect == needs_approval
  bool break_glass = false;           // allowed by break-glass: announce loudly
  std::vector<RateLimitCheck> rate_limits;
};

std::string_view to_string(Effect effect);

}  // namespace opsgate
