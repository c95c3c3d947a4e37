// GitHub Actions deployment protection rules end to end: the stand-in GitHub
// delivers a signed `deployment_protection_rule` webhook to `opsgate serve`,
// the gate is voted on in the stand-in Slack (with a restart of opsgate in the
// middle), and opsgate reviews the run with an installation token bought with
// its RS256 app JWT. Keys are generated per test.

#include <doctest/doctest.h>

#include "tests/support/github_stand_in.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSlackSecret = "gh-e2e-slack-secret-0123456789";
constexpr const char* kHookSecret = "gh-e2e-webhook-secret-0123456789";

std::string config(const TempDir& dir, const std::string& slack_api, std::uint16_t port, const std::string& github) {
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
  github:
    webhook_secret: )" + kHookSecret + R"(
    client_id: Iv23liTEST
    private_key: {file: )" + dir.file("key.pem") + R"(}
    api_base: )" + github + R"(
    repositories: {acme/shop: cart}
    environments: {production: prod, staging: staging}
policy:
  groups:
    sre: {platform_groups: ["slack:usergroup:S0SRE"]}
  roles:
    deployer: {actions: [rollout.deploy]}
  bindings:
    - {subjects: [ci:github], roles: [deployer]}
  rules:
    - id: prod-deploys-need-sre
      description: prod deploys need an SRE
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
    - id: staging-deploys-need-sre-quickly
      description: staging deploys need an SRE within seconds (test)
      match: {kinds: [write], envs: [staging]}
      effect: require_approval
      approvers: [group:sre]
      expiry: 3s
)";
}

struct Delivered {
  int status = 0;
  json body;
};

Delivered deliver(std::uint16_t port, const std::string& request) {
  HttpTestConnection connection(port);
  Delivered out;
  if (!connection.send(request)) return out;
  const auto response = connection.read_response();
  if (!response) return out;
  out.status = response->status;
  out.body = json::parse(response->body, nullptr, false);
  return out;
}

void click(std::uint16_t port, const json& payload) {
  HttpTestConnection connection(port);
  const std::string body = "payload=" + form_value(payload.dump());
  REQUIRE(connection.send(signed_slack_request("/slack/interactions", "application/x-www-form-urlencoded", body,
                                               kSlackSecret, unix_now())));
  const auto response = connection.read_response();
  REQUIRE(response);
}

struct World {
  TempDir dir;
  SlackStandIn slack;
  std::unique_ptr<GithubStandIn> github;
  std::uint16_t port = free_port();
  World() {
    REQUIRE(run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir.file("key.pem") +
                        " 2>/dev/null && openssl pkey -in " + dir.file("key.pem") + " -pubout -out " + dir.file("pub.pem"))
                .exit_code == 0);
    github = std::make_unique<GithubStandIn>(dir.read("pub.pem"), "Iv23liTEST", std::set<std::string>{"production", "staging"});
    slack.add_user("U0ALICE", "alice");
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    dir.write("opsgate.yaml", config(dir, slack.api_base(), port, github->base()));
  }
};

}  // namespace

TEST_SUITE("integration/gates/github") {
  TEST_CASE("a signed deployment_protection_rule opens a gate, a restart and an SRE's click later the run is approved with an installation token") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    const json requested = github_requested("production", 9876543210, "alice");
    // Signed with another secret: refused, no gate.
    CHECK(deliver(w.port, github_delivery("not-the-secret-0123456789", "d-0", requested)).status == 401);
    const Delivered first = deliver(w.port, github_delivery(kHookSecret, "d-1", requested));
    REQUIRE(first.status == 200);
    REQUIRE(first.body["accepted"] == true);
    const std::string gate = first.body["gate"];
    // A redelivery is the same gate.
    const Delivered again = deliver(w.port, github_delivery(kHookSecret, "d-1", requested));
    CHECK(again.body["gate"] == gate);

    const auto posted = w.slack.wait_for_post("Deployment gate " + gate);
    REQUIRE(posted);
    CHECK(posted->body.value("text", "").find("https://github.com/acme/shop/actions/runs/9876543210") != std::string::npos);
    const json buttons = posted->body["blocks"].back();
    const std::string approval = buttons["elements"][0]["value"];

    CHECK(serve.stop() == 0);
    serve.start();
    REQUIRE(serve.port() == w.port);
    w.github->fail_reviews(1);  // GitHub has a bad moment: retried

    click(w.port, slack_click("U0ALICE", "approve", approval, posted->ts, posted->ts));  // alice created the deployment
    REQUIRE(w.slack.wait_for_post("you triggered it"));
    click(w.port, slack_click("U0BOB", "approve", approval, posted->ts, posted->ts));
    REQUIRE(w.slack.wait_until([&] {
      for (const auto& r : w.github->reviews()) {
        if (r.status == 204) return true;
      }
      return false;
    }, std::chrono::seconds(30)));
    const auto reviews = w.github->reviews();
    REQUIRE(reviews.size() == 2);
    CHECK(reviews[0].status == 502);
    CHECK(reviews[1].path == "/repos/acme/shop/actions/runs/9876543210/deployment_protection_rule");
    CHECK(reviews[1].body["environment_name"] == "production");
    CHECK(reviews[1].body["state"] == "approved");
    CHECK(reviews[1].body["comment"].get<std::string>().find("Approved by slack:T0AAA:U0BOB via opsgate (" + gate + ")") !=
          std::string::npos);
    CHECK(w.github->tokens_issued() >= 1);
    CHECK(w.github->jwt_refused() == 0);
    CHECK(w.dir.read("serve.log").find("ghs_") == std::string::npos);  // tokens are never logged
  }

  TEST_CASE("nobody approves: at the rule's expiry opsgate rejects the run itself, with the expiry comment") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    const Delivered first = deliver(w.port, github_delivery(kHookSecret, "d-9", github_requested("staging", 555, "carol")));
    REQUIRE(first.body["accepted"] == true);
    const std::string gate = first.body["gate"];
    REQUIRE(w.slack.wait_until([&] { return !w.github->reviews().empty(); }, std::chrono::seconds(30)));
    const auto review = w.github->reviews().front();
    CHECK(review.status == 204);
    CHECK(review.body["environment_name"] == "staging");
    CHECK(review.body["state"] == "rejected");
    CHECK(review.body["comment"] == "Expired: no approval within 3 s (opsgate " + gate + ")");
    REQUIRE(w.slack.wait_for_post("expired: no approval within 3 s"));
  }
}
