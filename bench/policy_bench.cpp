// How long one policy decision takes on a large policy: 1,000 rules and
// 10,000 subjects (100 groups of 100 members). Prints ns per decision.

#include <chrono>
#include <cstdio>
#include <string>

#include "policies/rbac_policy.hpp"

using namespace opsgate;

int main() {
  std::vector<Target> targets;
  for (int t = 0; t < 50; ++t) {
    targets.push_back({"svc-" + std::to_string(t), {}, "team-" + std::to_string(t % 100), {}});
  }
  auto inventory = std::make_shared<Inventory>(targets, std::vector<Environment>{{"prod", {}}, {"staging", {}}}, "prod");

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
  const auto t0 = std::chrono::steady_clock::now();
  const auto policy = policies::load_rbac_policy(ConfigNode::parse(yaml, "bench.yaml"), inventory);
  const auto t1 = std::chrono::steady_clock::now();

  const ActionSpec& restart = *find_action("restart");
  constexpr int kDecisions = 200000;
  int approvals = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kDecisions; ++i) {
    const Principal who{"slack:T1:U" + std::to_string(i % 10000), "", {}};
    const ActionRequest request("restart", {{"target", "svc-" + std::to_string(i % 50)}, {"env", i % 2 ? "prod" : "staging"}});
    const Decision d = policy->evaluate(who, restart, request, RequestContext{"slack", "C1", std::chrono::system_clock::now()});
    approvals += d.effect == Effect::needs_approval ? 1 : 0;
  }
  const auto end = std::chrono::steady_clock::now();
  const double ns = std::chrono::duration<double, std::nano>(end - start).count() / kDecisions;
  std::printf("policy: %zu rules, 10000 subjects, loaded in %.1f ms\n", policy->rule_count(),
              std::chrono::duration<double, std::milli>(t1 - t0).count());
  std::printf("evaluate: %.2f us per decision over %d decisions (%d needed approval)\n", ns / 1000.0, kDecisions,
              approvals);
  return 0;
}
