// libcurl and libpq are loaded when first needed, not at start: `opsgate
// serve` on SQLite with a Slack adapter maps neither until it calls out; the
// first reply (an outbound HTTP call) loads libcurl, and libpq stays unmapped.

#include <doctest/doctest.h>

#include <string>

#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;

namespace {

constexpr const char* kSecret = "lazy-libraries-signing-secret-0123";

std::string sqlite_slack_config(const TempDir& dir, const std::string& api_base) {
  return R"(storage:
  path: )" + dir.file("opsgate.db") + R"(
server:
  listen: 127.0.0.1:0
default_env: prod
environments:
  prod: {}
targets:
  cart: {team: shop}
adapters:
  slack:
    mode: http
    bot_token: xoxb-e2e-bot
    signing_secret: )" + kSecret + R"(
    api_base: )" + api_base + R"(
    post_interval_ms: 0
)";
}

bool maps_library(const ServeProcess& serve, const std::string& soname) {
  return serve.maps().find("/" + soname) != std::string::npos;
}

}  // namespace

TEST_SUITE("integration/lazy_libraries") {
  TEST_CASE("serve on SQLite maps neither libcurl nor libpq until its first outbound call, which loads libcurl only") {
    SlackStandIn slack({"xoxb-e2e-bot"});
    slack.add_user("U0ALICE", "alice");
    TempDir dir;
    dir.write("opsgate.yaml", sqlite_slack_config(dir, slack.api_base()));
    ServeProcess serve(dir, "opsgate.yaml");
    INFO(serve.log());
    const std::uint16_t port = serve.port();
    REQUIRE(port != 0);
    REQUIRE(wait_until_ready(port));
    CHECK_FALSE(maps_library(serve, "libcurl.so.4"));
    CHECK_FALSE(maps_library(serve, "libpq.so.5"));

    HttpTestConnection connection(port);
    REQUIRE(connection.send(signed_slack_request("/slack/events", "application/json",
                                                 slack_mention("EvLazy1", "U0ALICE", "whoami", "1767225600.000401").dump(),
                                                 kSecret, unix_now())));
    const auto acknowledged = connection.read_response();
    REQUIRE(acknowledged);
    CHECK(acknowledged->status == 200);
    REQUIRE(slack.wait_until([&] { return !slack.calls("chat.postMessage").empty(); }));
    CHECK(maps_library(serve, "libcurl.so.4"));
    CHECK_FALSE(maps_library(serve, "libpq.so.5"));
    CHECK(serve.stop() == 0);
  }
}
