#include <doctest/doctest.h>

#include "adapters/slack/slack_adapter.hpp"
#include "adapters/slack/slack_blocks.hpp"
#include "adapters/slack/slack_inbound.hpp"
#include "adapters/slack/slack_signature.hpp"
#include "src/core/config_node.hpp"

using namespace opsgate;
using namespace opsgate::adapters::slack;
using nlohmann::json;

namespace {
std::chrono::system_clock::time_point at(std::int64_t s) { return std::chrono::system_clock::time_point{std::chrono::seconds{s}}; }
}  // namespace

TEST_SUITE("adapters/slack/parts") {
  TEST_CASE("signature: Slack's documented example verifies, and every deviation is refused") {
    // The example from Slack's "Verifying requests" page.
    const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
    const std::string body =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
        "&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
        "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const std::string expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    CHECK(sign(secret, "1531420618", body) == expected);
    CHECK(verify_signature(secret, "1531420618", expected, body, at(1531420618)) == SignatureCheck::ok);
    CHECK(verify_signature(secret, "1531420618", expected, body, at(1531420618 + 299)) == SignatureCheck::ok);
    CHECK(verify_signature(secret, "1531420618", expected, body, at(1531420618 + 301)) == SignatureCheck::stale_timestamp);
    CHECK(verify_signature(secret, "1531420618", expected, body, at(1531420618 - 301)) == SignatureCheck::stale_timestamp);
    CHECK(verify_signature(secret, "", expected, body, at(1531420618)) == SignatureCheck::missing_header);
    CHECK(verify_signature(secret, "1531420618", "", body, at(1531420618)) == SignatureCheck::missing_header);
    CHECK(verify_signature(secret, "15314x0618", expected, body, at(1531420618)) == SignatureCheck::bad_timestamp);
    CHECK(verify_signature(secret, "1531420618", "v1=" + expected.substr(3), body, at(1531420618)) == SignatureCheck::bad_version);
    std::string changed = body;
    changed.back() = 'd';
    CHECK(verify_signature(secret, "1531420618", expected, changed, at(1531420618)) == SignatureCheck::mismatch);
    CHECK(verify_signature("other", "1531420618", expected, body, at(1531420618)) == SignatureCheck::mismatch);
  }

  TEST_CASE("signature: extreme timestamps are stale, never an overflow that passes the window") {
    const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
    const std::string body = "token=x&text=restart";
    for (const std::string ts : {"-9223372036854775808", "9223372036854775807", "-1", "0"}) {
      INFO(ts);
      // Correctly signed: only the window can refuse it.
      CHECK(verify_signature(secret, ts, sign(secret, ts, body), body, at(1531420618)) == SignatureCheck::stale_timestamp);
    }
    CHECK(verify_signature(secret, "-9223372036854775809", sign(secret, "1", body), body, at(1531420618)) ==
          SignatureCheck::bad_timestamp);
    CHECK(verify_signature(secret, "99999999999999999999", sign(secret, "1", body), body, at(1531420618)) ==
          SignatureCheck::bad_timestamp);
  }

  TEST_CASE("mentions are stripped, forms decoded, approval ids checked") {
    CHECK(strip_mentions("<@U0BOT> restart cart in staging") == "restart cart in staging");
    CHECK(strip_mentions("hey <@U0BOT|opsgate>, status of <#C1|ops>") == "hey , status of <#C1|ops>");
    CHECK(strip_mentions("<@U0BOT") == "<@U0BOT");
    const auto form = decode_form("a=1&b=x%20y+z&c=%2B%26%3D&d");
    CHECK(form.at("a") == "1");
    CHECK(form.at("b") == "x y z");
    CHECK(form.at("c") == "+&=");
    CHECK(form.at("d").empty());
    CHECK(decode_form("a=1&c=%zz").empty());  // not percent-encoding: no fields, not half of them
    CHECK(plausible_approval_id("ap-7f3c_1"));
    CHECK_FALSE(plausible_approval_id(""));
    CHECK_FALSE(plausible_approval_id("a b"));
    CHECK_FALSE(plausible_approval_id(std::string(65, 'a')));
  }

  TEST_CASE("inbound payloads: junk is ignored, never thrown on") {
    CHECK(parse_event(json()).kind == SlackInbound::Kind::ignore);
    CHECK(parse_event(json::array()).kind == SlackInbound::Kind::ignore);
    CHECK(parse_event(json{{"type", "event_callback"}, {"event", 5}}).kind == SlackInbound::Kind::ignore);
    CHECK(parse_event(json{{"type", "event_callback"}, {"team_id", 1}, {"event", {{"type", "app_mention"}, {"user", 2}}}}).kind ==
          SlackInbound::Kind::ignore);
    CHECK(parse_interaction(json{{"type", "block_actions"}, {"actions", "x"}}).kind == SlackInbound::Kind::ignore);
    CHECK(parse_slash_command({{"text", "x"}}).kind == SlackInbound::Kind::ignore);
    const auto help = parse_slash_command({{"team_id", "T1"}, {"user_id", "U1"}, {"channel_id", "C1"}, {"text", ""}});
    CHECK(help.kind == SlackInbound::Kind::message);
    CHECK(help.text == "help");
    CHECK(help.thread.empty());
    const json suggestion = {{"type", "block_actions"},
                             {"user", {{"id", "U1"}, {"team_id", "T1"}}},
                             {"channel", {{"id", "C1"}}},
                             {"message", {{"ts", "1.2"}}},
                             {"actions", json::array({{{"action_id", "suggest:0"}, {"value", "!logs cart prod level=error"}}})}};
    const auto clicked = parse_interaction(suggestion);
    CHECK(clicked.kind == SlackInbound::Kind::message);
    CHECK(clicked.text == "!logs cart prod level=error");
    CHECK(clicked.thread == "1.2");
    CHECK(clicked.approval_id.empty());
  }

  TEST_CASE("results render as Block Kit within Slack's limits, with a plain text fallback") {
    OutboundMessage m;
    m.text = "cart error_rate in prod: 2.5% (last 1h: min 0.1%, max 4%)\n▁▂▃▅▇█\nhttp://prometheus/graph";
    m.action = "metrics.query";
    m.data = {{"current_text", "2.5%"}, {"min", 0.001}, {"max", 0.04}, {"sparkline", "▁▂▃▅▇█"}};
    m.suggestions = {{"Error logs of cart", "!logs cart prod level=error"}, {"Alerts for cart", "!alerts cart prod"}};
    const json out = render_result(m);
    CHECK(out["text"] == m.text);
    const auto& blocks = out["blocks"];
    REQUIRE(blocks.size() == 4);
    CHECK(blocks[0]["text"]["text"] == "cart error_rate in prod: 2.5% (last 1h: min 0.1%, max 4%)");
    CHECK(blocks[1]["fields"][0]["text"] == "*Now*\n2.5%");
    CHECK(blocks[2]["text"]["text"].get<std::string>().find("```▁▂▃▅▇█") == 0);
    CHECK(blocks[3]["elements"][0]["value"] == "!logs cart prod level=error");
    CHECK(blocks[3]["elements"][1]["action_id"] == "suggest:1");

    OutboundMessage logs;
    logs.text = "500 lines of cart in prod";
    for (int i = 0; i < 500; ++i) {
      logs.text += "\n2026-11-25T10:00:00Z ERROR payment <declined> & retried " + std::to_string(i);
    }
    const json long_out = render_result(logs);
    const std::string code = long_out["blocks"][1]["text"]["text"];
    CHECK(code.size() <= kMaxSectionText);
    CHECK(code.find("more lines") != std::string::npos);
    CHECK(code.find("&lt;declined&gt; &amp;") != std::string::npos);
    CHECK(long_out["text"].get<std::string>().size() <= kMaxSectionText + 40);
    for (const auto& block : long_out["blocks"]) {
      if (block.contains("text")) {
        CHECK(block["text"]["text"].get<std::string>().size() <= kMaxSectionText);
      }
    }
    CHECK(truncate_lines("a\nb\nc", 3) == "a\nb\n… 1 more line");
    // One long line is cut at a character boundary, never inside a UTF-8 sequence.
    const std::string cut = truncate_lines("ééééé", 5);
    CHECK(cut == "éé…");
  }

  TEST_CASE("approval request and decision render") {
    OutboundMessage m;
    m.text = "🔐 restart cart in prod";
    m.approval_id = "ap-1";
    const json request = render_approval_request(m);
    CHECK(request["blocks"][1]["block_id"] == "approval:ap-1");
    CHECK(request["blocks"][1]["elements"][0]["style"] == "primary");
    CHECK(request["blocks"][1]["elements"][1]["style"] == "danger");
    m.approval_outcome = "denied";
    m.approval_outcome_text = "denied by slack:T0AAA:U0BOB: not now";
    const json decided = render_approval_decided("🔐 restart cart in prod", m);
    CHECK(decided["blocks"].size() == 2);
    CHECK(decided["blocks"][1]["elements"][0]["text"] == "🚫 denied by <@U0BOB>: not now");
    CHECK(decided["text"].get<std::string>().find("denied by <@U0BOB>") != std::string::npos);
  }

  TEST_CASE("echoed text cannot ping: <!channel>, <!here>, <!everyone>, <@U…> and links are escaped everywhere") {
    const std::string hostile = "disk full <!channel> <!here> <!everyone> <@U0ALICE> <http://evil.example|click> & more";
    const auto inert = [](const json& payload) {
      const std::string all = payload.dump();
      INFO(all);
      for (const char* live : {"<!channel>", "<!here>", "<!everyone>", "<@U0ALICE>", "<http://evil"}) {
        CHECK(all.find(live) == std::string::npos);
      }
      CHECK(all.find("&lt;!channel&gt;") != std::string::npos);
    };
    OutboundMessage m;
    m.text = hostile + "\nlog line: " + hostile;
    inert(render_result(m));
    m.text = "🔐 restart cart in prod (" + hostile + ")";
    m.approval_id = "ap-1";
    const json request = render_approval_request(m);
    inert(request);
    m.approval_outcome = "denied";
    m.approval_outcome_text = "denied by slack:T0AAA:U0BOB: " + hostile;
    // The request text comes back from Slack as posted (escaped): not escaped twice.
    const json decided = render_approval_decided(request["text"].get<std::string>(), m);
    inert(decided);
    CHECK(decided["blocks"][0]["text"]["text"].get<std::string>().find("&amp;lt;") == std::string::npos);
    CHECK(decided["blocks"][1]["elements"][0]["text"].get<std::string>().find("denied by <@U0BOB>") != std::string::npos);
  }

  TEST_CASE("config: tokens are checked for their kind, socket mode needs the app token") {
    setenv("OPSGATE_TEST_SLACK_BOT", "xoxb-1-2-3", 1);
    const auto parse = [](const std::string& yaml) { return parse_slack_config(ConfigNode::parse(yaml, "slack.yaml")); };
    const auto http = parse("bot_token: {env: OPSGATE_TEST_SLACK_BOT}\nsigning_secret: abc\n");
    CHECK(http.mode == "http");
    CHECK(http.api_base == "https://slack.com/api");
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxp-user\nsigning_secret: abc\n"), doctest::Contains("xoxb"), std::exception);
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxb-1\n"), doctest::Contains("signing_secret"), std::exception);
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxb-1\nmode: socket\n"), doctest::Contains("app_token"), std::exception);
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxb-1\nmode: socket\napp_token: xoxb-2\n"), doctest::Contains("xapp-"),
                         std::exception);
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxb-1\nmode: sockets\n"), doctest::Contains("mode"), std::exception);
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxb-1\nsigning_secret: a\napi_base: http://slack.example.com/api\n"),
                         doctest::Contains("api_base"), std::exception);
    CHECK_THROWS_WITH_AS(parse("bot_token: xoxb-1\nsigning_secret: a\nbot_tokn: x\n"), doctest::Contains("bot_tokn"),
                         std::exception);
    const auto socket = parse("bot_token: xoxb-1\nmode: socket\napp_token: xapp-1-A0BBB-2\nusergroups: [S0SRE]\n");
    CHECK(socket.mode == "socket");
    CHECK(socket.usergroups == std::vector<std::string>{"S0SRE"});
  }
}
