#include <doctest/doctest.h>

#include <regex>

#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

TEST_SUITE("integration/serve") {
  TEST_CASE("serve answers /healthz, refuses a broken policy on SIGHUP keeping the old one, and exits 0 on SIGTERM") {
    TempDir dir;
    // The demo config on a free port, without the terminal adapter, with its policy in the temp dir.
    const std::string src = OPSGATE_SOURCE_DIR;
    const auto prepared = run_command("sed -e \"s|listen: 127.0.0.1:8088|listen: 127.0.0.1:0|\" -e \"s|file: config/policy.yaml|file: " +
                                      dir.file("policy.yaml") + "|\" -e \"s|enabled: true|enabled: false|\" -e \"s|path: var/opsgate.db|path: " +
                                      dir.file("o.db") + "|\" " + src + "/config/demo.yaml > " + dir.file("c.yaml") + " && cp " + src +
                                      "/config/policy.yaml " + dir.file("policy.yaml"));
    REQUIRE(prepared.exit_code == 0);
    // Start, wait for the port in the log, GET /healthz over bash's /dev/tcp,
    // break the policy, SIGHUP, then SIGTERM; every wait is bounded.
    const std::string script =
        std::string(OPSGATE_BINARY) + " serve --config " + dir.file("c.yaml") + " 2>" + dir.file("err.txt") + " & pid=$!; "
        "for i in $(seq 50); do grep -q \"(port \" " + dir.file("err.txt") + " && break; sleep 0.1; done; "
        "port=$(grep -o \"(port [0-9]*\" " + dir.file("err.txt") + " | grep -o \"[0-9]*\"); "
        "exec 3<>/dev/tcp/127.0.0.1/$port; printf \"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n\" >&3; "
        "timeout 5 cat <&3 | head -1; exec 3>&-; "
        "echo \"roles: {r: {actions: [nope]}}\" > " + dir.file("policy.yaml") + "; kill -HUP $pid; "
        "for i in $(seq 50); do grep -q SIGHUP " + dir.file("err.txt") + " && break; sleep 0.1; done; "
        "kill -TERM $pid; wait $pid; echo exit=$?";
    dir.write("run.sh", script);
    const auto out = run_command("bash " + dir.file("run.sh"), 60);
    const std::string log = dir.read("err.txt");
    INFO(out.out);
    INFO(log);
    CHECK(out.out.find("HTTP/1.1 200 OK") != std::string::npos);
    CHECK(out.out.find("exit=0") != std::string::npos);
    CHECK(log.find("SIGHUP: the new policy was refused, the old one stays active") != std::string::npos);
    CHECK(log.find("'nope' matches no action") != std::string::npos);
    CHECK(log.find("shutting down: SIGTERM") != std::string::npos);
  }
}
