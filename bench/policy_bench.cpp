// How long one policy decision takes on a large policy: 1,000 rules and
// 10,000 subjects (100 groups of 100 members), and how long loading it takes.
// Prints µs per decision; the inputs are built before the clock starts.

#include <chrono>
#include <cstdio>
#include <string>

#include "bench/large_policy.hpp"

using namespace opsgate;

int main() {
  const std::string yaml = bench::large_policy_yaml();
  const auto inventory = bench::large_policy_inventory();
  const auto t0 = std::chrono::steady_clock::now();
  const auto policy = policies::load_rbac_policy(ConfigNode::parse(yaml, "bench.yaml"), inventory);
  const auto t1 = std::chrono::steady_clock::now();

  const bench::LargePolicy large = bench::make_large_policy();
  const ActionSpec& restart = *find_action("restart");
  const RequestContext context{"slack", "C1", std::chrono::system_clock::now()};
  constexpr int kDecisions = 200000;
  int approvals = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kDecisions; ++i) {
    const Decision d = policy->evaluate(large.principals[i % 10000], restart, large.requests[i % 100], context);
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
