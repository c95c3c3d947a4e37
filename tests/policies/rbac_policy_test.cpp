#include <doctest/doctest.h>

#include "policies/rbac_policy.hpp"
#include "policies/time_window.hpp"

using namespace opsgate;
using namespace opsgate::policies;
using nlohmann::json;

namespace {

std::shared_ptr<const Inventory> inventory() {
  return std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}, {"checkout", {}, "shop", {}}, {"payments-api", {"pay"}, "payments", {}}},
      std::vector<Environment>{{"prod", {"live"}}, {"staging", {}}}, "prod");
}

std::shared_ptr<const RbacPolicy> policy(const std::string& yaml) {
  return load_rbac_policy(ConfigNode::parse(yaml, "policy.yaml"), inventory());
}

std::string load_error(const std::string& yaml) {
  try {
    policy(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::chrono::system_clock::time_point at(std::int64_t unix_s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_s));
}

Decision decide(const RbacPolicy& p, const std::string& who, const std::string& action, json params,
                std::chrono::system_clock::time_point now = at(1764075600), std::vector<std::string> groups = {},
                std::string break_glass = "") {
  const ActionSpec& spec = *find_action(action);
  return p.evaluate(Principal{who, "", std::move(groups)}, spec, ActionRequest(action, std::move(params), break_glass),
                    RequestContext{"shell", "terminal", now});
}

const std::string kBase = R"(
groups:
  shop: {members: [shell:alice], platform_groups: ["slack:usergroup:S0SHOP"]}
  payments: {members: [shell:pat]}
  sre: {members: [shell:bob, shell:dana]}
roles:
  reader: {actions: ["metrics.*", logs.search]}
  writer: {actions: [restart, "rollout.*"], envs: [staging]}
  owner: {actions: [restart], targets: [owned]}
  sre: {actions: ["*"], break_glass: true}
bindings:
  - {subjects: [group:shop, group:payments, group:sre], roles: [reader]}
  - {subjects: [group:shop], roles: [writer]}
  - {subjects: [group:payments], roles: [owner]}
  - {subjects: [group:sre], roles: [sre]}
)";

}  // namespace

