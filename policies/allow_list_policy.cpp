#include "policies/allow_list_policy.hpp"

#include <algorithm>

#include "policies/glob.hpp"

namespace opsgate::policies {

namespace {

bool any_match(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return glob_match(pattern, value); });
}

}  // namespace

AllowListPolicy::AllowListPolicy(std::vector<AllowRule> rules) : rules_(std::move(rules)) {}

Decision AllowListPolicy::evaluate(const Principal& principal, const ActionSpec& spec, const ActionRequest& request,
                                   const RequestContext& /*context*/) const {
  const std::string env = request.params.contains("env") && request.params["env"].is_string()
                              ? request.params["env"].get<std::string>()
                              : std::string{};
  for (const auto& rule : rules_) {
    if (!any_match(rule.subjects, principal.id) || !any_match(rule.actions, spec.name)) {
      continue;
    }
    if (!rule.envs.empty() && (env.empty() || std::find(rule.envs.begin(), rule.envs.end(), env) == rule.envs.end())) {
      continue;
    }
    Decision d;
    d.effect = Effect::allow;
    d.rule_ids = {rule.id};
    d.explanation = "allowed: rule " + rule.id;
    return d;
  }
  Decision d;
  d.effect = Effect::deny;
  d.explanation = "denied: no rule allows " + principal.id + " to run " + spec.name +
                  (env.empty() ? std::string{} : " in " + env) + " (deny by default)";
  return d;
}

bool AllowListPolicy::may_approve(const Principal& /*principal*/, const ApprovalRequirement& /*requirement*/) const {
  return false;  // the allow-list has no approvals
}

std::unique_ptr<PolicyEngine> make_allow_list_policy(const ConfigNode& node) {
  std::vector<AllowRule> rules;
  const ConfigNode list = node.child("allow");
  std::size_t index = 0;
  for (const auto& item : list.items()) {
    AllowRule rule;
    rule.id = item.str_or("id", "allow[" + std::to_string(index++) + "]");
    rule.subjects = item.strings_or("subjects");
    rule.actions = item.strings_or("actions");
    rule.envs = item.strings_or("envs");
    if (rule.subjects.empty()) {
      item.fail("subjects", "list at least one subject, e.g. [shell:alice] or [\"*\"]");
    }
    if (rule.actions.empty()) {
      item.fail("actions", "list at least one action or glob, e.g. [restart, metrics.*]");
    }
    for (const auto& action : rule.actions) {
      const bool known = std::any_of(action_catalogue().begin(), action_catalogue().end(),
                                     [&](const ActionSpec& spec) { return glob_match(action, spec.name); });
      if (!known) {
        item.fail("actions", "'" + action + "' matches no action in the catalogue (see `opsgate --help` or README)");
      }
    }
    item.finish();
    rules.push_back(std::move(rule));
  }
  node.finish();
  return std::make_unique<AllowListPolicy>(std::move(rules));
}

}  // namespace opsgate::policies
