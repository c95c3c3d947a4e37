// `opsgate config check` refuses every outbound URL that would carry a
// credential (or fetch signing keys) over plain http to a non-loopback host,
// naming file:line and key; credential-less backends keep plain http.

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// `section` starts at line 5 and goes under the top level.
std::string config(const TempDir& dir, const std::string& section) {
  return "storage: {path: " + dir.file("o.db") + "}\n"  // 1
         "server: {listen: 127.0.0.1:0}\n"               // 2
         "environments: {prod: {}}\n"                    // 3
         "targets: {checkout: {team: shop}}\n"           // 4
         + section;
}

std::string check(const TempDir& dir, const std::string& section) {
  dir.write("c.yaml", config(dir, section));
  const auto out = run_command("env OUT_TOKEN=secret-value-123456 " + std::string(OPSGATE_BINARY) + " config check --config " +
                               dir.file("c.yaml") + " 2>&1");
  return "exit=" + std::to_string(out.exit_code) + " " + out.out;
}

void refused(const TempDir& dir, const std::string& section, const std::string& where) {
  const std::string out = check(dir, section);
  INFO(out);
  CHECK(out.rfind("exit=1 ", 0) == 0);
  CHECK(out.find(dir.file("c.yaml") + ":" + where + ": ") != std::string::npos);
  CHECK(out.find("would send credentials or fetch signing keys unencrypted") != std::string::npos);
  CHECK(out.find("secret-value-123456") == std::string::npos);
}

}  // namespace

TEST_SUITE("integration/outbound_url_config") {
  TEST_CASE("Discord api_base and gateway url over plain transport to a remote host are refused with file:line and key") {
    TempDir dir;
    const std::string head = "adapters:\n"                                          // 5
                             "  discord:\n"                                         // 6
                             "    enabled: true\n"                                  // 7
                             "    application_id: \"120000000000000001\"\n"        // 8
                             "    public_key: \"" + std::string(64, '0') + "\"\n"  // 9
                             "    bot_token: {env: OUT_TOKEN}\n";                   // 10
    refused(dir, head + "    api_base: http://discord.example.invalid/api/v10\n", "11: adapters.discord.api_base");
    refused(dir, head + "    gateway: {url: \"ws://gateway.example.invalid\"}\n", "11: adapters.discord.gateway.url");
  }

  TEST_CASE("Teams openid_metadata_url and token_url over plain http to a remote host are refused") {
    TempDir dir;
    const std::string head = "adapters:\n"                                          // 5
                             "  teams:\n"                                           // 6
                             "    app_id: 00000000-0000-0000-0000-000000000001\n"   // 7
                             "    app_password: {env: OUT_TOKEN}\n";                // 8
    refused(dir, head + "    openid_metadata_url: http://login.example.invalid/v1/.well-known/openidconfiguration\n",
            "9: adapters.teams.openid_metadata_url");
    refused(dir, head + "    token_url: http://login.example.invalid/t/oauth2/v2.0/token\n", "9: adapters.teams.token_url");
    // localhost.evil.com is not loopback.
    refused(dir, head + "    token_url: http://localhost.evil.com/token\n", "9: adapters.teams.token_url");
    CHECK(check(dir, head + "    token_url: http://127.0.0.1:9/token\n").rfind("exit=0 ", 0) == 0);
  }

  TEST_CASE("Slack api_base: the loopback test is a parse, not a prefix") {
    TempDir dir;
    const std::string head = "adapters:\n"         // 5
                             "  slack:\n"          // 6
                             "    enabled: false\n";  // 7
    refused(dir, head + "    api_base: http://localhost.evil.com/api\n", "8: adapters.slack.api_base");
    refused(dir, head + "    api_base: http://127.0.0.1.evil.com/api\n", "8: adapters.slack.api_base");
    CHECK(check(dir, head + "    api_base: http://localhost:8080/api\n").rfind("exit=0 ", 0) == 0);
  }

  TEST_CASE("an LLM endpoint with an API key must be https, a local one without a key may be plain http") {
    TempDir dir;
    refused(dir,
            "llm:\n"                                                    // 5
            "  connections:\n"                                          // 6
            "    remote:\n"                                             // 7
            "      api_base: http://llm.example.invalid/v1\n"          // 8
            "      api_key: {env: OUT_TOKEN}\n"                         // 9
            "      model: m\n",                                         // 10
            "8: llm.connections.remote.api_base");
    const std::string out = check(dir,
                                  "llm:\n"
                                  "  connections:\n"
                                  "    ollama:\n"
                                  "      api_base: http://ollama.lan:11434/v1\n"
                                  "      model: m\n");
    INFO(out);
    CHECK(out.rfind("exit=0 ", 0) == 0);
  }

  TEST_CASE("a backend with a bearer token must be https, an in-cluster Prometheus without one keeps plain http") {
    TempDir dir;
    refused(dir,
            "actions:\n"                                                 // 5
            "  prometheus:\n"                                            // 6
            "    url: http://prometheus.monitoring:9090\n"               // 7
            "    bearer_token: {env: OUT_TOKEN}\n",                      // 8
            "7: actions.prometheus.url");
    const std::string out = check(dir,
                                  "actions:\n"
                                  "  prometheus:\n"
                                  "    url: http://prometheus.monitoring:9090\n");
    INFO(out);
    CHECK(out.rfind("exit=0 ", 0) == 0);
  }
}