TEST_SUITE("policies/rbac") {
  TEST_CASE("deny by default, meta actions open to everyone") {
    const auto p = policy(kBase);
    CHECK(decide(*p, "shell:mallory", "restart", {{"target", "cart"}, {"env", "staging"}}).effect == Effect::deny);
    CHECK(decide(*p, "shell:mallory", "help", json::object()).effect == Effect::allow);
    CHECK(decide(*p, "shell:mallory", "approve", {{"id", "x"}}).effect == Effect::allow);
  }

  TEST_CASE("globs and environment scoping") {
    const auto p = policy(kBase);
    CHECK(decide(*p, "shell:alice", "metrics.promql", {{"query", "up"}}).effect == Effect::allow);
    CHECK(decide(*p, "shell:alice", "rollout.deploy", {{"target", "cart"}, {"env", "staging"}, {"version", "1.2"}}).effect ==
          Effect::allow);
    const Decision prod = decide(*p, "shell:alice", "restart", {{"target", "cart"}, {"env", "prod"}});
    CHECK(prod.effect == Effect::deny);
    CHECK(prod.explanation == "denied: no role grants shell:alice restart cart in prod (deny by default)");
  }

  TEST_CASE("platform-vouched groups map to policy groups") {
    const auto p = policy(kBase);
    CHECK(decide(*p, "slack:T1:U9", "restart", {{"target", "cart"}, {"env", "staging"}}, at(1764075600),
                 {"slack:usergroup:S0SHOP"})
              .effect == Effect::allow);
    CHECK(decide(*p, "slack:T1:U9", "restart", {{"target", "cart"}, {"env", "staging"}}).effect == Effect::deny);
  }

  TEST_CASE("owners may restart their own team's services only") {
    const auto p = policy(kBase);
    CHECK(decide(*p, "shell:pat", "restart", {{"target", "payments-api"}, {"env", "prod"}}).effect == Effect::allow);
    CHECK(decide(*p, "shell:pat", "restart", {{"target", "cart"}, {"env", "prod"}}).effect == Effect::deny);
  }

  TEST_CASE("an explicit deny beats a wildcard allow") {
    const auto p = policy(kBase + R"(
rules:
  - id: no-payments-deploys
    match: {actions: [rollout.deploy], targets: [payments-api]}
    effect: deny
    message: payments deploys go through the release train
)");
    const Decision d = decide(*p, "shell:bob", "rollout.deploy", {{"target", "payments-api"}, {"env", "staging"}, {"version", "2"}});
    CHECK(d.effect == Effect::deny);
    CHECK(d.explanation == "denied: rule no-payments-deploys (payments deploys go through the release train)");
    CHECK(d.rule_ids.front() == "no-payments-deploys");
  }

  TEST_CASE("require_approval names approvers, quorum and expiry") {
    const auto p = policy(kBase + R"(
rules:
  - id: prod-approval
    match: {kinds: [write], envs: [prod]}
    effect: require_approval
    approvers: [group:sre]
    quorum: 2
    expiry: 30m
)");
    const Decision d = decide(*p, "shell:bob", "restart", {{"target", "cart"}, {"env", "prod"}});
    CHECK(d.effect == Effect::needs_approval);
    CHECK(d.approval.quorum == 2);
    CHECK(d.approval.expiry == std::chrono::minutes(30));
    CHECK(p->may_approve(Principal{"shell:dana", "", {}}, d.approval));
    CHECK_FALSE(p->may_approve(Principal{"shell:alice", "", {}}, d.approval));
    // Reads are not writes: no approval.
    CHECK(decide(*p, "shell:bob", "metrics.query", {{"target", "cart"}, {"env", "prod"}, {"metric", "cpu"}}).effect == Effect::allow);
  }

  TEST_CASE("break-glass skips approval for roles that have it, and only for them") {
    const auto p = policy(kBase + R"(
rules:
  - id: prod-approval
    match: {kinds: [write], envs: [prod]}
    effect: require_approval
    approvers: [group:sre]
)");
    const Decision bob = decide(*p, "shell:bob", "restart", {{"target", "cart"}, {"env", "prod"}}, at(1764075600), {},
                                "db failover");
    CHECK(bob.effect == Effect::allow);
    CHECK(bob.break_glass);
    CHECK(bob.explanation.find("BREAK-GLASS") == 0);
    const Decision pat = decide(*p, "shell:pat", "restart", {{"target", "payments-api"}, {"env", "prod"}}, at(1764075600), {},
                                "please");
    CHECK(pat.effect == Effect::deny);
  }

  TEST_CASE("a freeze window follows its time zone across DST") {
    const auto p = policy(kBase + R"(
rules:
  - id: weekend-freeze
    match: {kinds: [write]}
    window: {from: "Fri 16:00", to: "Mon 08:00", timezone: Europe/Berlin}
    effect: deny
    message: change freeze
)");
    const json staging{{"target", "cart"}, {"env", "staging"}};
    // Friday 2026-03-27 15:30 UTC = 16:30 CET (winter): frozen.
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1774625400)).effect == Effect::deny);
    // Friday 2026-03-27 14:30 UTC = 15:30 CET: open.
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1774621800)).effect == Effect::allow);
    // Monday 2026-03-30 06:30 UTC = 08:30 CEST (summer time since Sunday): open again.
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1774852200)).effect == Effect::allow);
    // Monday 2026-03-30 05:30 UTC = 07:30 CEST: still frozen (it would be 06:30 in CET).
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1774848600)).effect == Effect::deny);
    // Reads are not affected.
    CHECK(decide(*p, "shell:alice", "logs.search", staging, at(1774625400)).effect == Effect::allow);
  }

  TEST_CASE("a nightly window in America/New_York moves with the November change to EST") {
    const auto p = policy(kBase + R"(
rules:
  - id: night-freeze
    match: {kinds: [write]}
    window: {from: "22:00", to: "06:00", timezone: America/New_York}
    effect: deny
)");
    const json staging{{"target", "cart"}, {"env", "staging"}};
    // Friday 2026-10-30 10:30 UTC = 06:30 EDT: open (it would be 05:30 in EST).
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1793356200)).effect == Effect::allow);
    // Monday 2026-11-02 10:30 UTC = 05:30 EST: frozen (it would be 06:30 in EDT).
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1793615400)).effect == Effect::deny);
  }

  TEST_CASE("an unknown time zone is a config error naming file, line and key") {
    const std::string e = load_error(kBase + "rules:\n  - id: x\n    match: {kinds: [write]}\n"
                                             "    window: {from: Fri 16:00, to: Mon 08:00, timezone: Europe/Berln}\n"
                                             "    effect: deny\n");
    CAPTURE(e);
    CHECK(e.rfind("policy.yaml:19: rules[0].window.timezone:", 0) == 0);
    CHECK(e.find("timezone") != std::string::npos);
    CHECK(e.find("'Europe/Berln'") != std::string::npos);
    CHECK(e.find("Europe/Berlin") != std::string::npos);  // says what a valid name looks like
  }

  TEST_CASE("a freeze can turn writes into approvals instead") {
    const auto p = policy(kBase + R"(
rules:
  - id: night-approval
    match: {kinds: [write]}
    window: {from: "22:00", to: "06:00", timezone: UTC}
    effect: require_approval
    approvers: [group:sre]
)");
    const json staging{{"target", "cart"}, {"env", "staging"}};
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1764111600)).effect == Effect::needs_approval);  // 23:00 UTC
    CHECK(decide(*p, "shell:alice", "restart", staging, at(1764075600)).effect == Effect::allow);           // 13:00 UTC
  }

  TEST_CASE("rate limits are handed to the pipeline with the targets they count") {
    const auto p = policy(kBase + R"(
rate_limits:
  - {id: per-user, actions: [restart], per: subject, limit: 5, window: 1h}
  - {id: per-team, actions: [restart], per: team, limit: 20, window: 1d}
)");
    const Decision d = decide(*p, "shell:alice", "restart", {{"target", "cart"}, {"env", "staging"}});
    REQUIRE(d.rate_limits.size() == 2);
    CHECK(d.rate_limits[0].limit == 5);
    CHECK(d.rate_limits[1].targets == std::vector<std::string>{"cart", "checkout"});
  }

  TEST_CASE("a policy that tries to allow self-approval is rejected") {
    const std::string e = load_error(kBase + R"(
rules:
  - id: lax
    match: {kinds: [write]}
    effect: require_approval
    approvers: [group:sre]
    self_approval: true
)");
    CHECK(e.find("self_approval: cannot be true") != std::string::npos);
    CHECK(e.find("policy.yaml:") == 0);
  }

  TEST_CASE("mistakes in a policy name file, line and key") {
    CHECK(load_error(kBase + "rules:\n  - id: x\n    match: {envs: [qa]}\n    effect: deny\n").find("'qa' is not an environment") !=
          std::string::npos);
    CHECK(load_error(kBase + "rules:\n  - id: x\n    effect: maybe\n").find("expected allow, deny or require_approval") !=
          std::string::npos);
    CHECK(load_error(kBase + "bindings2: []\n").find("bindings2: unknown key") != std::string::npos);
    CHECK(load_error("roles:\n  r: {actions: [reboot]}\n").find("'reboot' matches no action") != std::string::npos);
    CHECK(load_error(kBase + "rules:\n  - id: x\n    match: {kinds: [write]}\n    window: {from: Fri 16:00, to: Mon 08:00, timezone: Mars/Olympus}\n    effect: deny\n")
              .find("unknown time zone 'Mars/Olympus'") != std::string::npos);
  }
}

