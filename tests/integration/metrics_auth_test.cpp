// GET /metrics: a bearer token when server.metrics_token is set, and required
// by `config check` when the server listens on an address other hosts reach.

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// The demo config on a free port and a temp database, with `server_extra`
// lines added under `server:`.
std::string prepare_config(TempDir& dir, const std::string& listen, const std::string& server_extra) {
  const std::string src = OPSGATE_SOURCE_DIR;
  const auto prepared = run_command(
      "sed -e \"s|listen: 127.0.0.1:8088|listen: " + listen + "|\" -e \"s|file: config/policy.yaml|file: " + src +
      "/config/policy.yaml|\" -e \"s|path: var/opsgate.db|path: " + dir.file("o.db") + "|\" " + src +
      "/config/demo.yaml > " + dir.file("c.yaml"));
  REQUIRE(prepared.exit_code == 0);
  std::string text = dir.read("c.yaml");
  const std::string anchor = "listen: " + listen + "\n";
  const auto at = text.find(anchor);
  REQUIRE(at != std::string::npos);
  text.insert(at + anchor.size(), server_extra);
  dir.write("c.yaml", text);
  return dir.file("c.yaml");
}

std::string check(const std::string& config) {
  const auto out = run_command("env OPSGATE_METRICS_TOKEN=metrics-token-0123456789 " + std::string(OPSGATE_BINARY) +
                               " config check --config " + config + " 2>&1");
  return "exit=" + std::to_string(out.exit_code) + " " + out.out;
}

}  // namespace

TEST_SUITE("integration/metrics_auth") {
  TEST_CASE("with metrics_token, /metrics answers 401 without the token and 200 with it") {
    TempDir dir;
    const std::string config =
        prepare_config(dir, "127.0.0.1:0", "  metrics_token: {env: OPSGATE_METRICS_TOKEN}\n");
    REQUIRE(check(config).rfind("exit=0 ", 0) == 0);
    // GET /metrics without, with a wrong and with the right token; then end of input.
    const std::string get = "exec 3<>/dev/tcp/127.0.0.1/$port; printf \"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n%bConnection: "
                            "close\\r\\n\\r\\n\" \"$1\" >&3; timeout 5 cat <&3 > \"$2\"; exec 3>&-";
    const std::string script =
        "get() { " + get + "; }\n"
        "(for i in $(seq 100); do [ -f " + dir.file("done") + " ] && break; sleep 0.1; done) | env "
        "OPSGATE_METRICS_TOKEN=metrics-token-0123456789 " + std::string(OPSGATE_BINARY) + " serve --config " + config +
        " > " + dir.file("out.txt") + " 2>" + dir.file("err.txt") + " & pid=$!\n"
        "for i in $(seq 50); do grep -q \"(port \" " + dir.file("err.txt") + " && break; sleep 0.1; done\n"
        "port=$(grep -o \"(port [0-9]*\" " + dir.file("err.txt") + " | grep -o \"[0-9]*\")\n"
        "get '' " + dir.file("none.txt") + "\n"
        "get 'Authorization: Bearer metrics-token-01234567890\\r\\n' " + dir.file("wrong.txt") + "\n"
        "get 'Authorization: Bearer metrics-token-0123456789\\r\\n' " + dir.file("right.txt") + "\n"
        "touch " + dir.file("done") + "; wait $pid; echo exit=$?\n";
    dir.write("run.sh", script);
    const auto out = run_command("bash " + dir.file("run.sh"), 90);
    INFO(out.out);
    INFO(dir.read("err.txt"));
    CHECK(out.out.find("exit=0") != std::string::npos);
    CHECK(dir.read("none.txt").rfind("HTTP/1.1 401", 0) == 0);
    CHECK(dir.read("wrong.txt").rfind("HTTP/1.1 401", 0) == 0);
    CHECK(dir.read("right.txt").rfind("HTTP/1.1 200", 0) == 0);
  }

  TEST_CASE("a non-loopback listen address needs metrics_token or an explicit metrics_public") {
    TempDir dir;
    const std::string open = check(prepare_config(dir, "0.0.0.0:0", ""));
    INFO(open);
    CHECK(open.rfind("exit=1 ", 0) == 0);
    CHECK(open.find("server.metrics_token: is required when listen (0.0.0.0:0) is not a loopback address") !=
          std::string::npos);
    CHECK(check(prepare_config(dir, "0.0.0.0:0", "  metrics_token: {env: OPSGATE_METRICS_TOKEN}\n")).rfind("exit=0 ", 0) == 0);
    CHECK(check(prepare_config(dir, "0.0.0.0:0", "  metrics_public: true\n")).rfind("exit=0 ", 0) == 0);
    CHECK(check(prepare_config(dir, "127.0.0.1:0", "")).rfind("exit=0 ", 0) == 0);
  }
}
