// The command line (CLI11): each command has its own flags, help and errors;
// usage errors exit 2 and name the command and what was wrong.

#include <doctest/doctest.h>

#include <string>

#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/clock.hpp"
#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// Exit status and everything printed (stdout and stderr).
opsgate::test::CommandOutput opsgate_run(const std::string& args) {
  return run_command(std::string(OPSGATE_BINARY) + " " + args + " 2>&1 </dev/null", 30);
}

bool has(const opsgate::test::CommandOutput& out, const std::string& text) {
  return out.out.find(text) != std::string::npos;
}

}  // namespace

TEST_SUITE("app/cli") {
  TEST_CASE("no command prints the command list and exits 2, --help and help exit 0") {
    const auto none = opsgate_run("");
    INFO(none.out);
    CHECK(none.exit_code == 2);
    for (const char* command : {"serve", "shell", "parse", "eval", "config", "audit", "policy", "discord", "gate"}) {
      CHECK(has(none, std::string("  ") + command));
    }
    CHECK(opsgate_run("--help").exit_code == 0);
    CHECK(opsgate_run("help").exit_code == 0);
    const auto version = opsgate_run("--version");
    CHECK(version.exit_code == 0);
    CHECK(has(version, "opsgate 0.1.0"));
  }

  TEST_CASE("serve --help shows serve's own flags and usage, not other commands' flags") {
    const auto out = opsgate_run("serve --help");
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(has(out, "Usage: opsgate serve [OPTIONS]"));
    CHECK(has(out, "--config"));
    CHECK(has(out, "SIGHUP reloads the policy"));
    CHECK_FALSE(has(out, "--jsonl"));
    CHECK_FALSE(has(out, "--user"));
  }

  TEST_CASE("gate request --help lists its flags and its exit statuses") {
    const auto out = opsgate_run("gate request --help");
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(has(out, "Usage: opsgate gate request [OPTIONS]"));
    for (const char* flag : {"--target", "--env", "--version", "--timeout", "--server", "--token-env", "--json"}) {
      CHECK(has(out, flag));
    }
    CHECK(has(out, "Exit status: 0 approved; 1 rejected, expired or cancelled; 2 error"));
  }

  TEST_CASE("a flag of another command is refused, naming the command and the flag") {
    // The flat argument struct accepted --format for every command and ran the shell anyway.
    const auto shell = opsgate_run("shell --format csv");
    INFO(shell.out);
    CHECK(shell.exit_code == 2);
    CHECK(has(shell, "opsgate shell: unknown option '--format'"));
    CHECK(has(shell, "opsgate shell --help"));

    const auto gate = opsgate_run("gate request --target cart --env prod --version 1 --jsonl");
    INFO(gate.out);
    CHECK(gate.exit_code == 2);
    CHECK(has(gate, "opsgate gate request: unknown option '--jsonl'"));

    const auto tail = opsgate_run("audit tail --user alice");
    CHECK(tail.exit_code == 2);
    CHECK(has(tail, "opsgate audit tail: unknown option '--user'"));
  }

  TEST_CASE("an unknown command or subcommand lists the ones that exist") {
    const auto command = opsgate_run("serv");
    INFO(command.out);
    CHECK(command.exit_code == 2);
    CHECK(has(command, "opsgate: unknown command 'serv' (commands: serve, shell, parse, eval, config, audit, policy, "
                       "discord, gate)"));
    const auto sub = opsgate_run("audit tial");
    INFO(sub.out);
    CHECK(sub.exit_code == 2);
    CHECK(has(sub, "opsgate audit: unknown subcommand 'tial' (subcommands: tail, show, verify, export)"));
    const auto missing = opsgate_run("config");
    CHECK(missing.exit_code == 2);
    CHECK(has(missing, "opsgate config: needs a subcommand: check"));
  }

  TEST_CASE("bad values and missing required flags are usage errors that name the flag") {
    const auto count = opsgate_run("audit tail -n 0");
    INFO(count.out);
    CHECK(count.exit_code == 2);
    CHECK(has(count, "opsgate audit tail: -n: takes a positive whole number, not '0'"));

    const auto format = opsgate_run("audit export --format xml");
    INFO(format.out);
    CHECK(format.exit_code == 2);
    CHECK(has(format, "opsgate audit export: --format"));
    CHECK(has(format, "jsonl"));

    const auto timeout = opsgate_run("gate request --target cart --env prod --version 1 --timeout soon");
    INFO(timeout.out);
    CHECK(timeout.exit_code == 2);
    CHECK(has(timeout, "--timeout: expected a duration such as 60m or 3600s, got 'soon'"));

    const auto action = opsgate_run("policy check --user shell:alice");
    INFO(action.out);
    CHECK(action.exit_code == 2);
    CHECK(has(action, "opsgate policy check: --action is required"));

    const auto stray = opsgate_run("serve extra");
    CHECK(stray.exit_code == 2);
    CHECK(has(stray, "opsgate serve: unexpected argument 'extra'"));
  }

  TEST_CASE("--config FILE and --config=FILE both work, a bad config exits 1 with file:line") {
    TempDir dir;
    dir.write("good.yaml", "storage: {path: " + dir.file("o.db") + "}\nenvironments: {prod: {}}\n"
                           "targets: {checkout: {team: shop}}\n");
    CHECK(opsgate_run("config check --config " + dir.file("good.yaml")).exit_code == 0);
    const auto equals = opsgate_run("config check --config=" + dir.file("good.yaml"));
    INFO(equals.out);
    CHECK(equals.exit_code == 0);
    CHECK(has(equals, "config ok: " + dir.file("good.yaml")));

    dir.write("bad.yaml", "storage: {paht: x}\n");
    const auto bad = opsgate_run("config check -c " + dir.file("bad.yaml"));
    INFO(bad.out);
    CHECK(bad.exit_code == 1);
    CHECK(has(bad, dir.file("bad.yaml") + ":1"));
    CHECK(has(bad, "storage.paht"));
  }

  TEST_CASE("audit on a missing log exits 1 with a hint, after one shell message verify and tail exit 0") {
    TempDir dir;
    dir.write("c.yaml", "storage: {path: " + dir.file("o.db") + "}\nenvironments: {prod: {}}\n"
                        "targets: {checkout: {team: shop}}\n");
    const auto missing = opsgate_run("audit verify --config " + dir.file("c.yaml"));
    INFO(missing.out);
    CHECK(missing.exit_code == 1);
    CHECK(has(missing, "no audit log at " + dir.file("o.db")));

    const auto shell = run_command("echo whoami | " + std::string(OPSGATE_BINARY) + " shell --config " +
                                   dir.file("c.yaml") + " 2>&1", 30);
    INFO(shell.out);
    REQUIRE(shell.exit_code == 0);
    const auto verify = opsgate_run("audit verify --config " + dir.file("c.yaml"));
    INFO(verify.out);
    CHECK(verify.exit_code == 0);
    CHECK(has(verify, "hash chain intact"));
    const auto tail = opsgate_run("audit tail -n 5 --config " + dir.file("c.yaml"));
    INFO(tail.out);
    CHECK(tail.exit_code == 0);
  }

  TEST_CASE("audit show takes an all-digit request id as the request, a number no request has as the event number") {
    TempDir dir;
    dir.write("c.yaml", "storage: {path: " + dir.file("o.db") + "}\nenvironments: {prod: {}}\n"
                        "targets: {checkout: {team: shop}}\n");
    {
      opsgate::SystemClock clock;
      auto log = opsgate::audit::SqliteAuditLog::open(dir.file("o.db"), clock);
      REQUIRE(log);
      for (const char* request : {"0123456789012345", "other-request", "other-request"}) {
        opsgate::AuditEvent event;
        event.request_id = request;
        event.kind = "received";
        event.platform = "shell";
        event.principal = "shell:alice";
        (*log)->append_later(event);
      }
      (*log)->close();
    }
    // Hex request ids are all digits about once in 2,000: such an id is the request's story.
    const auto by_request = opsgate_run("audit show 0123456789012345 --config " + dir.file("c.yaml"));
    INFO(by_request.out);
    CHECK(by_request.exit_code == 0);
    CHECK(has(by_request, "0123456789012345"));
    CHECK_FALSE(has(by_request, "other-request"));
    // A number that is no request's id is still an event number.
    const auto by_seq = opsgate_run("audit show 3 --config " + dir.file("c.yaml"));
    INFO(by_seq.out);
    CHECK(by_seq.exit_code == 0);
    CHECK(has(by_seq, "other-request"));
  }
}
