#pragma once
// The simplest policy: a list of allow rules (subjects x actions x envs);
// anything no rule allows is denied. Immutable after construction; any thread.

#include <memory>
#include <string>
#include <vector>

#include "src/core/config_node.hpp"
#include "src/core/policy_engine.hpp"

namespace opsgate::policies {

struct AllowRule {
  std::string id;                     // "allow[2]" or the rule's `id`
  std::vector<std::string> subjects;  // principal ids or globs ("shell:*", "*")
  std::vector<std::string> actions;   // action names or globs ("metrics.*")
  std::vector<std::string> envs;      // empty: any environment
};

class AllowListPolicy final : public PolicyEngine {
 public:
  explicit AllowListPolicy(std::vector<AllowRule> rules);
  Decision evaluate(const Principal& principal, const ActionSpec& spec, const ActionRequest& request,
                    const RequestContext& context) const override;
  bool may_approve(const Principal& principal, const ApprovalRequirement& requirement) const override;

 private:
  std::vector<AllowRule> rules_;
};

// `node` is the config's `policy` mapping: {allow: [{subjects, actions, envs}]}.
std::unique_ptr<PolicyEngine> make_allow_list_policy(const ConfigNode& node);

}  // namespace opsgate::policies
