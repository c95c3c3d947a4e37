// Slack's edges through `opsgate serve` and the stand-in Slack: replayed slash
// commands and clicks run once, the unsigned URL check, one principal per
// person across events and clicks, and memory under a flood of signed clicks
// carrying long messages.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/support/http_test_client.hpp"
#include "tests/support/load_sender.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "edges-signing-secret-0123456789abcdef";

std::string config_yaml(const TempDir& dir, const SlackStandIn& slack) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return "storage:\n  path: " + dir.file("opsgate.db") + "\nserver:\n  listen: 127.0.0.1:0\n  max_connections: 64\n"
         "default_env: prod\nenvironments:\n  prod: {}\n  staging: {}\ntargets:\n  cart: {team: shop}\n"
         "intent:\n  parsers: [command, nlu]\nadapters:\n  slack:\n    bot_token: xoxb-edges\n    signing_secret: " +
         kSecret + "\n    api_base: " + slack.api_base() + "\n    post_interval_ms: 0\n"
         "actions:\n  exec:\n    timeout: 20s\n    commands:\n      restart: [" + backend + ", restart, \"{env}\", \"{target}\"]\n"
         "    env:\n      OPSGATE_DEMO_STATE: " + dir.file("demo") + "\n"
         "policy:\n  groups:\n    shop: {members: [slack:T0AAA:U0ALICE]}\n  roles:\n    operator: {actions: [restart], envs: [staging]}\n"
         "  bindings:\n    - {subjects: [group:shop], roles: [operator]}\n";
}

std::optional<TestResponse> send_raw(std::uint16_t port, const std::string& request) {
  HttpTestConnection connection(port, std::chrono::seconds(10));
  if (!connection.send(request)) {
    return std::nullopt;
  }
  return connection.read_response();
}

std::string slash_body(const std::string& text, const std::string& trigger) {
  return "token=x&team_id=T0AAA&team_domain=acme&channel_id=C0OPS&channel_name=ops&user_id=U0ALICE&user_name=alice"
         "&command=%2Fops&text=" + form_value(text) + "&api_app_id=A0BBB&is_enterprise_install=false"
         "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=" + trigger;
}

int count_rows(const TempDir& dir, const std::string& where) {
  SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM audit_events WHERE " + where).getInt();
}

}  // namespace

