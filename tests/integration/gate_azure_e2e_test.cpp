// Azure Pipelines' "Invoke REST API" check end to end: the check's call opens
// a gate in `opsgate serve`, it is voted on in the stand-in Slack with a
// restart in the middle, and opsgate completes the check with TaskCompleted
// on the stand-in Azure; unanswered, it fails the check at the rule's expiry.

#include <doctest/doctest.h>

#include "tests/support/azure_stand_in.hpp"
#include "tests/support/gate_e2e.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSlackSecret = "az-e2e-slack-secret-0123456789";
constexpr const char* kJobToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIs.job-token";
constexpr const char* kTask = "61153303-347e-5f06-a6a1-ce2102bd68eb";
constexpr const char* kJob = "3a7e60dc-c5b0-5009-86eb-0f217c12e2ea";
constexpr const char* kBasic = "b3BzZ2F0ZTpjb25uZWN0aW9uLXBhc3N3b3JkLTEyMw==";  // opsgate:connection-password-123

GatePlatform azure_platform(const std::string& org) {
  return {kSlackSecret, "ci:azure", R"(  azure:
    organizations: [")" + org + R"("]
    username: opsgate
    password: connection-password-123
)"};
}

json check_body(const std::string& env) {
  return {{"target", "cart"},          {"env", env},
          {"version", "3.2.0"},        {"pipeline", "shop-cd"},
          {"runId", "4711"},           {"stage", "deploy_prod"},
          {"requestedFor", "Alice"},   {"requestedForEmail", "$(Build.RequestedForEmail)"},
          {"sourceBranch", "refs/heads/main"}, {"sourceVersion", "47efb7196c2a1a2fd3f52f2c59f0e2dd3d0e4d54"}};
}

std::pair<int, json> send(std::uint16_t port, const std::string& request) { return send_request(port, request); }

struct World : GateSlack {
  TempDir dir;
  AzureStandIn azure{kJobToken, kTask, kJob};
  std::uint16_t port = free_port();
  World() { dir.write("opsgate.yaml", gate_serve_config(dir, slack.api_base(), port, azure_platform(azure.plan_url()))); }
};

}  // namespace

TEST_SUITE("integration/gates/azure") {
  TEST_CASE("the check's call opens a gate, after a restart an SRE approves and the check completes with succeeded") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    // Wrong service-connection password, and an organisation not configured: refused.
    CHECK(send(w.port, azure_check_call(w.azure.plan_url(), kTask, kJob, kJobToken, "b3BzZ2F0ZTp3cm9uZw==", check_body("prod"))).first == 401);
    CHECK(send(w.port, azure_check_call("https://dev.azure.com/evil/", kTask, kJob, kJobToken, kBasic, check_body("prod"))).first == 403);
    const auto [status, answer] = send(w.port, azure_check_call(w.azure.plan_url(), kTask, kJob, kJobToken, kBasic, check_body("prod")));
    REQUIRE(status == 200);
    REQUIRE(answer["accepted"] == true);
    const std::string gate = answer["gate"];
    // Re-invoked with the same (PlanId, TaskInstanceId): the same gate.
    CHECK(send(w.port, azure_check_call(w.azure.plan_url(), kTask, kJob, kJobToken, kBasic, check_body("prod"))).second["gate"] == gate);
    const auto posted = w.slack.wait_for_post("Deployment gate " + gate);
    REQUIRE(posted);
    CHECK(posted->body.value("text", "").find(kJobToken) == std::string::npos);  // the token never reaches chat
    const std::string approval = posted->body["blocks"].back()["elements"][0]["value"];

    CHECK(serve.stop() == 0);
    serve.start();
    REQUIRE(serve.port() == w.port);
    click_button(w.port, kSlackSecret, slack_click("U0BOB", "approve", approval, posted->ts, posted->ts));
    REQUIRE(w.slack.wait_until([&] { return !w.azure.received().empty(); }, std::chrono::seconds(30)));
    const AzureEvent event = w.azure.received().front();
    CHECK(event.status == 200);
    CHECK(event.path == std::string("/") + AzureStandIn::kProject +
                            "/_apis/distributedtask/hubs/build/plans/2f8a5c3e-1d2b-4c6a-9e7f-0a1b2c3d4e5f/events");
    CHECK(event.query == "api-version=2.0-preview.1");
    CHECK(event.body["result"] == "succeeded");
    CHECK(w.dir.read("serve.log").find(kJobToken) == std::string::npos);
  }

  TEST_CASE("nobody approves: at the rule's expiry the check completes with failed") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    const auto [status, answer] = send(w.port, azure_check_call(w.azure.plan_url(), kTask, kJob, kJobToken, kBasic, check_body("staging")));
    REQUIRE(status == 200);
    REQUIRE(w.slack.wait_until([&] { return !w.azure.received().empty(); }, std::chrono::seconds(30)));
    CHECK(w.azure.received().front().body["result"] == "failed");
    REQUIRE(w.slack.wait_for_post("expired: no approval within 3 s"));
  }
}
