#pragma once
// The large policy the policy benchmarks decide on: 1,000 rules, 10,000
// subjects (100 groups of 100 members), 50 targets, two environments; and the
// principals and requests they are asked about, built ahead of timing.

#include <memory>
#include <string>
#include <vector>

#include "policies/rbac_policy.hpp"

namespace opsgate::bench {

inline std::string large_policy_yaml() {
  std::string yaml = "groups:\n";
  for (int g = 0; g < 100; ++g) {
    yaml += "  team-" + std::to_string(g) + ":\n    members: [";
    for (int m = 0; m < 100; ++m) {
      yaml += (m ? ", " : "") + std::string("slack:T1:U") + std::to_string(g * 100 + m);
    }
    yaml += "]\n";
  }
  yaml += "roles:\n  reader: {actions: [\"metrics.*\", logs.search]}\n"
          "  writer: {actions: [restart, scale, \"rollout.*\"], envs: [staging]}\n"
          "  owner: {actions: [restart], targets: [owned]}\n";
  yaml += "bindings:\n";
  for (int g = 0; g < 100; ++g) {
    yaml += "  - {subjects: [group:team-" + std::to_string(g) + "], roles: [reader, writer, owner]}\n";
  }
  yaml += "rules:\n";
  for (int r = 0; r < 1000; ++r) {
    const std::string target = "svc-" + std::to_string(r % 50);
    if (r % 3 == 0) {
      yaml += "  - {id: deny-" + std::to_string(r) + ", match: {actions: [rollout.deploy], targets: [" + target +
              "], channels: [C" + std::to_string(r) + "]}, effect: deny}\n";
    } else if (r % 3 == 1) {
      yaml += "  - {id: approve-" + std::to_string(r) + ", match: {kinds: [write], envs: [prod], targets: [" + target +
              "]}, effect: require_approval, approvers: [group:team-" + std::to_string(r % 100) + "]}\n";
    } else {
      yaml += "  - {id: allow-" + std::to_string(r) + ", match: {actions: [\"metrics.*\"], subjects: [\"slack:T1:U" +
              std::to_string(r) + "\"]}, effect: allow}\n";
    }
  }
  return yaml;
}

inline std::shared_ptr<const Inventory> large_policy_inventory() {
  std::vector<Target> targets;
  for (int t = 0; t < 50; ++t) {
    targets.push_back({"svc-" + std::to_string(t), {}, "team-" + std::to_string(t % 100), {}});
  }
  return std::make_shared<Inventory>(targets, std::vector<Environment>{{"prod", {}}, {"staging", {}}}, "prod");

}

struct LargePolicy {
  std::shared_ptr<const policies::RbacPolicy> policy;
  std::vector<Principal> principals;  // the 10,000 members
  std::vector<ActionRequest> requests;  // restart of each target in each environment
};

inline LargePolicy make_large_policy() {
  LargePolicy large;
  large.policy = policies::load_rbac_policy(ConfigNode::parse(large_policy_yaml(), "bench.yaml"), large_policy_inventory());
  for (int i = 0; i < 10000; ++i) {
    large.principals.push_back(Principal{"slack:T1:U" + std::to_string(i), "", {}});
  }
  for (int i = 0; i < 100; ++i) {
    large.requests.emplace_back("restart", nlohmann::json{{"target", "svc-" + std::to_string(i % 50)}, {"env", i % 2 ? "prod" : "staging"}});
  }
  return large;
}

}  // namespace opsgate::bench
