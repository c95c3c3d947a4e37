// Deployment gates end to end against the real `opsgate serve` binary: the
// pipeline side is `opsgate gate request` (and raw API calls), the chat is the
// stand-in Slack, the pipeline's callback endpoint is a signature-checking
// receiver. Votes are Slack button clicks, signed as Slack signs them.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/support/gate_callback_receiver.hpp"
#include "tests/support/gate_e2e.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "gate-e2e-signing-secret-0123456789";
constexpr const char* kToken = "jenkins-e2e-token-0123456789abcdef";
constexpr const char* kOtherToken = "argo-e2e-token-0123456789abcdef00";
constexpr const char* kHookSecret = "hook-secret-0123456789";

// Two API clients: jenkins (cart, prod and staging, with a signed callback) and argo (any target, staging only).
GatePlatform api_platform(const std::string& hook) {
  return {kSecret, "ci:jenkins, ci:argo", R"(  public_url: https://opsgate.example
  identities:
    alice: slack:T0AAA:U0ALICE
  clients:
    jenkins:
      token: )" + std::string(kToken) + R"(
      targets: [cart]
      envs: [prod, staging]
      callback:
        url: )" + hook + R"(
        secret: )" + kHookSecret + R"(
    argo:
      token: )" + kOtherToken + R"(
      targets: ["*"]
      envs: [staging]
)",
          true};
}

struct Answer {
  int status = 0;
  json body;
  std::string header(const std::string& name) const { return headers.count(name) ? headers.at(name) : ""; }
  std::map<std::string, std::string> headers;
};

Answer call(std::uint16_t port, const std::string& method, const std::string& path, const std::string& token,
            const std::string& body = "", const std::string& key = "") {
  HttpTestConnection connection(port, std::chrono::seconds(70));
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: opsgate\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!key.empty()) request += "Idempotency-Key: " + key + "\r\n";
  request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  Answer answer;
  if (!connection.send(request)) return answer;
  const auto response = connection.read_response();
  if (!response) return answer;
  answer.status = response->status;
  answer.body = json::parse(response->body, nullptr, false);
  for (const char* name : {"Cache-Control", "Location"}) {
    answer.headers[name] = response->header(name);
  }
  return answer;
}

void click(std::uint16_t port, const json& payload) { click_button(port, kSecret, payload); }

// The card's approval id (its buttons' value) and its message ts.
std::pair<std::string, std::string> card(const SlackCall& post) {
  const json buttons = post.body["blocks"].back();
  REQUIRE(buttons["type"] == "actions");
  return {buttons["elements"][0]["value"].get<std::string>(), post.ts};
}

std::string cli(std::uint16_t port, const std::string& args) {
  return "OPSGATE_TOKEN=" + std::string(kToken) + " " + std::string(OPSGATE_BINARY) +
         " gate request --server http://127.0.0.1:" + std::to_string(port) + " " + args;
}

struct World : GateSlack {
  GateCallbackReceiver hook{kHookSecret};
  TempDir dir;
  std::uint16_t port = free_port();
  World() { dir.write("opsgate.yaml", gate_serve_config(dir, slack.api_base(), port, api_platform(hook.url()))); }
};

}  // namespace

