#include <doctest/doctest.h>

#include "tests/adapters/slack_harness.hpp"
#include "tests/support/socket_mode_server.hpp"

using namespace opsgate;
using namespace opsgate::test;
using nlohmann::json;

namespace {

json envelope(const std::string& id, const std::string& type, json payload) {
  return {{"envelope_id", id}, {"type", type}, {"payload", std::move(payload)}, {"accepts_response_payload", type != "events_api"},
          {"retry_attempt", 0}, {"retry_reason", ""}};
}

bool acked(const SocketModeServer& server, const std::string& envelope_id) {
  for (const auto& frame : server.received()) {
    if (frame.is_object() && frame.value("envelope_id", "") == envelope_id) {
      return true;
    }
  }
  return false;
}

std::size_t index_of(const std::vector<std::string>& events, const std::string& event) {
  return static_cast<std::size_t>(std::find(events.begin(), events.end(), event) - events.begin());
}

}  // namespace

TEST_SUITE("adapters/slack/socket") {
  TEST_CASE("Socket Mode: the app token opens the link, every envelope is acked, and events reach the sink") {
    SlackStandIn slack;
    SocketModeServer server;
    slack.set_socket_url(server.url());
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {}, true);
    REQUIRE(slack.wait_until([&] { return server.accepted() == 1; }));
    const auto opened = slack.calls("apps.connections.open");
    REQUIRE(opened.size() == 1);
    CHECK(opened[0].authorization == "Bearer xapp-1-A0BBB-test");

    server.send(envelope("env-1", "events_api", slack_mention("Ev1", "U0ALICE", "status of cart", "1767225600.000200")));
    REQUIRE(slack.wait_until([&] { return acked(server, "env-1"); }));
    const auto reply = slack.wait_for_post("echo: status of cart");
    REQUIRE(reply);
    CHECK(reply->body["thread_ts"] == "1767225600.000200");

    // A slash command's ack carries the ephemeral "working on it".
    server.send(envelope("env-2", "slash_commands",
                         json{{"team_id", "T0AAA"}, {"channel_id", "C0OPS"}, {"user_id", "U0ALICE"}, {"command", "/ops"},
                              {"text", "whoami"}, {"trigger_id", "1.2.3"}}));
    REQUIRE(slack.wait_until([&] { return acked(server, "env-2"); }));
    for (const auto& frame : server.received()) {
      if (frame.value("envelope_id", "") == "env-2") {
        CHECK(frame["payload"]["text"].get<std::string>().find("Working on it") != std::string::npos);
      }
    }
    CHECK(slack.wait_for_post("echo: whoami"));

    // A retried envelope (same event_id) is acked again but handled once.
    server.send(envelope("env-3", "events_api", slack_mention("Ev1", "U0ALICE", "status of cart", "1767225600.000200")));
    REQUIRE(slack.wait_until([&] { return acked(server, "env-3"); }));
    // A button click arrives as an interactive envelope.
    server.send(envelope("env-4", "interactive", slack_click("U0BOB", "approve", "ap-1", "1.5", "1.4")));
    REQUIRE(slack.wait_until([&] { return acked(server, "env-4"); }));
    REQUIRE(slack.wait_for_post("echo: !approve ap-1"));
    const auto events = h.sink().events();
    REQUIRE(events.size() == 3);
    CHECK(events[2].principal.id == "slack:T0AAA:U0BOB");
  }

  TEST_CASE("Socket Mode: the ack is sent while a backend hangs") {
    SlackStandIn slack;
    SocketModeServer server;
    slack.set_socket_url(server.url());
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {}, true);
    REQUIRE(slack.wait_until([&] { return server.accepted() == 1; }));
    server.send(envelope("env-1", "events_api", slack_mention("Ev1", "U0ALICE", "hang", "1.1")));
    REQUIRE(slack.wait_until([&] { return h.sink().hanging() == 1; }));
    CHECK(slack.wait_until([&] { return acked(server, "env-1"); }));
    server.send(envelope("env-2", "events_api", slack_mention("Ev2", "U0ALICE", "next", "1.2")));
    CHECK(slack.wait_until([&] { return acked(server, "env-2"); }));
    CHECK(slack.wait_for_post("echo: next"));
    CHECK(h.sink().hanging() == 1);
  }

  TEST_CASE("Socket Mode: refresh_requested opens the new connection before closing the old one") {
    SlackStandIn slack;
    SocketModeServer server;
    slack.set_socket_url(server.url());
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {}, true);
    REQUIRE(slack.wait_until([&] { return server.accepted() == 1; }));
    server.send(json{{"type", "disconnect"}, {"reason", "refresh_requested"}, {"debug_info", {{"host", "applink-1"}}}});
    REQUIRE(slack.wait_until([&] { return index_of(server.events(), "closed 1") < server.events().size(); }));
    const auto events = server.events();
    INFO(json(events).dump());
    CHECK(index_of(events, "open 2") < index_of(events, "closed 1"));
    CHECK(slack.calls("apps.connections.open").size() == 2);
    // The new connection works.
    server.send(envelope("env-9", "events_api", slack_mention("Ev9", "U0ALICE", "after refresh", "1.9")));
    CHECK(slack.wait_until([&] { return acked(server, "env-9"); }));
    CHECK(slack.wait_for_post("echo: after refresh"));
  }

  TEST_CASE("Socket Mode: a dropped socket is reconnected with a fresh URL") {
    SlackStandIn slack;
    SocketModeServer server;
    slack.set_socket_url(server.url());
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {}, true);
    REQUIRE(slack.wait_until([&] { return server.accepted() == 1; }));
    server.drop_newest();
    REQUIRE(slack.wait_until([&] { return server.accepted() == 2; }));
    CHECK(slack.calls("apps.connections.open").size() == 2);
    server.send(envelope("env-1", "events_api", slack_mention("Ev1", "U0ALICE", "back again", "1.1")));
    CHECK(slack.wait_until([&] { return acked(server, "env-1"); }));
    CHECK(slack.wait_for_post("echo: back again"));
  }

  TEST_CASE("Socket Mode: link_disabled stops the adapter instead of looping") {
    SlackStandIn slack;
    SocketModeServer server;
    slack.set_socket_url(server.url());
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {}, true);
    REQUIRE(slack.wait_until([&] { return server.accepted() == 1; }));
    server.send(json{{"type", "disconnect"}, {"reason", "link_disabled"}});
    REQUIRE(slack.wait_until([&] { return h.run_ended(); }));
    CHECK(server.accepted() == 1);
    CHECK(slack.calls("apps.connections.open").size() == 1);
  }
}
