#include <doctest/doctest.h>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>

#include <SQLiteCpp/SQLiteCpp.h>

#include "src/store/database_lock.hpp"
#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// The demo config with every path made absolute, so the test runs anywhere.
std::string demo_like_config(const TempDir& dir) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return R"(storage:
  path: )" + dir.file("opsgate.db") + R"(
default_env: prod
environments:
  prod: {synonyms: [production, prd, live]}
  staging: {synonyms: [stage, stg]}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
  checkout: {team: shop, namespace: "shop-{env}"}
adapters:
  shell: {enabled: true, allow_impersonation: true}
actions:
  exec:
    timeout: 20s
    commands:
      restart: [)" + backend + R"(, restart, "{env}", "{target}"]
      scale: [)" + backend + R"(, scale, "{env}", "{target}", "{replicas}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + R"(
policy:
  groups:
    shop: {members: [shell:alice]}
    sre: {members: [shell:bob]}
  roles:
    operator: {actions: [restart, scale, audit.show]}
    staging: {actions: [restart, scale], envs: [staging]}
  bindings:
    - {subjects: [group:shop], roles: [staging]}
    - {subjects: [group:sre], roles: [operator]}
  rules:
    - id: prod-writes-need-approval
      description: prod writes need an SRE
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
)";
}

std::string opsgate_cmd(const TempDir& dir, const std::string& args) {
  return std::string(OPSGATE_BINARY) + " " + args + " --config " + dir.file("opsgate.yaml");
}

}  // namespace

