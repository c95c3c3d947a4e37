// GitHub Actions deployment protection rules end to end: the stand-in GitHub
// delivers a signed `deployment_protection_rule` webhook to `opsgate serve`,
// the gate is voted on in the stand-in Slack (with a restart of opsgate in the
// middle), and opsgate reviews the run with an installation token bought with
// its RS256 app JWT. Keys are generated per test.

#include <doctest/doctest.h>

#include "tests/support/gate_e2e.hpp"
#include "tests/support/github_stand_in.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSlackSecret = "gh-e2e-slack-secret-0123456789";
constexpr const char* kHookSecret = "gh-e2e-webhook-secret-0123456789";

GatePlatform github_platform(const TempDir& dir, const std::string& github) {
  return {kSlackSecret, "ci:github", R"(  identities:
    alice: slack:T0AAA:U0ALICE
  github:
    webhook_secret: )" + std::string(kHookSecret) + R"(
    client_id: Iv23liTEST
    private_key: {file: )" + dir.file("key.pem") + R"(}
    api_base: )" + github + R"(
    repositories: {acme/shop: cart}
    environments: {production: prod, staging: staging}
)"};
}

struct Delivered {
  int status = 0;
  json body;
};

Delivered deliver(std::uint16_t port, const std::string& request) {
  auto [status, body] = send_request(port, request);
  return {status, std::move(body)};
}

void click(std::uint16_t port, const json& payload) { click_button(port, kSlackSecret, payload); }

struct World : GateSlack {
  TempDir dir;
  std::unique_ptr<GithubStandIn> github;
  std::uint16_t port = free_port();
  World() {
    REQUIRE(run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir.file("key.pem") +
                        " 2>/dev/null && openssl pkey -in " + dir.file("key.pem") + " -pubout -out " + dir.file("pub.pem"))
                .exit_code == 0);
    github = std::make_unique<GithubStandIn>(dir.read("pub.pem"), "Iv23liTEST", std::set<std::string>{"production", "staging"});
    dir.write("opsgate.yaml", gate_serve_config(dir, slack.api_base(), port, github_platform(dir, github->base())));
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
