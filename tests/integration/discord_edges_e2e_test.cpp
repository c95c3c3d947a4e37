// Discord's edges through `opsgate serve`: replays (after a restart, after
// many other interactions, stale timestamps), memory under a flood of signed
// clicks, the guild allow-list on the gateway, and DMs without privileges.
#include <doctest/doctest.h>

#include <ctime>
#include <functional>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/adapters/discord_stand_in.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/load_sender.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"

using nlohmann::json;
using opsgate::test::DiscordStandIn;
using opsgate::test::Ed25519Signer;
using opsgate::test::HttpTestConnection;
using opsgate::test::RestCall;
using opsgate::test::ServeProcess;
using opsgate::test::TempDir;

namespace {

constexpr const char* kApp = "120000000000000001";
constexpr const char* kGuild = "110000000000000001";
constexpr const char* kOtherGuild = "110000000000000999";
constexpr const char* kChannel = "140000000000000001";
constexpr const char* kAlice = "150000000000000001";  // shop: may restart in staging
constexpr const char* kSreRole = "170000000000000009";
constexpr const char* kBotUser = "999000000000000001";

std::string config_yaml(const TempDir& dir, const DiscordStandIn& discord, const Ed25519Signer& signer, bool gateway) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return std::string("server:\n  listen: 127.0.0.1:0\n  max_connections: 64\nstorage:\n  path: ") + dir.file("opsgate.db") +
         "\ndefault_env: prod\nenvironments:\n  prod: {}\n  staging: {}\ntargets:\n  cart: {team: shop}\n"
         "adapters:\n  discord:\n    application_id: \"" + kApp + "\"\n    public_key: " + signer.public_key_hex() +
         "\n    bot_token: {env: OPSGATE_TEST_DISCORD_TOKEN}\n    api_base: " + discord.api_base() +
         "\n    guilds: [\"" + kGuild + "\"]\n    gateway:\n      enabled: " + (gateway ? "true" : "false") +
         "\n      url: " + discord.gateway_url() +
         "\nactions:\n  exec:\n    timeout: 20s\n    commands:\n      restart: [" + backend +
         ", restart, \"{env}\", \"{target}\"]\n    env:\n      OPSGATE_DEMO_STATE: " + dir.file("demo") +
         "\npolicy:\n  groups:\n    shop: {members: [\"discord:" + kAlice + "\"]}\n"
         "    sre: {platform_groups: [\"discord:role:" + kSreRole + "\"]}\n"
         "  roles:\n    staging-writer: {actions: [restart], envs: [staging]}\n    operator: {actions: [restart]}\n"
         "  bindings:\n    - {subjects: [group:shop], roles: [staging-writer]}\n    - {subjects: [group:sre], roles: [operator]}\n";
}

json interaction(int type, const std::string& id, const std::string& user, const std::vector<std::string>& roles) {
  return json{{"id", id},
              {"application_id", kApp},
              {"type", type},
              {"token", "tok-" + id},
              {"version", 1},
              {"guild_id", kGuild},
              {"channel_id", kChannel},
              {"member", {{"user", {{"id", user}, {"username", "alice"}}}, {"roles", roles}}}};
}

json ops_command(const std::string& id, const std::string& text) {
  json ask = interaction(2, id, kAlice, {});
  ask["data"] = {{"id", "1"}, {"name", "ops"}, {"type", 1}, {"options", {{{"name", "text"}, {"type", 3}, {"value", text}}}}};
  return ask;
}

// The exact bytes of a signed interaction request, as captured on the wire.
std::string signed_request(const Ed25519Signer& signer, const json& body_json, std::time_t timestamp, bool keep_alive = false) {
  const std::string body = body_json.dump();
  const std::string ts = std::to_string(timestamp);
  return "POST /discord/interactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Signature-Ed25519: " +
         signer.sign_hex(ts + body) + "\r\nX-Signature-Timestamp: " + ts + "\r\nContent-Length: " +
         std::to_string(body.size()) + (keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n") + body;
}

std::optional<opsgate::test::TestResponse> send_raw(std::uint16_t port, const std::string& request) {
  HttpTestConnection connection(port, std::chrono::seconds(10));
  if (!connection.send(request)) {
    return std::nullopt;
  }
  return connection.read_response();
}

int restarts_started(const TempDir& dir) {
  SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='started' AND action='restart'").getInt();
}

std::size_t count_calls(const std::vector<RestCall>& calls, const std::string& needle) {
  std::size_t n = 0;
  for (const auto& c : calls) {
    n += c.path.find(needle) != std::string::npos ? 1 : 0;
  }
  return n;
}

// Signed interactions make(i) for i in [first, first + count), `lanes` at once; how many got 200.
int send_many(std::uint16_t port, const Ed25519Signer& signer, int first, int count, const std::function<json(int)>& make,
              int lanes = 1) {
  return opsgate::test::send_many(
      port, first, count, [&](int i) { return signed_request(signer, make(i), std::time(nullptr), true); }, lanes);
}

}  // namespace