TEST_SUITE("integration/shell") {
  TEST_CASE("a piped conversation gets replies, changes state and leaves a verifiable audit log") {
    TempDir dir;
    dir.write("opsgate.yaml", demo_like_config(dir));
    dir.write("input.txt",
              "restart cart in staging\n!scale cart 5 staging\n!restart cart prod\nrestart cart\nthanks!\n:as mallory\n!restart cart staging\n");
    const auto shell = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("input.txt") + " 2>" +
                                   dir.file("stderr.txt"));
    CHECK(shell.exit_code == 0);
    INFO(shell.out);
    INFO(dir.read("stderr.txt"));
    CHECK(shell.out.find("restarted cart in staging (3/3 pods replaced)") != std::string::npos);
    CHECK(shell.out.find("scaled cart in staging: 3 → 5 replicas") != std::string::npos);
    CHECK(shell.out.find("⛔ denied: no role grants shell:alice restart cart in prod") != std::string::npos);
    CHECK(shell.out.find("restart cart in prod or staging?") != std::string::npos);
    CHECK(shell.out.find("I did not understand that") != std::string::npos);
    CHECK(shell.out.find("You are now shell:mallory.") != std::string::npos);
    CHECK(shell.out.find("⛔ denied: no role grants shell:mallory restart cart in staging") != std::string::npos);

    const std::string state = dir.read("demo/staging/cart.state");
    CHECK(state.find("replicas=5") != std::string::npos);
    CHECK(state.find("restarted_at=") != std::string::npos);

    const auto verify = run_command(opsgate_cmd(dir, "audit verify"));
    CHECK(verify.exit_code == 0);
    CHECK(verify.out.find("audit log ok") != std::string::npos);

    // Every request has its whole story; the denied ones never started.
    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READWRITE);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='started'").getInt() == 2);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='decided' AND outcome='deny'").getInt() == 2);
    CHECK(db.execAndGet("SELECT count(DISTINCT request_id) FROM audit_events").getInt() == 6);

    // Editing one row by hand (the append-only trigger must be dropped first)
    // makes verify fail and name that row.
    CHECK_THROWS(db.exec("UPDATE audit_events SET outcome='ok' WHERE seq=3"));
    db.exec("DROP TRIGGER audit_events_no_update");
    db.exec("UPDATE audit_events SET outcome='allow' WHERE seq=7");
    const auto tampered = run_command(opsgate_cmd(dir, "audit verify"));
    CHECK(tampered.exit_code == 1);
    CHECK(tampered.out.find("BROKEN at event #7") != std::string::npos);
  }

  TEST_CASE("piped messages are handled while earlier commits are in flight, answered in input order, each seeing the ones before") {
    TempDir dir;
    std::string config = demo_like_config(dir);
    const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
    // rollout.status is a read: the next message is handled while it runs.
    config.replace(config.find("    env:\n"), 0, "      rollout.status: [" + backend + ", status, \"{env}\", \"{target}\"]\n");
    config.replace(config.find("    staging: {actions: [restart, scale]"), 0, "    reader: {actions: [rollout.status]}\n");
    const std::string bound = "roles: [staging]}";
    config.replace(config.find(bound), bound.size(), "roles: [reader, staging]}");
    dir.write("opsgate.yaml", config);
    std::string input;
    std::vector<std::string> expected;
    int replicas = 3;
    for (int i = 0; i < 60; ++i) {
      if (i % 12 == 11) {
        input += "!scale cart " + std::to_string(replicas + 1) + " staging\n";
        expected.push_back("scaled cart in staging: " + std::to_string(replicas) + " → " + std::to_string(replicas + 1) + " replicas");
        ++replicas;
      }
      input += "!status cart staging\nwhoami\nthanks!\n";
      expected.push_back("cart in staging: version 1.0.0, revision 1, " + std::to_string(replicas) + "/" +
                         std::to_string(replicas) + " replicas ready");
      expected.push_back("You are shell:alice");
      expected.push_back("I did not understand that.");
    }
    dir.write("input.txt", input);
    const auto shell = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("input.txt") + " 2>" +
                                   dir.file("stderr.txt"));
    CHECK(shell.exit_code == 0);
    INFO(dir.read("stderr.txt"));
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < shell.out.size()) {
      const std::size_t end = shell.out.find('\n', at);
      lines.push_back(shell.out.substr(at, end == std::string::npos ? std::string::npos : end - at));
      at = end == std::string::npos ? shell.out.size() : end + 1;
    }
    REQUIRE(lines.size() == expected.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO("reply " << i << ": " << lines[i]);
      CHECK(lines[i].rfind(expected[i], 0) == 0);
    }
    // Every message's trail is in the log, in input order, and the chain verifies.
    const auto verify = run_command(opsgate_cmd(dir, "audit verify"));
    CHECK(verify.exit_code == 0);
    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind = 'replied'").getInt() == static_cast<int>(expected.size()));
  }

  TEST_CASE("a prod restart waits for an SRE: the requester's approval is refused, bob's runs it once") {
    TempDir dir;
    std::string config = demo_like_config(dir);
    // alice may request prod writes (they need approval).
    const std::string from = "    - {subjects: [group:shop], roles: [staging]}";
    config.replace(config.find(from), from.size(), "    - {subjects: [group:shop], roles: [staging, operator]}");
    dir.write("opsgate.yaml", config);
    // The approval id is random: read it from the first reply, then vote.
    dir.write("ask.txt", "restart cart in prod\napprove nope1\n");
    const auto ask = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("ask.txt") + " 2>/dev/null");
    INFO(ask.out);
    const auto at = ask.out.find("Approval id ");
    REQUIRE(at != std::string::npos);
    const std::string id = ask.out.substr(at + 12, 5);
    CHECK(ask.out.find("There is no approval `nope1`") != std::string::npos);
    CHECK(dir.read("demo/prod/cart.state").empty());  // nothing ran yet

    // A new process: the approval survived the restart.
    dir.write("vote.txt", "approve " + id + "\n:as bob\napprove " + id + "\napprove " + id + "\n");
    const auto vote = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("vote.txt") + " 2>/dev/null");
    INFO(vote.out);
    CHECK(vote.out.find("You cannot approve or deny your own request (" + id + ")") != std::string::npos);
    CHECK(vote.out.find("✅ " + id + " approved by shell:bob: running restart cart in prod for shell:alice") != std::string::npos);
    CHECK(vote.out.find("restarted cart in prod (3/3 pods replaced)") != std::string::npos);
    CHECK(vote.out.find("Approval `" + id + "` is already") != std::string::npos);
    CHECK(dir.read("demo/prod/cart.state").find("restarted_at=") != std::string::npos);

    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events WHERE kind='started' AND action='restart'").getInt() == 1);
    for (const char* kind : {"approval_requested", "approval_vote", "approval_granted", "started", "finished"}) {
      CHECK_MESSAGE(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE kind='") + kind + "'").getInt() >= 1, kind);
    }
    // The started event of the approved run is on alice's request id.
    CHECK(db.execAndGet("SELECT principal FROM audit_events WHERE kind='started'").getString() == "shell:alice");
    const auto verify = run_command(opsgate_cmd(dir, "audit verify"));
    CHECK(verify.exit_code == 0);
  }

  TEST_CASE("the shipped policy tests pass against the demo policy") {
    const auto out = run_command("cd " + std::string(OPSGATE_SOURCE_DIR) + " && " + std::string(OPSGATE_BINARY) +
                                 " policy test policies/examples/demo-tests.yaml");
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.find(" 0 failed") != std::string::npos);
  }

  TEST_CASE("the freeze-and-people example's policy tests pass") {
    const auto out = run_command("cd " + std::string(OPSGATE_SOURCE_DIR) + " && " + std::string(OPSGATE_BINARY) +
                                 " policy test policies/examples/freeze-tests.yaml");
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.find("10 passed, 0 failed") != std::string::npos);
  }

  TEST_CASE("parse prints one JSON object per message") {
    TempDir dir;
    dir.write("opsgate.yaml", demo_like_config(dir));
    const auto out = run_command(opsgate_cmd(dir, "parse") + " \"!restart cart staging\" \"restart cart\" \"thanks\"");
    CHECK(out.exit_code == 0);
    CHECK(out.out ==
          "{\"action\":\"restart\",\"confidence\":1.0,\"params\":{\"env\":\"staging\",\"target\":\"cart\"},\"parser\":\"command\"}\n"
          "{\"action\":\"clarify\",\"options\":[\"prod\",\"staging\"],\"parser\":\"command\",\"question\":\"restart cart in prod or staging?\"}\n"
          "{\"action\":\"none\"}\n");
  }

  TEST_CASE("a bad config stops start-up with file, line and key") {
    TempDir dir;
    const std::string config = demo_like_config(dir);
    const auto bad_line = std::count(config.begin(), config.end(), '\n') + 1;
    dir.write("opsgate.yaml", config + "adapters2:\n  x: 1\n");
    const auto out = run_command(opsgate_cmd(dir, "config check") + " 2>&1");
    CHECK(out.exit_code == 1);
    INFO(out.out);
    CHECK(out.out.find(dir.file("opsgate.yaml") + ":" + std::to_string(bad_line) + ": adapters2: unknown key") != std::string::npos);
  }

  TEST_CASE("config/example.yaml, which documents every option, validates") {
    const auto out = run_command("cd " + std::string(OPSGATE_SOURCE_DIR) + " && " + std::string(OPSGATE_BINARY) +
                                 " config check --config config/example.yaml 2>&1");
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.find("action: rollout.deploy via kubernetes (prod=https://k8s-prod.example:6443") != std::string::npos);
  }

  TEST_CASE("the embedded demo config validates") {
    const auto out = run_command(std::string(OPSGATE_BINARY) + " config check 2>&1");
    CHECK(out.exit_code == 0);
    CHECK(out.out.find("config ok: <embedded config/demo.yaml>") != std::string::npos);
    CHECK(out.out.find("target payments-api [team payments] aliases: payments, pay") != std::string::npos);
  }

  TEST_CASE("without impersonation the terminal is the OS account: $USER is not trusted and --user is refused") {
    TempDir dir;
    std::string config = demo_like_config(dir);
    const std::string from = "shell: {enabled: true, allow_impersonation: true}";
    config.replace(config.find(from), from.size(), "shell: {enabled: true}");
    dir.write("opsgate.yaml", config);
    dir.write("input.txt", "whoami\n");
    const auto as_user = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("input.txt") + " 2>&1");
    INFO(as_user.out);
    CHECK(as_user.exit_code == 2);
    CHECK(as_user.out.find("--user alice is refused") != std::string::npos);
    CHECK(as_user.out.find("allow_impersonation") != std::string::npos);

    const auto as_env = run_command("USER=alice " + opsgate_cmd(dir, "shell") + " < " + dir.file("input.txt") + " 2>&1");
    INFO(as_env.out);
    CHECK(as_env.exit_code == 0);
    CHECK(as_env.out.find("You are shell:alice") == std::string::npos);
    const passwd* pw = ::getpwuid(::geteuid());
    REQUIRE(pw != nullptr);
    CHECK(as_env.out.find("You are shell:" + std::string(pw->pw_name)) != std::string::npos);
  }

  TEST_CASE("adapters.shell.user without allow_impersonation is a config error naming file:line and key") {
    TempDir dir;
    std::string config = demo_like_config(dir);
    const std::string from = "shell: {enabled: true, allow_impersonation: true}";
    config.replace(config.find(from), from.size(), "shell: {enabled: true, user: alice}");
    dir.write("opsgate.yaml", config);
    const auto out = run_command(opsgate_cmd(dir, "config check") + " 2>&1");
    INFO(out.out);
    CHECK(out.exit_code == 1);
    CHECK(out.out.find(dir.file("opsgate.yaml") + ":") != std::string::npos);
    CHECK(out.out.find("user: a starting identity needs allow_impersonation: true") != std::string::npos);
  }

  TEST_CASE("the demo terminal starts as alice") {
    TempDir dir;
    dir.write("input.txt", "whoami\n");
    const auto out = run_command("cd " + dir.path() + " && " + std::string(OPSGATE_BINARY) + " shell < " +
                                 dir.file("input.txt") + " 2>&1");
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.find("You are shell:alice") != std::string::npos);
  }

  TEST_CASE("a second writer on the daemon's database is refused at start, naming the owner, readers work") {
    TempDir dir;
    dir.write("opsgate.yaml", demo_like_config(dir));
    dir.write("input.txt", "whoami\n");
    const auto first = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("input.txt") + " 2>&1");
    REQUIRE(first.exit_code == 0);
    {
      // This test process plays the running daemon.
      auto held = opsgate::store::DatabaseLock::acquire(dir.file("opsgate.db"), "opsgate serve");
      REQUIRE(held);
      const auto second = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("input.txt") + " 2>&1");
      INFO(second.out);
      CHECK(second.exit_code == 1);
      CHECK(second.out.find(dir.file("opsgate.db") + " is in use by opsgate serve (pid " + std::to_string(::getpid())) !=
            std::string::npos);
      CHECK(second.out.find("You are shell:alice") == std::string::npos);
      const auto verify = run_command(opsgate_cmd(dir, "audit verify") + " 2>&1");
      INFO(verify.out);
      CHECK(verify.exit_code == 0);
      const auto tail = run_command(opsgate_cmd(dir, "audit tail") + " 2>&1");
      CHECK(tail.exit_code == 0);
      CHECK(tail.out.find("whoami") != std::string::npos);
    }
    // The owner is gone: the lock went with it.
    const auto third = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("input.txt") + " 2>&1");
    CHECK(third.exit_code == 0);
  }
}
