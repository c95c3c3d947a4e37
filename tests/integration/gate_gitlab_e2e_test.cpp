// GitLab deployment approvals end to end: the blocked Deployment Hook opens a
// gate in `opsgate serve`, it is voted on in the stand-in Slack with a restart
// in the middle, and opsgate approves the deployment through the stand-in
// GitLab's approval API and plays the job; unanswered, it rejects it at the
// rule's expiry.

#include <doctest/doctest.h>

#include "tests/support/gitlab_stand_in.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSlackSecret = "gl-e2e-slack-secret-0123456789";
constexpr const char* kHookToken = "gl-e2e-webhook-token-0123456789";
constexpr const char* kBotToken = "glpat-e2e-bot-token";

std::string config(const TempDir& dir, const std::string& slack_api, std::uint16_t port, const std::string& gitlab) {
  return R"(storage:
  path: )" + dir.file("opsgate.db") + R"(
server:
  listen: 127.0.0.1:)" + std::to_string(port) + R"(
default_env: prod
environments:
  prod: {synonyms: [production]}
  staging: {synonyms: [stage]}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
intent:
  parsers: [command]
adapters:
  slack:
    mode: http
    bot_token: xoxb-e2e-bot
    signing_secret: )" + kSlackSecret + R"(
    api_base: )" + slack_api + R"(
    usergroups: [S0SRE]
    post_interval_ms: 20
gates:
  channels:
    default: slack:C0OPS
  identities:
    alice: slack:T0AAA:U0ALICE
  gitlab:
    webhook_token: )" + kHookToken + R"(
    api_base: )" + gitlab + R"(
    bot_token: )" + kBotToken + R"(
    projects: {acme/shop: cart}
policy:
  groups:
    sre: {platform_groups: ["slack:usergroup:S0SRE"]}
  roles:
    deployer: {actions: [rollout.deploy]}
  bindings:
    - {subjects: [ci:gitlab], roles: [deployer]}
  rules:
    - id: prod-deploys-need-sre
      description: prod deploys need an SRE
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
    - id: staging-quick
      description: staging deploys need an SRE within seconds (test)
      match: {kinds: [write], envs: [staging]}
      effect: require_approval
      approvers: [group:sre]
      expiry: 3s
)";
}

std::pair<int, json> send(std::uint16_t port, const std::string& request) {
  HttpTestConnection connection(port);
  if (!connection.send(request)) return {0, {}};
  const auto response = connection.read_response();
  if (!response) return {0, {}};
  return {response->status, json::parse(response->body, nullptr, false)};
}

void click(std::uint16_t port, const json& payload) {
  HttpTestConnection connection(port);
  const std::string body = "payload=" + form_value(payload.dump());
  REQUIRE(connection.send(signed_slack_request("/slack/interactions", "application/x-www-form-urlencoded", body,
                                               kSlackSecret, unix_now())));
  REQUIRE(connection.read_response());
}

struct World {
  TempDir dir;
  SlackStandIn slack;
  GitlabStandIn gitlab{kBotToken, "1503204389", "15663409982"};
  std::uint16_t port = free_port();
  World() {
    slack.add_user("U0ALICE", "alice");
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    dir.write("opsgate.yaml", config(dir, slack.api_base(), port, gitlab.api_base()));
  }
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
