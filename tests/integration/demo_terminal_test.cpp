#include <doctest/doctest.h>

#include <regex>

#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

// The demo's terminal chat as scripts/demo starts it (`opsgate serve` on
// config/demo.yaml), fed through a pipe: the person sees replies only; the
// log goes to opsgate.log beside the database.
TEST_SUITE("integration/demo") {
  TEST_CASE("a piped demo session writes replies to the terminal and every log line to opsgate.log") {
    TempDir dir;
    const std::string src = OPSGATE_SOURCE_DIR;
    // The demo config on a free port, with its database and state in the temp
    // dir; run from the checkout, as scripts/demo runs it, so the config's
    // relative paths (scripts/demo-backend, config/policy.yaml) resolve.
    // A script file: run_command quotes the command with single quotes.
    dir.write("run.sh", "set -e\nsed -e 's|listen: 127.0.0.1:8088|listen: 127.0.0.1:0|' -e 's|path: var/opsgate.db|path: " +
                            dir.file("o.db") + "|' -e 's|OPSGATE_DEMO_STATE: var/demo|OPSGATE_DEMO_STATE: " +
                            dir.file("demo") + "|' " + src + "/config/demo.yaml > " + dir.file("c.yaml") + "\ncd " + src +
                            "\nprintf 'whoami\\nrestart cart in staging\\nwhat can you do\\n' | " +
                            std::string(OPSGATE_BINARY) + " serve --config " + dir.file("c.yaml") + " 2>" +
                            dir.file("err.txt") + "\n");
    const auto run = run_command("bash " + dir.file("run.sh"), 60);
    const std::string err = dir.read("err.txt");
    INFO(run.out);
    INFO(err);
    CHECK(run.exit_code == 0);
    CHECK(run.out.find("alice") != std::string::npos);  // the demo starts as alice
    CHECK(run.out.find("restarted cart in staging") != std::string::npos);
    CHECK(err.find("opsgate: HTTP on 127.0.0.1:0 (port ") != std::string::npos);
    // Nothing from the logger reaches the terminal: no "<time> info …" lines.
    const std::regex log_line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (trace|debug|info|warning|error|critical) )");
    CHECK_FALSE(std::regex_search(err, log_line));
    CHECK_FALSE(std::regex_search(run.out, log_line));
    CHECK(err.find("cannot log to") == std::string::npos);
    const std::string log = dir.read("opsgate.log");
    CHECK(std::regex_search(log, log_line));
    CHECK(log.find("restart") != std::string::npos);
  }
}
