#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/adapters/discord_stand_in.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"

extern char** environ;

using nlohmann::json;
using opsgate::test::DiscordStandIn;
using opsgate::test::Ed25519Signer;
using opsgate::test::RestCall;
using opsgate::test::TempDir;

namespace {

constexpr const char* kApp = "120000000000000001";
constexpr const char* kGuild = "110000000000000001";
constexpr const char* kChannel = "140000000000000001";
constexpr const char* kAlice = "150000000000000001";  // shop: may request prod restarts
constexpr const char* kBob = "150000000000000002";    // holds the SRE role in the guild
constexpr const char* kSreRole = "170000000000000009";
constexpr const char* kBotUser = "999000000000000001";

// `opsgate serve` in the background, stderr to a file; SIGTERM and a bounded wait on destruction.
class Serve {
 public:
  Serve(const TempDir& dir, const std::string& config) : log_(dir.file("serve.log")) {
    const std::string binary = OPSGATE_BINARY;
    std::vector<std::string> args{binary, "serve", "--config", config};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Serve() { stop(); }

  int stop() {
    if (pid_ <= 0) {
      return exit_code_;
    }
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return exit_code_;
  }

  // The port from the start-up log line "(port N", waiting up to 10 s.
  int port() const {
    const std::regex pattern("\\(port ([0-9]+)");
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(log_);
      std::stringstream s;
      s << in.rdbuf();
      std::smatch m;
      const std::string text = s.str();
      if (std::regex_search(text, m, pattern)) {
        return std::stoi(m[1]);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }

  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

json interaction(int type, const std::string& id, const std::string& user, const std::vector<std::string>& roles) {
  return json{{"id", id},
              {"application_id", kApp},
              {"type", type},
              {"token", "tok-" + id},
              {"version", 1},
              {"guild_id", kGuild},
              {"channel_id", kChannel},
              {"member", {{"user", {{"id", user}, {"username", user == kAlice ? "alice" : "bob"}}}, {"roles", roles}}}};
}

std::optional<opsgate::test::TestResponse> post_signed(int port, const Ed25519Signer& signer, const json& body_json) {
  const std::string body = body_json.dump();
  const std::string timestamp = std::to_string(std::time(nullptr));
  opsgate::test::HttpTestConnection connection(static_cast<std::uint16_t>(port), std::chrono::seconds(10));
  const std::string request = "POST /discord/interactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "X-Signature-Ed25519: " + signer.sign_hex(timestamp + body) + "\r\nX-Signature-Timestamp: " +
                              timestamp + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  if (!connection.send(request)) {
    return std::nullopt;
  }
  return connection.read_response();
}

std::vector<RestCall> calls_to(const std::vector<RestCall>& calls, const std::string& method, const std::string& prefix) {
  std::vector<RestCall> out;
  for (const auto& c : calls) {
    if (c.method == method && c.path.rfind(prefix, 0) == 0) {
      out.push_back(c);
    }
  }
  return out;
}

bool any_content(const std::vector<RestCall>& calls, const std::string& needle) {
  for (const auto& c : calls) {
    const json j = c.json();
    if (j.is_object() && j.contains("content") && j["content"].is_string() &&
        j["content"].get<std::string>().find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_SUITE("integration/discord") {
  TEST_CASE("against a stand-in Discord: /ops asks, another member approves with the button, it runs, the channel hears it, mentions work over the gateway, all audited") {
    DiscordStandIn discord;
    Ed25519Signer signer;
    TempDir dir;
    const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
    dir.write("opsgate.yaml", std::string(R"(server:
  listen: 127.0.0.1:0
storage:
  path: )") + dir.file("opsgate.db") + R"(
default_env: prod
environments:
  prod: {synonyms: [production]}
  staging: {synonyms: [stage]}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
adapters:
  discord:
    application_id: ")" + kApp + R"("
    public_key: )" + signer.public_key_hex() + R"(
    bot_token: {env: OPSGATE_TEST_DISCORD_TOKEN}
    api_base: )" + discord.api_base() + R"(
    gateway:
      url: )" + discord.gateway_url() + R"(
actions:
  exec:
    timeout: 20s
    commands:
      restart: [)" + backend + R"(, restart, "{env}", "{target}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + R"(
policy:
  groups:
    shop: {members: ["discord:)" + kAlice + R"("]}
    sre: {platform_groups: ["discord:role:)" + kSreRole + R"("]}
  roles:
    requester: {actions: [restart], envs: [prod, staging]}
    operator: {actions: [restart, audit.show]}
  bindings:
    - {subjects: [group:shop], roles: [requester]}
    - {subjects: [group:sre], roles: [operator]}
  rules:
    - id: prod-writes-need-approval
      description: prod writes need an SRE who is not the requester
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
      quorum: 1
)");
    ::setenv("OPSGATE_TEST_DISCORD_TOKEN", "bot-token-e2e", 1);
    Serve serve(dir, dir.file("opsgate.yaml"));
    const int port = serve.port();
    INFO(serve.log());
    REQUIRE(port > 0);

    // The gateway connects and identifies.
    auto peer = discord.accept_gateway(std::chrono::seconds(10));
    REQUIRE(peer);
    peer->send(json{{"op", 10}, {"d", {{"heartbeat_interval", 5000}}}});
    const auto identify = peer->receive();
    REQUIRE(identify);
    CHECK((*identify)["op"] == 2);
    CHECK((*identify)["d"]["token"] == "bot-token-e2e");
    peer->send(json{{"op", 0}, {"t", "READY"}, {"s", 1}, {"d", {{"session_id", "s-1"}, {"resume_gateway_url", discord.gateway_url()}, {"user", {{"id", kBotUser}}}}}});

    // 1. alice asks with /ops: deferred at once.
    json ask = interaction(2, "130000000000000001", kAlice, {});
    ask["data"] = {{"id", "1"}, {"name", "ops"}, {"type", 1}, {"options", {{{"name", "text"}, {"type", 3}, {"value", "restart cart prod"}}}}};
    const auto deferred = post_signed(port, signer, ask);
    REQUIRE(deferred);
    CHECK(deferred->status == 200);
    CHECK(json::parse(deferred->body)["type"] == 5);

    // 2. The approval request replaces the deferred message, with buttons.
    const std::string original = std::string("/webhooks/") + kApp + "/tok-130000000000000001/messages/@original";
    REQUIRE(discord.wait_for([&](const auto& calls) { return !calls_to(calls, "PATCH", original).empty(); }));
    const json request_message = calls_to(discord.calls(), "PATCH", original).front().json();
    INFO(request_message.dump());
    REQUIRE(request_message.contains("components"));
    const std::string approve_id = request_message["components"][0]["components"][0]["custom_id"];
    REQUIRE(approve_id.rfind("approve:", 0) == 0);
    CHECK(request_message["allowed_mentions"] == json{{"parse", json::array()}});

    // 3. alice cannot approve her own request: a private refusal.
    json own = interaction(3, "131000000000000001", kAlice, {});
    own["message"] = {{"id", "900000000000000001"}, {"content", request_message["content"]}};
    own["data"] = {{"custom_id", approve_id}, {"component_type", 2}};
    const auto refused = post_signed(port, signer, own);
    REQUIRE(refused);
    const json refusal = json::parse(refused->body);
    CHECK(refusal["type"] == 4);
    CHECK(refusal["data"]["flags"] == 64);

    // 4. bob (SRE role) approves with the button: the message shows the outcome, buttons gone.
    json click = interaction(3, "131000000000000002", kBob, {kSreRole});
    click["message"] = {{"id", "900000000000000001"}, {"content", request_message["content"]}};
    click["data"] = {{"custom_id", approve_id}, {"component_type", 2}};
    const auto approved = post_signed(port, signer, click);
    REQUIRE(approved);
    const json update = json::parse(approved->body);
    INFO(update.dump());
    if (update["type"] == 7) {
      CHECK(update["data"]["components"] == json::array());
      CHECK(update["data"]["content"].get<std::string>().find("Approved") != std::string::npos);
    } else {
      // A slow machine: acknowledged first, the message edited through the click's webhook.
      CHECK(update["type"] == 6);
      const std::string click_original = std::string("/webhooks/") + kApp + "/tok-131000000000000002/messages/@original";
      REQUIRE(discord.wait_for([&](const auto& calls) { return !calls_to(calls, "PATCH", click_original).empty(); }));
      CHECK(calls_to(discord.calls(), "PATCH", click_original).front().json()["components"] == json::array());
    }

    // 5. It runs, and the result is reported in alice's thread.
    const std::string follow_up = std::string("/webhooks/") + kApp + "/tok-130000000000000001";
    REQUIRE(discord.wait_for([&](const auto& calls) { return calls_to(calls, "POST", follow_up).size() >= 2; }, std::chrono::seconds(20)));
    const auto follow_ups = calls_to(discord.calls(), "POST", follow_up);
    CHECK(any_content(follow_ups, "approved by <@" + std::string(kBob) + ">"));
    CHECK(any_content(follow_ups, "cart"));

    // 6. A plain mention over the gateway is answered in the channel, as a reply.
    peer->send(json{{"op", 0}, {"t", "MESSAGE_CREATE"}, {"s", 2},
                    {"d", {{"id", "800000000000000001"}, {"channel_id", kChannel}, {"guild_id", kGuild},
                           {"content", std::string("<@") + kBotUser + "> help"},
                           {"author", {{"id", kAlice}, {"username", "alice"}}},
                           {"member", {{"roles", json::array()}}},
                           {"mentions", {{{"id", kBotUser}}}}}}});
    const std::string channel_messages = std::string("/channels/") + kChannel + "/messages";
    REQUIRE(discord.wait_for([&](const auto& calls) { return !calls_to(calls, "POST", channel_messages).empty(); }));
    const RestCall reply = calls_to(discord.calls(), "POST", channel_messages).front();
    CHECK(reply.json()["message_reference"]["message_id"] == "800000000000000001");
    CHECK(reply.header("Authorization") == "Bot bot-token-e2e");
    CHECK(reply.json()["allowed_mentions"] == json{{"parse", json::array()}});

    CHECK(serve.stop() == 0);
    // 7. Every step is in the audit log.
    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    for (const char* kind : {"received", "parsed", "decided", "approval_requested", "approval_vote", "approval_granted",
                             "started", "finished", "replied"}) {
      CHECK_MESSAGE(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE kind='") + kind + "'").getInt() >= 1, kind);
    }
    CHECK(db.execAndGet("SELECT principal FROM audit_events WHERE kind='started' AND action='restart'").getString() ==
          std::string("discord:") + kAlice);
    CHECK(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE kind='approval_vote' AND outcome='refused' AND principal='discord:") +
                        kAlice + "'").getInt() == 1);
    CHECK(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE kind='approval_vote' AND outcome='granted' AND principal='discord:") +
                        kBob + "'").getInt() == 1);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='received' AND platform='discord'").getInt() >= 4);
  }
}

TEST_SUITE("integration/discord") {
  TEST_CASE("opsgate discord register-commands PUTs the /ops command with the bot token, per guild or globally") {
    DiscordStandIn discord;
    TempDir dir;
    dir.write("opsgate.yaml", std::string("storage: {path: ") + dir.file("o.db") + "}\ndefault_env: prod\nenvironments: {prod: {}}\n"
                              "targets: {cart: {}}\nadapters:\n  discord:\n    application_id: \"" + kApp + "\"\n"
                              "    public_key: \"" + Ed25519Signer().public_key_hex() + "\"\n"
                              "    bot_token: {env: OPSGATE_TEST_DISCORD_TOKEN}\n    api_base: " + discord.api_base() + "\n");
    const std::string cmd = std::string("OPSGATE_TEST_DISCORD_TOKEN=bot-token-cli ") + OPSGATE_BINARY + " discord register-commands ";
    const auto guild = opsgate::test::run_command(cmd + kGuild + " --config " + dir.file("opsgate.yaml") + " 2>&1");
    INFO(guild.out);
    CHECK(guild.exit_code == 0);
    CHECK(guild.out.find("available now") != std::string::npos);
    const auto global = opsgate::test::run_command(cmd + "--config " + dir.file("opsgate.yaml") + " 2>&1");
    CHECK(global.exit_code == 0);
    const auto calls = discord.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].method == "PUT");
    CHECK(calls[0].path == std::string("/applications/") + kApp + "/guilds/" + kGuild + "/commands");
    CHECK(calls[1].path == std::string("/applications/") + kApp + "/commands");
    CHECK(calls[0].header("Authorization") == "Bot bot-token-cli");
    const json commands = calls[0].json();
    REQUIRE(commands.is_array());
    CHECK(commands[0]["name"] == "ops");
    CHECK(commands[0]["options"][0]["name"] == "text");
    CHECK(commands[0]["options"][0]["required"] == true);
  }
}
