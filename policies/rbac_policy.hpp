#pragma once
// The RBAC policy engine: groups, roles, bindings, rules (allow / deny /
// require_approval, optionally in a time window), break-glass and rate limits,
// loaded from a YAML policy file into an immutable snapshot. Deny by default;
// an explicit deny beats any allow. Thread-safe: evaluation only reads.

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "policies/time_window.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/core/policy_engine.hpp"

namespace opsgate::policies {

struct Role {
  std::string name;
  std::vector<std::string> actions;  // names or globs
  std::vector<std::string> envs;     // empty: every environment
  std::vector<std::string> targets;  // empty: every target; "owned": the subject's team's targets
  bool break_glass = false;
};

enum class RuleEffect { allow, deny, require_approval };

struct Rule {
  std::string id;
  std::string description;
  // Match conditions; an empty list matches anything.
  std::vector<std::string> actions;
  std::vector<std::string> kinds;  // read, write, meta
  std::vector<std::string> envs;
  std::vector<std::string> targets;
  std::vector<std::string> teams;  // the target's owning team
  std::vector<std::string> channels;
  std::vector<std::string> platforms;
  std::vector<std::string> subjects;  // principal ids/globs, group:NAME, platform groups
  std::optional<TimeWindow> window;
  RuleEffect effect = RuleEffect::deny;
  std::string message;
  ApprovalRequirement approval;  // for require_approval
  bool break_glass_overrides = false;  // break-glass skips this rule (approvals always are)
};

struct RateLimit {
  std::string id;
  std::vector<std::string> actions;  // resolved names
  std::string per;                   // subject | target | team
  int limit = 0;
  std::chrono::seconds window{3600};
};

class RbacPolicy final : public PolicyEngine {
 public:
  Decision evaluate(const Principal& principal, const ActionSpec& spec, const ActionRequest& request,
                    const RequestContext& context) const override;
  bool may_approve(const Principal& principal, const ApprovalRequirement& requirement) const override;
  std::string describe(const Principal& principal) const override;
  std::string person_of(std::string_view principal_id) const override;

  // The declared groups a principal belongs to (for whoami and tests).
  std::vector<std::string> groups_of(const Principal& principal) const;
  std::vector<std::string> roles_of(const Principal& principal) const;
  std::size_t rule_count() const { return rules_.size(); }
  const std::string& source() const { return source_; }

 private:
  friend std::shared_ptr<const RbacPolicy> load_rbac_policy(const ConfigNode&, std::shared_ptr<const Inventory>);
  bool in_subjects(const std::vector<std::string>& subjects, const Principal& principal,
                   const std::unordered_set<std::string>& groups) const;
  std::unordered_set<std::string> group_set(const Principal& principal) const;

  std::string source_;
  std::shared_ptr<const Inventory> inventory_;
  std::unordered_map<std::string, std::vector<std::string>> member_groups_;    // subject id -> groups
  std::unordered_map<std::string, std::vector<std::string>> platform_groups_;  // platform group -> groups
  std::vector<std::pair<std::string, std::vector<std::string>>> glob_members_;  // glob -> groups
  std::unordered_map<std::string, Role> roles_;
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> bindings_;  // subjects, roles
  std::vector<Rule> rules_;
  // For each catalogue action, the rules whose actions and kinds can match it,
  // in file order: a decision scans those only.
  std::unordered_map<std::string, std::vector<std::size_t>> rules_by_action_;
  std::vector<RateLimit> rate_limits_;
  std::unordered_map<std::string, std::string> person_by_principal_;            // principal id -> person
  std::unordered_map<std::string, std::vector<std::string>> principals_of_;      // person -> principal ids
};

// `node` is the policy document (the root of a policy file). Throws ConfigError
// naming file:line: key on the first problem.
std::shared_ptr<const RbacPolicy> load_rbac_policy(const ConfigNode& node, std::shared_ptr<const Inventory> inventory);

}  // namespace opsgate::policies
