// GitLab deployment approvals end to end: the blocked Deployment Hook opens a
// gate in `opsgate serve`, it is voted on in the stand-in Slack with a restart
// in the middle, and opsgate approves the deployment through the stand-in
// GitLab's approval API and plays the job; unanswered, it rejects it at the
// rule's expiry.

#include <doctest/doctest.h>

#include "tests/support/gate_e2e.hpp"
#include "tests/support/gitlab_stand_in.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSlackSecret = "gl-e2e-slack-secret-0123456789";
constexpr const char* kHookToken = "gl-e2e-webhook-token-0123456789";
constexpr const char* kBotToken = "glpat-e2e-bot-token";

GatePlatform gitlab_platform(const std::string& gitlab) {
  return {kSlackSecret, "ci:gitlab", R"(  identities:
    alice: slack:T0AAA:U0ALICE
  gitlab:
    webhook_token: )" + std::string(kHookToken) + R"(
    api_base: )" + gitlab + R"(
    bot_token: )" + kBotToken + R"(
    projects: {acme/shop: cart}
)"};
}

std::pair<int, json> send(std::uint16_t port, const std::string& request) { return send_request(port, request); }

void click(std::uint16_t port, const json& payload) { click_button(port, kSlackSecret, payload); }

struct World : GateSlack {
  TempDir dir;
  GitlabStandIn gitlab{kBotToken, "1503204389", "15663409982"};
  std::uint16_t port = free_port();
  World() { dir.write("opsgate.yaml", gate_serve_config(dir, slack.api_base(), port, gitlab_platform(gitlab.api_base()))); }
};

}  // namespace

TEST_SUITE("integration/gates/gitlab") {
  TEST_CASE("a blocked deployment opens a gate, after a restart an SRE approves, GitLab gets the approval and the job is played") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    const json blocked = gitlab_blocked("production", 1503204389, 15663409982, "alice");
    CHECK(send(w.port, gitlab_hook("wrong-token-0123456789", blocked)).first == 401);
    const auto [status, answer] = send(w.port, gitlab_hook(kHookToken, blocked));
    REQUIRE(status == 200);
    REQUIRE(answer["accepted"] == true);
    const std::string gate = answer["gate"];
    CHECK(send(w.port, gitlab_hook(kHookToken, blocked)).second["gate"] == gate);  // a repeat: the same gate
    const auto posted = w.slack.wait_for_post("Deployment gate " + gate);
    REQUIRE(posted);
    const std::string approval = posted->body["blocks"].back()["elements"][0]["value"];

    CHECK(serve.stop() == 0);
    serve.start();
    REQUIRE(serve.port() == w.port);
    click(w.port, slack_click("U0ALICE", "approve", approval, posted->ts, posted->ts));  // alice started the pipeline
    REQUIRE(w.slack.wait_for_post("you triggered it"));
    click(w.port, slack_click("U0BOB", "approve", approval, posted->ts, posted->ts));
    REQUIRE(w.slack.wait_until([&] { return w.gitlab.job_status("15663409982") == "pending"; }, std::chrono::seconds(30)));
    const auto calls = w.gitlab.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].path == "/api/v4/projects/85038800/deployments/1503204389/approval");
    CHECK(calls[0].status == 201);
    CHECK(calls[0].body["status"] == "approved");
    CHECK(calls[0].body["comment"].get<std::string>().find("Approved by slack:T0AAA:U0BOB via opsgate (" + gate + ")") !=
          std::string::npos);
    CHECK(calls[1].path == "/api/v4/projects/85038800/jobs/15663409982/play");
    CHECK(w.dir.read("serve.log").find(kBotToken) == std::string::npos);
  }

  TEST_CASE("nobody approves: at the rule's expiry opsgate rejects the deployment with the expiry comment") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    const auto [status, answer] = send(w.port, gitlab_hook(kHookToken, gitlab_blocked("staging", 1503204389, 15663409982, "carol")));
    REQUIRE(status == 200);
    const std::string gate = answer["gate"];
    REQUIRE(w.slack.wait_until([&] { return !w.gitlab.calls().empty(); }, std::chrono::seconds(30)));
    const auto call = w.gitlab.calls().front();
    CHECK(call.status == 201);
    CHECK(call.body["status"] == "rejected");
    CHECK(call.body["comment"] == "Expired: no approval within 3 s (opsgate " + gate + ")");
    CHECK(w.gitlab.job_status("15663409982") == "manual");
  }
}