TEST_SUITE("integration/discord_edges") {
  TEST_CASE("a captured, signed /ops restart runs once: not again after a restart of opsgate, nor after 10,001 other interactions, and a stale timestamp is refused") {
    DiscordStandIn discord;
    Ed25519Signer signer;
    TempDir dir;
    dir.write("opsgate.yaml", config_yaml(dir, discord, signer, false));
    ::setenv("OPSGATE_TEST_DISCORD_TOKEN", "bot-token-e2e", 1);
    const std::string captured = signed_request(signer, ops_command("130000000000000001", "restart cart in staging"), std::time(nullptr));
    {
      ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve1.log"));
      const auto port = serve.port();
      INFO(serve.log());
      REQUIRE(port > 0);
      const auto first = send_raw(port, captured);
      REQUIRE(first);
      CHECK(first->status == 200);
      CHECK(json::parse(first->body)["type"] == 5);
      // The restart ran and was reported (the deferred message is replaced).
      REQUIRE(discord.wait_for([](const auto& calls) { return count_calls(calls, "/tok-130000000000000001/messages/@original") >= 1; },
                               std::chrono::seconds(20)));
      // 10,001 other signed interactions (an unknown command: answered at once, no pipeline).
      const int others = send_many(port, signer, 0, 10001, [](int i) {
        json other = interaction(2, std::to_string(200000000000000000LL + i), kAlice, {});
        other["data"] = {{"id", "1"}, {"name", "not-ops"}, {"type", 1}};
        return other;
      });
      CHECK(others == 10001);
      const auto again = send_raw(port, captured);
      REQUIRE(again);
      CHECK(again->status == 200);
      CHECK(json::parse(again->body)["type"] == 6);  // acknowledged, not acted on
      CHECK(serve.stop() == 0);
    }
    CHECK(restarts_started(dir) == 1);
    {
      ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve2.log"));
      const auto port = serve.port();
      INFO(serve.log());
      REQUIRE(port > 0);
      const auto replayed = send_raw(port, captured);
      REQUIRE(replayed);
      CHECK(replayed->status == 200);
      CHECK(json::parse(replayed->body)["type"] == 6);
      // Signed correctly, but 6 minutes old: refused before anything else.
      const auto stale = send_raw(port, signed_request(signer, ops_command("130000000000000002", "restart cart in staging"),
                                                       std::time(nullptr) - 360));
      REQUIRE(stale);
      CHECK(stale->status == 401);
      CHECK(stale->body.find("stale") != std::string::npos);
      // A fresh one still runs (the store refuses repeats, not everything).
      const auto fresh = send_raw(port, signed_request(signer, ops_command("130000000000000003", "restart cart in staging"),
                                                       std::time(nullptr)));
      REQUIRE(fresh);
      CHECK(json::parse(fresh->body)["type"] == 5);
      REQUIRE(discord.wait_for([](const auto& calls) { return count_calls(calls, "/tok-130000000000000003/messages/@original") >= 1; },
                               std::chrono::seconds(20)));
      CHECK(serve.stop() == 0);
    }
    CHECK(restarts_started(dir) == 2);  // the first and the fresh one; never the replays or the stale one
    CHECK(count_calls(discord.calls(), "/tok-130000000000000002/") == 0);
  }
}

