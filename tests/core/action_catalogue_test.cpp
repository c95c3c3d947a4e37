#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "src/core/action_catalogue.hpp"

using namespace opsgate;
using nlohmann::json;

namespace {
Inventory demo_inventory() {
  return Inventory({{"cart", {}, "shop", {}}, {"payments-api", {"pay", "payments"}, "payments", {}}},
                   {{"prod", {"production", "live"}}, {"staging", {"stg"}}}, "prod");
}
}  // namespace

TEST_SUITE("core/action_catalogue") {
  TEST_CASE("every canonical action of DESIGN §3 is in the catalogue") {
    for (const char* name : {"metrics.query", "metrics.promql", "logs.search", "alerts.list", "triage", "rollout.status",
                             "restart", "scale", "rollout.deploy", "rollout.undo", "help", "whoami", "approvals.list",
                             "approve", "deny", "cancel", "audit.show"}) {
      CHECK_MESSAGE(find_action(name) != nullptr, name);
    }
    CHECK(find_action("rm -rf") == nullptr);
  }

  TEST_CASE("aliases and synonyms resolve to canonical names") {
    auto r = validate_request({"restart", {{"target", "pay"}, {"env", "live"}}}, demo_inventory());
    REQUIRE(r);
    CHECK(r->params == json{{"target", "payments-api"}, {"env", "prod"}});
  }

  TEST_CASE("a read gets the default environment and default range") {
    auto r = validate_request({"metrics.query", {{"target", "cart"}, {"metric", "error_rate"}}}, demo_inventory());
    REQUIRE(r);
    CHECK(r->params["env"] == "prod");
    CHECK(r->params["range_s"] == 3600);
  }

  TEST_CASE("a write without an environment is a question, never a default") {
    auto r = validate_request({"restart", {{"target", "cart"}}}, demo_inventory());
    REQUIRE_FALSE(r);
    CHECK(r.error().question == "restart cart in prod or staging?");
    CHECK(r.error().options == std::vector<std::string>{"prod", "staging"});
  }

  TEST_CASE("an unknown target is never invented") {
    auto r = validate_request({"restart", {{"target", "cart; rm -rf /"}, {"env", "prod"}}}, demo_inventory());
    REQUIRE_FALSE(r);
    CHECK(r.error().question.find("I do not know the target") == 0);
  }

  TEST_CASE("integers: a float is taken only when whole and exact, inf, NaN and huge values are refused, never cast") {
    const auto replicas = [](nlohmann::json value) {
      return validate_request({"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", std::move(value)}}}, demo_inventory());
    };
    CHECK(replicas(3.0)->params["replicas"] == 3);
    for (const double bad : {1e300, -1e300, 1.5, 9.3e18, -9.3e18, 1e16, std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      INFO(bad);
      const auto r = replicas(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().question.rfind("replicas must be a whole number from ", 0) == 0);
    }
    CHECK_FALSE(replicas(std::numeric_limits<std::uint64_t>::max()));
    // Durations go through the same conversion.
    CHECK_FALSE(validate_request({"logs.search", {{"target", "cart"}, {"range_s", 1e300}}}, demo_inventory()));
  }

  TEST_CASE("bounds, enums, versions and unknown parameters are enforced") {
    CHECK_FALSE(validate_request({"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 101}}}, demo_inventory()));
    CHECK_FALSE(validate_request({"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", -1}}}, demo_inventory()));
    CHECK(validate_request({"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", "3"}}}, demo_inventory())->params["replicas"] == 3);
    CHECK_FALSE(validate_request({"metrics.query", {{"target", "cart"}, {"metric", "disk"}}}, demo_inventory()));
    CHECK_FALSE(validate_request({"rollout.deploy", {{"target", "cart"}, {"env", "prod"}, {"version", "1.0; reboot"}}}, demo_inventory()));
    CHECK(validate_request({"rollout.deploy", {{"target", "cart"}, {"env", "prod"}, {"version", "4.0.0-rc1"}}}, demo_inventory()));
    CHECK_FALSE(validate_request({"restart", {{"target", "cart"}, {"env", "prod"}, {"force", true}}}, demo_inventory()));
    CHECK_FALSE(validate_request({"logs.search", {{"target", "cart"}, {"contains", "a\nb"}}}, demo_inventory()));
    CHECK(validate_request({"logs.search", {{"target", "cart"}, {"range_s", "30m"}}}, demo_inventory())->params["range_s"] == 1800);
  }

  TEST_CASE("the canonical form of a request is stable, so approvals can hash it") {
    ActionRequest a{"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 3}}};
    ActionRequest b{"scale", {{"replicas", 3}, {"env", "prod"}, {"target", "cart"}}};
    CHECK(a.canonical() == b.canonical());
    ActionRequest c{"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 30}}};
    CHECK(a.canonical() != c.canonical());
  }

  TEST_CASE("the parse detail prints the confidence as printf's %.2f does") {
    for (const double confidence : {0.0, 0.9, 0.905, 0.125, 0.995, 1.0, 0.333333, 0.5049999}) {
      ParseResult parsed = ParseResult::none("command");
      parsed.confidence = confidence;
      char expected[32];
      std::snprintf(expected, sizeof expected, "%.2f", confidence);
      CHECK(parse_audit_detail(parsed) == std::string("parser=command confidence=") + expected);
    }
  }

  TEST_CASE("the canonical form is byte for byte the compact JSON of action and params (approval hashes)") {
    // The definition approvals were hashed with; canonical() writes it directly.
    auto reference = [](const ActionRequest& r) {
      nlohmann::json j{{"action", r.action}, {"params", r.params}};
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    std::vector<ActionRequest> requests{
        {"whoami"},
        {"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 3}}},
        {"logs.search", {{"contains", "quote \" backslash \\ tab\t \x01 \x7f ünï 🚀"}, {"range_s", 1800}}},
        {"bad \xff\xfe utf-8 \"action\"", {{"x", "\xc3"}, {"list", {1, 2.5, nullptr, true}}}},
        {"", nlohmann::json()},
        {"a", nlohmann::json::array()},
    };
    for (const ActionRequest& r : requests) {
      CHECK(r.canonical() == reference(r));
    }
  }
}
