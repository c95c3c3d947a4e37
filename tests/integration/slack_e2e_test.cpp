// The whole Slack conversation against the real `opsgate serve` binary and the
// stand-in Slack: a mention asks for a prod restart, the requester's own click
// is refused, a second user's click approves it, the result lands in the
// thread, the approval message is updated in place, and every step is in the
// audit log. Once over HTTP (signed requests) and once over Socket Mode.

#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <regex>
#include <set>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/slack_stand_in.hpp"
#include "tests/support/socket_mode_server.hpp"

extern char** environ;

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "e2e-signing-secret-0123456789abcdef";

std::string slack_config(const TempDir& dir, const std::string& api_base, const std::string& mode) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return R"(storage:
  path: )" + dir.file("opsgate.db") + R"(
server:
  listen: 127.0.0.1:0
default_env: prod
environments:
  prod: {synonyms: [production]}
  staging: {synonyms: [stage]}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
intent:
  parsers: [command, nlu]
adapters:
  slack:
    mode: )" + mode + R"(
    bot_token: xoxb-e2e-bot
    signing_secret: )" + kSecret + R"(
    app_token: xapp-1-A0BBB-e2e
    api_base: )" + api_base + R"(
    usergroups: [S0SRE]
    post_interval_ms: 20
actions:
  exec:
    timeout: 20s
    commands:
      restart: [)" + backend + R"(, restart, "{env}", "{target}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + R"(
policy:
  groups:
    shop: {members: [slack:T0AAA:U0ALICE]}
    sre: {platform_groups: ["slack:usergroup:S0SRE"]}
  roles:
    operator: {actions: [restart]}
  bindings:
    - {subjects: [group:shop, group:sre], roles: [operator]}
  rules:
    - id: prod-writes-need-approval
      description: prod writes need an SRE
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
)";
}

// `opsgate serve` in the background; SIGTERM (then SIGKILL) when the test ends.
class Serve {
 public:
  explicit Serve(const TempDir& dir) : dir_(dir) {
    const std::string command = "exec " + std::string(OPSGATE_BINARY) + " serve --config " + dir.file("opsgate.yaml") +
                                " 2>" + dir.file("serve.log");
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
    }
  }
  ~Serve() { stop(); }
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // The port from the log line "http: listening on ... (port N)", waiting up to 10 s.
  std::uint16_t port() const {
    static const std::regex kPort("\\(port ([0-9]+)\\)");
    for (int i = 0; i < 200; ++i) {
      std::smatch m;
      const std::string log = dir_.read("serve.log");
      if (std::regex_search(log, m, kPort)) {
        return static_cast<std::uint16_t>(std::stoi(m[1]));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }

  int stop() {
    if (pid_ <= 0) {
      return exit_code_;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

 private:
  const TempDir& dir_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// How a test delivers Slack's payloads: signed HTTP posts, or Socket Mode envelopes.
struct Delivery {
  std::uint16_t port = 0;             // HTTP mode
  SocketModeServer* socket = nullptr;  // Socket Mode
  int envelopes = 0;

  int post(const std::string& path, const std::string& content_type, const std::string& body,
           const std::string& extra = "") const {
    HttpTestConnection connection(port);
    if (!connection.send(signed_slack_request(path, content_type, body, kSecret, unix_now(), extra))) {
      return 0;
    }
    const auto response = connection.read_response();
    return response ? response->status : 0;
  }
  void event(const json& body, bool retry = false) {
    if (socket != nullptr) {
      socket->send(json{{"envelope_id", "env-" + std::to_string(++envelopes)}, {"type", "events_api"}, {"payload", body},
                        {"accepts_response_payload", false}, {"retry_attempt", retry ? 1 : 0}});
      return;
    }
    CHECK(post("/slack/events", "application/json", body.dump(),
               retry ? "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_timeout\r\n" : "") == 200);
  }
  void click(const json& payload) {
    if (socket != nullptr) {
      socket->send(json{{"envelope_id", "env-" + std::to_string(++envelopes)}, {"type", "interactive"}, {"payload", payload},
                        {"accepts_response_payload", true}});
      return;
    }
    CHECK(post("/slack/interactions", "application/x-www-form-urlencoded", "payload=" + form_value(payload.dump())) == 200);
  }
};

int count_posts(const SlackStandIn& slack, const std::string& needle) {
  int n = 0;
  for (const auto& c : slack.calls("chat.postMessage")) {
    n += c.body.value("text", "").find(needle) != std::string::npos ? 1 : 0;
  }
  return n;
}

void conversation(SlackStandIn& slack, Delivery& deliver, const TempDir& dir, Serve& serve) {
  const std::string thread = "1767225600.000200";
  deliver.event(slack_mention("EvE2E1", "U0ALICE", "restart cart in prod", thread));

  // The approval request: in the thread, with buttons carrying its id.
  const auto request = slack.wait_for_post("Approval id ");
  REQUIRE(request);
  CHECK(request->body["thread_ts"] == thread);
  const json buttons = request->body["blocks"].back();
  REQUIRE(buttons["type"] == "actions");
  const std::string id = buttons["elements"][0]["value"];
  // Clicks name the message as Slack would: the ts the stand-in answered.
  const std::string message_ts = request->ts;
  REQUIRE(!message_ts.empty());

  // A Slack retry of the first event does not ask twice.
  deliver.event(slack_mention("EvE2E1", "U0ALICE", "restart cart in prod", thread), true);
  // Alice approving her own request is refused.
  deliver.click(slack_click("U0ALICE", "approve", id, message_ts, thread));
  REQUIRE(slack.wait_for_post("own request"));
  CHECK(dir.read("demo/prod/cart.state").empty());

  // Bob (in the SRE user group) approves: the request runs, the result lands in the thread.
  deliver.click(slack_click("U0BOB", "approve", id, message_ts, thread));
  const auto result = slack.wait_for_post("restarted cart in prod");
  REQUIRE(result);
  CHECK(result->body["thread_ts"] == thread);
  const auto granted = slack.wait_for_post("approved by slack:T0AAA:U0BOB");
  REQUIRE(granted);
  CHECK(granted->body["thread_ts"] == thread);
  CHECK(count_posts(slack, "Approval id ") == 1);
  CHECK(dir.read("demo/prod/cart.state").find("restarted_at=") != std::string::npos);

  // The request message, updated in place: the buttons are gone, bob's name is on it.
  REQUIRE(slack.wait_until([&] { return !slack.calls("chat.update").empty(); }));
  const auto update = slack.calls("chat.update").front();
  CHECK(update.body["channel"] == "C0OPS");
  CHECK(update.body["ts"] == message_ts);
  CHECK(update.body["blocks"].dump().find("\"actions\"") == std::string::npos);
  CHECK(update.body["blocks"].dump().find("approved by <@U0BOB>") != std::string::npos);

  CHECK(serve.stop() == 0);
  SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
  const auto count = [&db](const std::string& where) {
    return db.execAndGet("SELECT count(*) FROM audit_events WHERE " + where).getInt();
  };
  CHECK(count("kind='received' AND platform='slack' AND principal='slack:T0AAA:U0ALICE'") == 2);  // mention, own click
  CHECK(count("kind='decided' AND outcome='needs_approval'") == 1);
  CHECK(count("kind='approval_requested'") == 1);
  CHECK(count("kind='approval_vote' AND outcome='refused' AND principal='slack:T0AAA:U0ALICE'") == 1);
  CHECK(count("kind='approval_vote' AND outcome='granted' AND principal='slack:T0AAA:U0BOB'") == 1);
  CHECK(count("kind='approval_granted'") == 1);
  CHECK(count("kind='started' AND action='restart' AND principal='slack:T0AAA:U0ALICE'") == 1);
  CHECK(count("kind='finished' AND outcome='ok'") == 1);
  CHECK(count("kind='replied' AND outcome='ok'") >= 4);
  CHECK(count("kind='replied' AND outcome!='ok'") == 0);
  const auto verify = run_command(std::string(OPSGATE_BINARY) + " audit verify --config " + dir.file("opsgate.yaml"));
  CHECK(verify.exit_code == 0);
}

}  // namespace

TEST_SUITE("integration/slack") {
  TEST_CASE("HTTP mode: mention, approval by a second user's button, result in the thread, message updated, all audited") {
    SlackStandIn slack({"xoxb-e2e-bot", "xapp-1-A0BBB-e2e"});
    slack.add_user("U0ALICE", "alice");
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    TempDir dir;
    dir.write("opsgate.yaml", slack_config(dir, slack.api_base(), "http"));
    Serve serve(dir);
    INFO(dir.read("serve.log"));
    Delivery deliver;
    deliver.port = serve.port();
    REQUIRE(deliver.port != 0);
    // A forged request changes nothing.
    HttpTestConnection forged(deliver.port);
    const std::string body = slack_mention("EvForged", "U0BOB", "restart cart in prod", "1.1").dump();
    forged.send(signed_slack_request("/slack/events", "application/json", body, "not-the-secret", unix_now()));
    const auto refused = forged.read_response();
    REQUIRE(refused);
    CHECK(refused->status == 401);

    conversation(slack, deliver, dir, serve);
    CHECK(dir.read("serve.log").find("signature mismatch") != std::string::npos);
  }

  TEST_CASE("Socket Mode: the same conversation over the WebSocket, every envelope acked") {
    SlackStandIn slack({"xoxb-e2e-bot", "xapp-1-A0BBB-e2e"});
    slack.add_user("U0ALICE", "alice");
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    SocketModeServer socket;
    slack.set_socket_url(socket.url());
    TempDir dir;
    dir.write("opsgate.yaml", slack_config(dir, slack.api_base(), "socket"));
    Serve serve(dir);
    INFO(dir.read("serve.log"));
    REQUIRE(serve.port() != 0);
    REQUIRE(slack.wait_until([&] { return socket.accepted() == 1; }));
    Delivery deliver;
    deliver.socket = &socket;
    conversation(slack, deliver, dir, serve);
    std::set<std::string> acked;
    for (const auto& frame : socket.received()) {
      acked.insert(frame.value("envelope_id", ""));
    }
    CHECK(acked.size() == static_cast<std::size_t>(deliver.envelopes));
  }
}