TEST_SUITE("integration/gates") {
  TEST_CASE("opsgate gate request: posted in Slack, opsgate restarts mid-wait, an SRE's click approves, the CLI exits 0 and the callback is signed") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    Background pipeline(cli(w.port, "--target cart --env prod --version 3.2.0 --commit 47efb7196c2a --triggered-by "
                                    "alice --run-url https://ci.example/job/shop/1234 --idempotency-key run-1 > " +
                                        w.dir.file("cli.out") + " 2>&1"),
                        w.dir.file("cli.rc"));
    const auto posted = w.slack.wait_for_post("Deployment gate");
    REQUIRE(posted);
    const std::string text = posted->body.value("text", "");
    CHECK(text.find("deploy cart 3.2.0 to prod") != std::string::npos);
    CHECK(text.find("triggered by alice") != std::string::npos);
    CHECK(text.find("Running now:") != std::string::npos);
    const auto [approval, ts] = card(*posted);

    // opsgate restarts while the pipeline waits.
    CHECK(serve.stop() == 0);
    serve.start();
    REQUIRE(serve.port() == w.port);

    // alice triggered the run: her click is refused. bob's approves.
    click(w.port, slack_click("U0ALICE", "approve", approval, ts, ts));
    REQUIRE(w.slack.wait_for_post("you triggered it"));
    click(w.port, slack_click("U0BOB", "approve", approval, ts, ts));
    REQUIRE(pipeline.wait(std::chrono::seconds(60)));
    INFO(w.dir.read("cli.out"));
    CHECK(w.dir.read("cli.rc") == "0\n");
    CHECK(w.dir.read("cli.out").find("APPROVED: cart 3.2.0 to prod may deploy") != std::string::npos);
    CHECK(w.dir.read("cli.out").find("https://opsgate.example/api/v1/gates/gt_") != std::string::npos);
    REQUIRE(w.slack.wait_for_post("approved by slack:T0AAA:U0BOB"));
    REQUIRE(w.slack.wait_until([&] { return !w.hook.accepted().empty(); }));
    const json told = w.hook.accepted().front();
    CHECK(told["state"] == "approved");
    CHECK(told["decided_by"] == "slack:T0AAA:U0BOB");
    CHECK(w.hook.refused() == 0);

    // The same run asking again (a retried CI step) gets the same, decided gate.
    const Answer again = call(w.port, "POST", "/api/v1/gates", kToken,
                              R"({"target":"cart","env":"prod","version":"3.2.0","commit":"47efb7196c2a","triggered_by":"alice","run_url":"https://ci.example/job/shop/1234"})",
                              "run-1");
    CHECK(again.status == 200);
    CHECK(again.body["state"] == "approved");

    CHECK(serve.stop() == 0);
    SQLite::Database db(w.dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    const auto count = [&db](const std::string& where) {
      return db.execAndGet("SELECT count(*) FROM audit_events WHERE " + where).getInt();
    };
    CHECK(count("kind='decided' AND outcome='needs_approval' AND principal='ci:jenkins'") == 1);
    CHECK(count("kind='approval_requested' AND outcome='pending'") == 1);
    CHECK(count("kind='approval_vote' AND outcome='refused' AND principal='slack:T0AAA:U0ALICE'") == 1);
    CHECK(count("kind='approval_granted'") == 1);
    CHECK(count("kind='gate_decided' AND outcome='approved'") == 1);
    CHECK(count("kind='gate_notified' AND outcome='ok'") == 1);
    CHECK(count("kind='started'") == 0);  // opsgate deployed nothing itself
    const auto verify = run_command(std::string(OPSGATE_BINARY) + " audit verify --config " + w.dir.file("opsgate.yaml"));
    CHECK(verify.exit_code == 0);
  }

  TEST_CASE("expiry while opsgate is down: after the restart the gate expires, the thread and the callback are told, the CLI exits 1") {
    World w;
    w.hook.fail_next(1);  // the first callback attempt fails: retried
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    Background pipeline(cli(w.port, "--target cart --env prod --version 3.2.1 --timeout 3s --idempotency-key run-2 > " +
                                        w.dir.file("cli.out") + " 2>&1"),
                        w.dir.file("cli.rc"));
    REQUIRE(w.slack.wait_for_post("Deployment gate"));
    CHECK(serve.stop() == 0);
    std::this_thread::sleep_for(std::chrono::seconds(4));  // past the 3 s expiry while down
    serve.start();
    REQUIRE(serve.port() == w.port);
    REQUIRE(pipeline.wait(std::chrono::seconds(60)));
    INFO(w.dir.read("cli.out"));
    CHECK(w.dir.read("cli.rc") == "1\n");
    CHECK(w.dir.read("cli.out").find("EXPIRED: nobody approved cart 3.2.1 to prod in time") != std::string::npos);
    REQUIRE(w.slack.wait_for_post("expired: no approval within"));
    REQUIRE(w.slack.wait_until([&] { return !w.hook.accepted().empty(); }, std::chrono::seconds(20)));
    const json told = w.hook.accepted().front();
    CHECK(told["state"] == "expired");
    CHECK(told["comment"].get<std::string>().rfind("Expired: no approval within 3 s (opsgate gt_", 0) == 0);
  }

  TEST_CASE("the API refuses what it must: no token, another client's scope, unknown target, a reused key, long poll waits") {
    World w;
    ServeProcess serve(w.dir, "opsgate.yaml");
    REQUIRE(serve.port() == w.port);
    INFO(w.dir.read("serve.log"));
    const std::string body = R"({"target":"cart","env":"prod","version":"3.2.0"})";
    CHECK(call(w.port, "POST", "/api/v1/gates", "", body, "k1").status == 401);
    CHECK(call(w.port, "POST", "/api/v1/gates", "wrong-token-0123456789", body, "k1").body["error"]["code"] ==
          "unauthenticated");
    const Answer scope = call(w.port, "POST", "/api/v1/gates", kOtherToken, body, "k1");
    CHECK(scope.status == 403);
    CHECK(scope.body["error"]["code"] == "forbidden_env");
    const Answer unknown = call(w.port, "POST", "/api/v1/gates", kToken, R"({"target":"carts","env":"prod","version":"1"})", "k2");
    CHECK(unknown.status == 400);
    CHECK(unknown.body["error"]["details"].dump().find("unknown target 'carts'") != std::string::npos);
    const Answer nokey = call(w.port, "POST", "/api/v1/gates", kToken, body);
    CHECK(nokey.status == 400);
    CHECK(nokey.body["error"]["details"].dump().find("Idempotency-Key") != std::string::npos);

    const Answer created = call(w.port, "POST", "/api/v1/gates", kToken, body, "k3");
    REQUIRE(created.status == 201);
    const std::string id = created.body["id"];
    CHECK(created.body["state"] == "pending");
    CHECK(created.body["requester"] == "ci:jenkins");
    CHECK(created.body["approvals_required"] == 1);
    CHECK(call(w.port, "POST", "/api/v1/gates", kToken, body, "k3").status == 200);
    const Answer conflict = call(w.port, "POST", "/api/v1/gates", kToken,
                                 R"({"target":"cart","env":"prod","version":"9.9.9"})", "k3");
    CHECK(conflict.status == 409);
    CHECK(conflict.body["error"]["code"] == "idempotency_conflict");
    // Another client cannot see it.
    CHECK(call(w.port, "GET", "/api/v1/gates/" + id, kOtherToken).status == 404);
    // A long poll of 1 s returns the pending gate, not cached.
    const Answer polled = call(w.port, "GET", "/api/v1/gates/" + id + "?wait=1s", kToken);
    CHECK(polled.status == 200);
    CHECK(polled.body["state"] == "pending");
    CHECK(polled.header("Cache-Control") == "no-store");
    // Cancelled by the pipeline, then nothing more.
    const Answer cancelled = call(w.port, "POST", "/api/v1/gates/" + id + "/cancel", kToken);
    CHECK(cancelled.status == 200);
    CHECK(cancelled.body["state"] == "cancelled");
    CHECK(call(w.port, "POST", "/api/v1/gates/" + id + "/cancel", kToken).body["error"]["code"] == "already_decided");
    REQUIRE(w.slack.wait_for_post("cancelled by the pipeline"));
  }
}