TEST_SUITE("integration/slack_edges") {
  TEST_CASE("a replayed signed slash command or click runs once, ssl_check answers 200 unsigned, and a click names the same principal as an event") {
    SlackStandIn slack({"xoxb-edges", "xapp-1-A0BBB-edges"});
    slack.add_user("U0ALICE", "alice");
    TempDir dir;
    dir.write("opsgate.yaml", config_yaml(dir, slack));
    ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve.log"));
    const auto port = serve.port();
    INFO(serve.log());
    REQUIRE(port > 0);

    // Slack's documented certificate check: unsigned, with a token; 200 and nothing else.
    const auto check = send_raw(port, make_request("POST", "/slack/commands", "ssl_check=1&token=legacy-token-value",
                                                   {{"Content-Type", "application/x-www-form-urlencoded"}}));
    REQUIRE(check);
    CHECK(check->status == 200);
    CHECK(check->body.empty());

    // A slash command captured on the wire and sent again within the 5-minute window.
    const std::string captured = signed_slack_request("/slack/commands", "application/x-www-form-urlencoded",
                                                      slash_body("restart cart in staging", "111.222.slash1"), kSecret, unix_now());
    const auto first = send_raw(port, captured);
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK(first->body.find("Working on it") != std::string::npos);
    REQUIRE(slack.wait_until([&] { return !slack.calls("chat.postMessage").empty(); }));
    const auto again = send_raw(port, captured);
    REQUIRE(again);
    CHECK(again->status == 200);
    CHECK(again->body.empty());  // acknowledged, not acted on

    // A click whose workspace (team.id) differs from the clicker's own team (user.team_id), as on
    // Enterprise Grid: its principal is the one events give alice. Sent twice: handled once.
    json click = slack_click("U0ALICE", "suggest_0", "restart cart in staging", "1767225600.000900", "1767225600.000900");
    click["team"]["id"] = "T0GRIDWS";
    const std::string captured_click = signed_slack_request("/slack/interactions", "application/x-www-form-urlencoded",
                                                            "payload=" + form_value(click.dump()), kSecret, unix_now());
    REQUIRE(send_raw(port, captured_click));
    REQUIRE(send_raw(port, captured_click));
    REQUIRE(slack.wait_until([&] { return slack.calls("chat.postMessage").size() >= 2; }));
    // The mention of another person's event for comparison: the same principal id.
    REQUIRE(send_raw(port, signed_slack_request("/slack/events", "application/json",
                                                slack_mention("EvEDGE1", "U0ALICE", "help", "1767225600.000950").dump(), kSecret,
                                                unix_now())));
    REQUIRE(slack.wait_until([&] { return slack.calls("chat.postMessage").size() >= 3; }));
    CHECK(serve.stop() == 0);

    CHECK(count_rows(dir, "kind='started' AND action='restart'") == 2);  // the slash command once, the click once
    CHECK(count_rows(dir, "kind='received' AND principal LIKE 'slack:T0GRIDWS:%'") == 0);
    CHECK(count_rows(dir, "kind='received' AND principal='slack:T0AAA:U0ALICE'") == 3);
  }

  TEST_CASE("Slack's retries of one event_id, arriving together, run the restart once and post one reply") {
    SlackStandIn slack({"xoxb-edges", "xapp-1-A0BBB-edges"});
    slack.add_user("U0ALICE", "alice");
    TempDir dir;
    dir.write("opsgate.yaml", config_yaml(dir, slack));
    ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve.log"));
    const auto port = serve.port();
    INFO(serve.log());
    REQUIRE(port > 0);

    // The delivery and two retries on three connections, all sent before any answer is read.
    const std::string body = slack_mention("EvTWICE", "U0ALICE", "restart cart in staging", "1767225600.000400").dump();
    std::vector<std::unique_ptr<HttpTestConnection>> connections;
    for (int attempt = 0; attempt < 3; ++attempt) {
      const std::string retry_headers =
          attempt == 0 ? std::string{} : "X-Slack-Retry-Num: " + std::to_string(attempt) + "\r\nX-Slack-Retry-Reason: http_timeout\r\n";
      connections.push_back(std::make_unique<HttpTestConnection>(port, std::chrono::seconds(10)));
      REQUIRE(connections.back()->send(
          signed_slack_request("/slack/events", "application/json", body, kSecret, unix_now(), retry_headers)));
    }
    for (auto& connection : connections) {
      const auto answer = connection->read_response();
      REQUIRE(answer);
      CHECK(answer->status == 200);
    }
    // A later request as a marker: once it is answered, the restart's reply has been posted too.
    REQUIRE(slack.wait_until([&] { return slack.calls("chat.postMessage").size() >= 1; }));
    REQUIRE(send_raw(port, signed_slack_request("/slack/events", "application/json",
                                                slack_mention("EvMARK", "U0ALICE", "whoami", "1767225600.000500").dump(),
                                                kSecret, unix_now())));
    REQUIRE(slack.wait_until([&] { return slack.calls("chat.postMessage").size() >= 2; }));
    CHECK(serve.stop() == 0);

    CHECK(count_rows(dir, "kind='started' AND action='restart'") == 1);
    CHECK(count_rows(dir, "kind='received'") == 2);  // the restart once, the marker once
    CHECK(slack.calls("chat.postMessage").size() == 2);
    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM seen_events WHERE key='slack:event:EvTWICE'").getInt() == 1);
  }

  TEST_CASE("load: 50,000 signed clicks on unknown approvals, each with a long message: the resident set settles") {
    SlackStandIn slack({"xoxb-edges", "xapp-1-A0BBB-edges"});
    slack.add_user("U0MALLORY", "mallory");
    TempDir dir("/dev/shm");  // the audit log fsyncs every group commit: here that costs nothing
    dir.write("opsgate.yaml", config_yaml(dir, slack));
    ServeProcess serve(dir.file("opsgate.yaml"), dir.file("serve.log"));
    const auto port = serve.port();
    INFO(serve.log());
    REQUIRE(port > 0);
    const long at_start = serve.rss_kib();
    // Most messages just under Slack's 4,000-byte section limit, one in five far longer.
    const std::string text(3900, 'y');
    const std::string long_text(20000, 'z');
    const auto request = [&text, &long_text](int i) {
      json click = slack_click("U0MALLORY", "approve", "zz" + std::to_string(i), "1767225600." + std::to_string(100000 + i),
                               "1767225600.000100");
      click["message"]["text"] = i % 5 == 0 ? long_text : text;
      return signed_slack_request("/slack/interactions", "application/x-www-form-urlencoded",
                                  "payload=" + form_value(click.dump()), kSecret, unix_now());
    };
    CHECK(send_many(port, 0, 10000, request, 32) == 10000);
    const long after_10k = serve.rss_kib();
    CHECK(send_many(port, 10000, 40000, request, 32) == 40000);
    const long after_50k = serve.rss_kib();
    MESSAGE("RSS at start: " << at_start << " KiB; after 10k clicks: " << after_10k << " KiB; after 50k: " << after_50k << " KiB");
    REQUIRE(after_10k > 0);
    // Kept per click before the fix (up to 10,000 entries, whatever their size): ~70 MiB
    // by 10k clicks. Bounded by bytes: a few MiB, and nothing more after.
    CHECK(after_50k - after_10k < 16 * 1024);
    CHECK(after_50k - at_start < 40 * 1024);
    CHECK(serve.stop() == 0);
  }
}
