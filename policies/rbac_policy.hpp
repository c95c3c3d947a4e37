#pragma once
// The RBAC policy engine: groups, roles, bindings, rules (allow / deny /
// require_approval, optionally in a time window), break-glass and rate limits,
// loaded from a YAML policy file into an immutable snapshot. Deny by default;
// an explicit deny beats any allow. Thread-safe: evaluation only reads.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/container/small_vector.hpp>

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

  // Hash for string keys that also looks up string_views (no copy per lookup).
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  using GroupIds = boost::container::small_vector<std::uint32_t, 16>;  // sorted, unique

  // A subject list compiled at load: group ids, role names, exact principal
  // ids / platform groups (sorted), and globs.
  struct Subjects {
    std::vector<std::uint32_t> groups;
    std::vector<std::string> roles;
    std::vector<std::string> exact;
    std::vector<std::string> globs;
    bool empty() const { return groups.empty() && roles.empty() && exact.empty() && globs.empty(); }
  };
  struct Binding {
    Subjects subjects;
    std::vector<std::string> subject_text;  // as written
    std::vector<std::string> role_names;
    std::vector<const Role*> roles;
  };
  // The rules that can match one (action, environment), in file order:
  // those naming no target, and per target those naming it.
  struct RuleSlot {
    std::vector<std::uint32_t> any_target;
    StringMap<std::vector<std::uint32_t>> by_target;
  };

  Subjects compile_subjects(const std::vector<std::string>& subjects) const;
  GroupIds group_ids(const Principal& principal) const;
  bool matches(const Subjects& subjects, const Principal& principal, const GroupIds& groups) const;
  const Target* find_target(std::string_view name_or_alias) const;
  void build_indexes();

  std::string source_;
  std::shared_ptr<const Inventory> inventory_;
  std::vector<std::string> group_names_;                 // by group id
  StringMap<std::uint32_t> group_id_;                    // group name -> id
  StringMap<std::vector<std::uint32_t>> member_groups_;    // subject id -> group ids
  StringMap<std::vector<std::uint32_t>> platform_groups_;  // platform group -> group ids
  std::vector<std::pair<std::string, std::vector<std::uint32_t>>> glob_members_;  // glob -> group ids
  std::unordered_map<std::string, Role> roles_;
  std::vector<Binding> bindings_;
  // Bindings a principal can match: by one of its groups, by its id or a
  // platform group it carries, or (globs, roles) always checked.
  std::vector<std::vector<std::uint32_t>> bindings_by_group_;
  StringMap<std::vector<std::uint32_t>> bindings_by_exact_;
  std::vector<std::uint32_t> bindings_checked_always_;
  std::vector<Rule> rules_;
  std::vector<Subjects> rule_subjects_;  // rules_[i]'s subjects, compiled
  // Per catalogue action, one slot per inventory environment and a last one
  // for a request without (or with an unknown) environment.
  StringMap<std::vector<RuleSlot>> rules_by_action_;
  StringMap<std::size_t> env_slot_;                 // environment name -> index in ActionIndex::by_env
  StringMap<const Target*> target_by_lower_name_;   // lower-case name or alias -> target, as Inventory::find_target
  std::vector<RateLimit> rate_limits_;
  std::unordered_map<std::string, std::string> person_by_principal_;            // principal id -> person
  std::unordered_map<std::string, std::vector<std::string>> principals_of_;      // person -> principal ids
};

// `node` is the policy document (the root of a policy file). Throws ConfigError
// naming file:line: key on the first problem.
std::shared_ptr<const RbacPolicy> load_rbac_policy(const ConfigNode& node, std::shared_ptr<const Inventory> inventory);

}  // namespace opsgate::policies