TEST_SUITE("policies/time_zone") {
  TEST_CASE("people link one person's principals, an unlinked principal is its own person") {
    const auto p = policy("people:\n  bob: [shell:bob, \"slack:T1:U0BOB\"]\n" + kBase);
    CHECK(p->person_of("shell:bob") == "bob");
    CHECK(p->person_of("slack:T1:U0BOB") == "bob");
    CHECK(p->person_of("shell:alice") == "shell:alice");
    CHECK(p->describe(Principal{"slack:T1:U0BOB", "", {}}).find("person bob (shell:bob, slack:T1:U0BOB)") !=
          std::string::npos);
  }

  TEST_CASE("a principal listed under two people is a policy error naming file, line and key") {
    const std::string error = load_error("people:\n  bob: [shell:bob]\n  robert: [shell:bob]\n" + kBase);
    INFO(error);
    CHECK(error.find("policy.yaml:") != std::string::npos);
    CHECK(error.find("robert") != std::string::npos);
    CHECK(error.find("'shell:bob' is listed under bob and robert") != std::string::npos);
    CHECK(load_error("people:\n  bob: [bob]\n" + kBase).find("not a principal") != std::string::npos);
  }

  TEST_CASE("Berlin is UTC+1 in winter and UTC+2 in summer") {
    const auto berlin = TimeZone::load("Europe/Berlin");
    REQUIRE(berlin);
    const auto seconds = [](std::int64_t s) { return std::chrono::sys_seconds(std::chrono::seconds(s)); };
    CHECK(berlin->offset_at(seconds(1767268800)) == std::chrono::hours(1));  // 2026-01-01 12:00 UTC
    CHECK(berlin->offset_at(seconds(1782907200)) == std::chrono::hours(2));  // 2026-07-01 12:00 UTC
    CHECK_FALSE(TimeZone::load("../../etc/passwd"));
  }
}
