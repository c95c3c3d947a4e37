// libpq is loaded when first needed, libcurl by `opsgate serve` at start (a
// missing one stops start-up rather than the first reply) and by `opsgate
// shell` only when a request calls out: `whoami` piped through the shell maps
// neither, `serve` on SQLite with a Slack adapter maps libcurl and not libpq.

#include <doctest/doctest.h>

#include <string>

#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_http_config.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;

namespace {

constexpr const char* kSecret = "lazy-libraries-signing-secret-0123";

bool maps_library(const ServeProcess& serve, const std::string& soname) {
  return serve.maps().find("/" + soname) != std::string::npos;
}

}  // namespace

TEST_SUITE("integration/lazy_libraries") {
  TEST_CASE("serve on SQLite maps libcurl when ready, and libpq neither then nor after a reply") {
    SlackStandIn slack({"xoxb-e2e-bot"});
    slack.add_user("U0ALICE", "alice");
    TempDir dir;
    dir.write("opsgate.yaml", minimal_slack_http_config("  path: " + dir.file("opsgate.db") + "\n", slack.api_base(), kSecret));
    ServeProcess serve(dir, "opsgate.yaml");
    INFO(serve.log());
    const std::uint16_t port = serve.port();
    REQUIRE(port != 0);
    REQUIRE(wait_until_ready(port));
    CHECK(maps_library(serve, "libcurl.so.4"));
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

  TEST_CASE("a piped shell answering whoami on SQLite maps neither libcurl nor libpq") {
    TempDir dir;
    dir.write("opsgate.yaml", "storage:\n  path: " + dir.file("opsgate.db") +
                                  "\ndefault_env: prod\nenvironments:\n  prod: {}\ntargets:\n  cart: {team: shop}\n");
    // The shell stays alive (its input open) until its reply is out, then
    // its maps are read; every wait is bounded (100 x 50 ms, input open 20 s
    // at most), and the shell is stopped by closing its input.
    dir.write("run.sh",
              "cd \"$1\" || exit 9\n"
              "{ echo whoami; for i in $(seq 400); do [ -e done ] && break; sleep 0.05; done; } | \"$2\" shell --config "
              "opsgate.yaml > out 2> err &\n"
              "p=$!\n"
              "for i in $(seq 100); do grep -q 'You are' out && break; sleep 0.05; done\n"
              "grep -c 'You are' out\n"
              "grep -c -E '/libcurl[.]so|/libpq[.]so' /proc/$p/maps\n"
              "touch done\n"
              "wait $p\n"
              "echo exit=$?\n");
    const auto result = run_command("bash " + dir.file("run.sh") + " " + dir.path() + " " + OPSGATE_BINARY);
    INFO(result.out);
    CHECK(result.out == "1\n0\nexit=0\n");
  }
}