TEST_SUITE("integration/discord_edges") {
  TEST_CASE("load: 50,000 signed clicks on unknown approval ids, each carrying a long message: the resident set settles") {
    DiscordStandIn discord;
    Ed25519Signer signer;
    TempDir dir("/dev/shm");  // the audit log fsyncs every group commit: here that costs nothing
    dir.write("opsgate.yaml", config_yaml(dir, discord, signer, false));
    ::setenv("OPSGATE_TEST_DISCORD_TOKEN", "bot-token-e2e", 1);
    ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve.log"));
    const auto port = serve.port();
    INFO(serve.log());
    REQUIRE(port > 0);
    const std::string content(1800, 'x');
    const auto click = [&content](int i) {
      const std::string id = std::to_string(300000000000000000LL + i);
      json c = interaction(3, id, kAlice, {});
      c["message"] = {{"id", std::to_string(900000000000000000LL + i)}, {"content", content}};
      c["data"] = {{"custom_id", "approve:zz" + std::to_string(i)}, {"component_type", 2}};
      return c;
    };
    CHECK(send_many(port, signer, 0, 10000, click, 32) == 10000);
    const long after_10k = serve.rss_kib();
    CHECK(send_many(port, signer, 10000, 40000, click, 32) == 40000);
    const long after_50k = serve.rss_kib();
    MESSAGE("RSS after 10k clicks: " << after_10k << " KiB; after 50k: " << after_50k << " KiB");
    REQUIRE(after_10k > 0);
    // Unbounded, 40,000 more clicks keep ~280 MiB; bounded maps keep at most a few MiB more.
    CHECK(after_50k - after_10k < 48 * 1024);
    CHECK(serve.stop() == 0);
  }
}

TEST_SUITE("integration/discord_edges") {
  TEST_CASE("the gateway serves only the allowed guilds, and a DM interaction takes its invoker from user with no roles") {
    DiscordStandIn discord;
    Ed25519Signer signer;
    TempDir dir;
    dir.write("opsgate.yaml", config_yaml(dir, discord, signer, true));
    ::setenv("OPSGATE_TEST_DISCORD_TOKEN", "bot-token-e2e", 1);
    ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve.log"));
    const auto port = serve.port();
    INFO(serve.log());
    REQUIRE(port > 0);
    auto peer = discord.accept_gateway(std::chrono::seconds(10));
    REQUIRE(peer);
    peer->send(json{{"op", 10}, {"d", {{"heartbeat_interval", 5000}}}});
    REQUIRE(peer->receive());  // identify
    peer->send(json{{"op", 0}, {"t", "READY"}, {"s", 1}, {"d", {{"session_id", "s-1"}, {"user", {{"id", kBotUser}}}}}});
    const auto mention = [](const std::string& id, const std::string& guild, const std::string& channel) {
      return json{{"op", 0}, {"t", "MESSAGE_CREATE"}, {"s", 2},
                  {"d", {{"id", id}, {"channel_id", channel}, {"guild_id", guild},
                         {"content", std::string("<@") + kBotUser + "> restart cart in staging"},
                         {"author", {{"id", kAlice}, {"username", "alice"}}},
                         {"member", {{"roles", json::array()}}},
                         {"mentions", {{{"id", kBotUser}}}}}}};
    };
    // A server the bot was added to but that is not in `guilds`: ignored. Then an allowed one.
    peer->send(mention("800000000000000001", kOtherGuild, "140000000000000999"));
    peer->send(mention("800000000000000002", kGuild, kChannel));
    REQUIRE(discord.wait_for([](const auto& calls) { return count_calls(calls, std::string("/channels/") + kChannel + "/messages") >= 1; },
                             std::chrono::seconds(20)));

    // A DM interaction (no guild_id) whose body also carries a member with the SRE role:
    // the invoker is `user`, and a DM vouches for no role.
    json dm{{"id", "130000000000000777"}, {"application_id", kApp}, {"type", 2}, {"token", "tok-dm"}, {"version", 1},
            {"channel_id", "140000000000000555"},
            {"user", {{"id", "150000000000000002"}, {"username", "bob"}}},
            {"member", {{"user", {{"id", kAlice}, {"username", "alice"}}}, {"roles", {kSreRole}}}},
            {"data", {{"id", "1"}, {"name", "ops"}, {"type", 1},
                      {"options", {{{"name", "text"}, {"type", 3}, {"value", "restart cart in prod"}}}}}}};
    const auto deferred = send_raw(port, signed_request(signer, dm, std::time(nullptr)));
    REQUIRE(deferred);
    CHECK(json::parse(deferred->body)["type"] == 5);
    REQUIRE(discord.wait_for([](const auto& calls) { return count_calls(calls, "/tok-dm/messages/@original") >= 1; },
                             std::chrono::seconds(20)));
    CHECK(serve.stop() == 0);

    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='received' AND channel='140000000000000999'").getInt() == 0);
    CHECK(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE kind='received' AND channel='") + kChannel + "'").getInt() == 1);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='received' AND principal='discord:150000000000000002'").getInt() == 1);
    CHECK(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE principal='discord:") + kAlice +
                        "' AND channel='140000000000000555'").getInt() == 0);
    // alice's staging restart ran; bob's prod restart from a DM did not (no role, so no right).
    CHECK(restarts_started(dir) == 1);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='started' AND principal='discord:150000000000000002'").getInt() == 0);
  }
}
