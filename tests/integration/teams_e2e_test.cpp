#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <functional>
#include <regex>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/teams_stand_in.hpp"

using opsgate::test::bot_claims;
using opsgate::test::ConnectorCall;
using opsgate::test::json;
using opsgate::test::RsaSigner;
using opsgate::test::run_command;
using opsgate::test::TeamsStandIn;
using opsgate::test::TempDir;

namespace {

constexpr const char* kAppId = "00000000-aaaa-bbbb-cccc-000000000001";
constexpr const char* kBotId = "28:00000000-aaaa-bbbb-cccc-000000000001";
constexpr const char* kAlice = "6f1c2d3e-0000-4000-8000-123456789abc";
constexpr const char* kBob = "0b0b0b0b-0000-4000-8000-0000000000b0";
constexpr const char* kConversation = "19:ops@thread.tacv2;messageid=1767225600000";
constexpr const char* kAsk = "1767225600123";

std::string config_for(const TempDir& dir, const TeamsStandIn& microsoft) {
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
adapters:
  teams:
    app_id: )" + kAppId + R"(
    app_password: {env: OPSGATE_TEST_TEAMS_SECRET}
    openid_metadata_url: )" + microsoft.metadata_url() + R"(
    token_url: )" + microsoft.token_url() + R"(
    service_hosts: [botframework.com, trafficmanager.net, 127.0.0.1]
actions:
  exec:
    timeout: 20s
    commands:
      restart: [)" + backend + R"(, restart, "{env}", "{target}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + R"(
policy:
  groups:
    shop: {members: ["teams:aad:)" + kAlice + R"("]}
    sre: {members: ["teams:aad:)" + kBob + R"("]}
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
      quorum: 1
)";
}

// `opsgate serve` in the background, bounded by `timeout`; SIGTERM on scope exit.
class Serve {
 public:
  explicit Serve(const TempDir& dir) : dir_(dir) {
    const std::string script = "OPSGATE_TEST_TEAMS_SECRET=s3cret timeout -k 5 120 " + std::string(OPSGATE_BINARY) +
                               " serve --config " + dir.file("opsgate.yaml") + " </dev/null >/dev/null 2>" +
                               dir.file("err.txt") + " & echo $! > " + dir.file("pid");
    dir.write("start.sh", script);
    run_command("bash " + dir.file("start.sh"));
    pid_ = std::atoi(dir.read("pid").c_str());
    const std::regex port_re("\\(port ([0-9]+)\\)");
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::smatch match;
      const std::string log = dir.read("err.txt");
      if (std::regex_search(log, match, port_re)) {
        port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
  ~Serve() { stop(); }
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  std::uint16_t port() const { return port_; }
  std::string log() const { return dir_.read("err.txt"); }

  // SIGTERM to `timeout`, which passes it on; true when it was gone in time.
  bool stop() {
    if (pid_ <= 0) {
      return true;
    }
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::kill(pid_, 0) != 0) {
        pid_ = 0;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    pid_ = 0;
    return false;
  }

 private:
  const TempDir& dir_;
  int pid_ = 0;
  std::uint16_t port_ = 0;
};

json activity(const TeamsStandIn& microsoft, const std::string& id, const std::string& aad, const std::string& name,
              const std::string& text) {
  return {{"type", "message"},
          {"id", id},
          {"channelId", "msteams"},
          {"serviceUrl", microsoft.service_url()},
          {"from", {{"id", "29:" + name}, {"name", name}, {"aadObjectId", aad}}},
          {"recipient", {{"id", kBotId}, {"name", "OpsGate"}}},
          {"conversation", {{"id", kConversation}, {"conversationType", "channel"}, {"tenantId", "72f9"}}},
          {"channelData", {{"tenant", {{"id", "72f9"}}}, {"team", {{"id", "19:team@thread.tacv2"}}}, {"channel", {{"id", "19:ops@thread.tacv2"}}}}},
          {"text", text},
          {"entities", json::array({{{"type", "mention"}, {"text", "<at>OpsGate</at>"}, {"mentioned", {{"id", kBotId}}}}})}};
}

json click(const TeamsStandIn& microsoft, const std::string& id, const std::string& aad, const std::string& name,
           const std::string& approval_id, const std::string& card_id) {
  json a = activity(microsoft, id, aad, name, "");
  a.erase("entities");
  a["type"] = "invoke";
  a["name"] = "adaptiveCard/action";
  a["replyToId"] = card_id;
  a["value"] = {{"action", {{"type", "Action.Execute"}, {"verb", "approve"}, {"data", {{"opsgate", "approve"}, {"id", approval_id}}}}}};
  return a;
}

std::optional<opsgate::test::TestResponse> post(std::uint16_t port, const json& body, const std::string& token) {
  return opsgate::test::http_request(port, "POST", "/api/messages", body.dump(),
                                     {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Waits (bounded) for a connector call that `match` accepts.
std::optional<ConnectorCall> wait_call(const TeamsStandIn& microsoft, const std::function<bool(const ConnectorCall&)>& match) {
  for (int i = 0; i < 600; ++i) {
    for (const auto& call : microsoft.calls()) {
      if (match(call)) {
        return call;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

bool text_has(const ConnectorCall& call, const std::string& part) {
  return call.body.is_object() && call.body.contains("text") && call.body["text"].is_string() &&
         call.body["text"].get<std::string>().find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("integration/teams") {
  TEST_CASE("a Teams thread asks for a prod restart, another user approves it from the card, forged tokens get 401") {
    TeamsStandIn microsoft(kAppId, "s3cret");
    RsaSigner signer("bf-key-1");
    microsoft.publish({signer.jwk()});
    microsoft.add_conversation(kConversation, {kAsk});
    TempDir dir;
    dir.write("opsgate.yaml", config_for(dir, microsoft));
    Serve serve(dir);
    INFO(serve.log());
    REQUIRE(serve.port() != 0);
    const std::string token = signer.sign(bot_claims(kAppId, microsoft.service_url(), now_s()));
    const std::string path = "/v3/conversations/" + opsgate::adapters::teams::percent_encode(kConversation) + "/activities";

    // Alice asks; an approval card arrives in her thread.
    const auto asked = post(serve.port(), activity(microsoft, kAsk, kAlice, "Alice", "<at>OpsGate</at> restart cart in prod"), token);
    REQUIRE(asked);
    CHECK(asked->status == 200);
    auto card = wait_call(microsoft, [&](const ConnectorCall& c) {
      return c.method == "POST" && c.body.contains("attachments") && c.body["attachments"][0]["content"].contains("actions");
    });
    REQUIRE(card);
    CHECK(card->path == path + "/" + kAsk);
    CHECK(card->authorization == "Bearer bf-token-1");
    const json& actions = card->body["attachments"][0]["content"]["actions"];
    CHECK(actions[0]["type"] == "Action.Execute");
    const std::string approval_id = actions[0]["data"]["id"];
    const std::string card_id = "act-1";  // the stand-in's first id
    CHECK(dir.read("demo/prod/cart.state").empty());

    // Alice cannot approve her own request: refused inline and in the thread.
    const auto own = post(serve.port(), click(microsoft, "c-1", kAlice, "Alice", approval_id, card_id), token);
    REQUIRE(own);
    CHECK(own->body.find("you cannot approve or deny your own request") != std::string::npos);
    CHECK(wait_call(microsoft, [&](const ConnectorCall& c) { return text_has(c, "You cannot approve or deny your own request"); }));

    // Forged and replayed tokens: 401, and nothing happens.
    RsaSigner forger("bf-key-1");
    const json bob_click = click(microsoft, "c-2", kBob, "Bob", approval_id, card_id);
    CHECK(post(serve.port(), bob_click, forger.sign(bot_claims(kAppId, microsoft.service_url(), now_s())))->status == 401);
    json expired = bot_claims(kAppId, microsoft.service_url(), now_s() - 7200);
    CHECK(post(serve.port(), bob_click, signer.sign(expired))->status == 401);  // captured two hours ago
    const std::string elsewhere = signer.sign(bot_claims(kAppId, "https://smba.trafficmanager.net/emea/", now_s()));
    CHECK(post(serve.port(), bob_click, elsewhere)->status == 401);  // replayed from another serviceUrl
    CHECK(post(serve.port(), bob_click, opsgate::test::unsigned_token(bot_claims(kAppId, microsoft.service_url(), now_s()), "bf-key-1"))->status == 401);
    CHECK(dir.read("demo/prod/cart.state").empty());

    // Bob approves from the card: answered inline, the card updated, the result posted in the thread.
    const auto approved = post(serve.port(), bob_click, token);
    REQUIRE(approved);
    CHECK(approved->status == 200);
    CHECK(approved->body.find("Approval from Bob received") != std::string::npos);
    auto updated = wait_call(microsoft, [&](const ConnectorCall& c) { return c.method == "PUT"; });
    REQUIRE(updated);
    CHECK(updated->path == path + "/" + card_id);
    const json& decided = updated->body["attachments"][0]["content"];
    CHECK_FALSE(decided.contains("actions"));
    CHECK(decided["body"].back()["text"].get<std::string>().find("granted") != std::string::npos);
    auto result = wait_call(microsoft, [&](const ConnectorCall& c) { return text_has(c, "restarted cart in prod"); });
    REQUIRE(result);
    CHECK(result->path == path + "/" + kAsk);
    CHECK(result->body["attachments"][0]["content"]["version"] == "1.5");
    CHECK(dir.read("demo/prod/cart.state").find("restarted_at=") != std::string::npos);
    CHECK(microsoft.token_requests() == 1);  // one token for every call

    // A redelivered click is not a second vote.
    CHECK(post(serve.port(), bob_click, token)->status == 200);
    CHECK(serve.stop());
    INFO(serve.log());

    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    const auto count = [&](const std::string& where) {
      return db.execAndGet("SELECT count(*) FROM audit_events WHERE " + where).getInt();
    };
    CHECK(count("kind='received' AND platform='teams'") == 3);
    CHECK(count("kind='approval_requested' AND outcome='pending'") == 1);
    CHECK(count("kind='approval_vote' AND outcome='refused' AND principal='teams:aad:" + std::string(kAlice) + "'") == 1);
    CHECK(count("kind='approval_vote' AND outcome='granted' AND principal='teams:aad:" + std::string(kBob) + "'") == 1);
    CHECK(count("kind='approval_granted'") == 1);
    CHECK(count("kind='started' AND action='restart' AND principal='teams:aad:" + std::string(kAlice) + "'") == 1);
    CHECK(count("kind='finished' AND outcome='ok'") == 1);
    CHECK(count("kind='replied' AND outcome='ok'") >= 4);
    CHECK(count("kind='replied' AND outcome<>'ok'") == 0);
    const auto verify = run_command("OPSGATE_TEST_TEAMS_SECRET=s3cret " + std::string(OPSGATE_BINARY) + " audit verify --config " + dir.file("opsgate.yaml"));
    CHECK(verify.exit_code == 0);
  }
}
