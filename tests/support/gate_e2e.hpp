#pragma once
// What the gate end-to-end tests (tests/integration/gate_*_e2e_test.cpp) share:
// the `opsgate serve` configuration around the platform's own `gates:` part
// (storage, server, inventory of cart and checkout, the Slack adapter against
// the stand-in, and a policy where prod deploys need an SRE and staging ones
// expire in 3 s), a
// Slack stand-in with alice, bob and the SRE group, one HTTP round trip, and
// a signed click on an approval button.

#include <cstdint>
#include <string>
#include <utility>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_stand_in.hpp"

namespace opsgate::test {

inline constexpr const char* kGateSlackBotToken = "xoxb-e2e-bot";

// The platform's part of the config: `gates_section` is the YAML under
// `gates:` after the default channel (two-space indented), `ci_subject` the
// principal(s) the platform's requests come as ("ci:github", or
// "ci:jenkins, ci:argo" for two API clients). With `rollout_status`, the demo
// backend answers rollout.status, so a gate card says what runs now.
struct GatePlatform {
  std::string slack_secret;
  std::string ci_subject;
  std::string gates_section;
  bool rollout_status = false;
};

// The `actions:` section that runs rollout.status on scripts/demo-backend (state in `dir`).
inline std::string gate_rollout_status_actions(const TempDir& dir) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return R"(actions:
  exec:
    timeout: 20s
    commands:
      rollout.status: [)" + backend + R"(, status, "{env}", "{target}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + "\n";
}

inline std::string gate_serve_config(const TempDir& dir, const std::string& slack_api, std::uint16_t port,
                                     const GatePlatform& platform) {
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
  checkout: {team: shop, namespace: "shop-{env}"}
intent:
  parsers: [command]
adapters:
  slack:
    mode: http
    bot_token: )" + kGateSlackBotToken + R"(
    signing_secret: )" + platform.slack_secret + R"(
    api_base: )" + slack_api + R"(
    usergroups: [S0SRE]
    post_interval_ms: 20
)" + (platform.rollout_status ? gate_rollout_status_actions(dir) : std::string{}) + R"(gates:
  channels:
    default: slack:C0OPS
)" + platform.gates_section + R"(policy:
  groups:
    sre: {platform_groups: ["slack:usergroup:S0SRE"]}
  roles:
    deployer: {actions: [rollout.deploy]}
  bindings:
    - {subjects: [)" + platform.ci_subject + R"(], roles: [deployer]}
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

// The stand-in Slack of a gate test: alice (who triggers deploys) and bob, the one SRE.
struct GateSlack {
  SlackStandIn slack{SlackTokens{kGateSlackBotToken, "xapp-1-A0BBB-e2e"}};
  GateSlack() {
    slack.add_user("U0ALICE", "alice");
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
  }
};

// One request on a fresh connection: the status and the JSON body (0 and null when nothing came back).
inline std::pair<int, nlohmann::json> send_request(std::uint16_t port, const std::string& request) {
  HttpTestConnection connection(port);
  if (!connection.send(request)) {
    return {0, {}};
  }
  const auto response = connection.read_response();
  if (!response) {
    return {0, {}};
  }
  return {response->status, nlohmann::json::parse(response->body, nullptr, false)};
}

// A click on a Slack button, signed as Slack signs it, answered by opsgate.
inline void click_button(std::uint16_t port, const std::string& slack_secret, const nlohmann::json& payload) {
  HttpTestConnection connection(port);
  const std::string body = "payload=" + form_value(payload.dump());
  REQUIRE(connection.send(signed_slack_request("/slack/interactions", "application/x-www-form-urlencoded", body,
                                               slack_secret, unix_now())));
  const auto response = connection.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);  // Slack needs the ack, whatever the click leads to
}

}  // namespace opsgate::test
