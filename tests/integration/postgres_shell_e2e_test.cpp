// The opsgate binary on storage.backend: postgres (the test cluster): a
// request asked in one process is approved in another, runs once, and
// `opsgate audit verify|show` read the chain back from PostgreSQL.

#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "tests/support/postgres_cluster.hpp"
#include "tests/support/process.hpp"

using opsgate::test::PostgresCluster;
using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

std::string pg_config(const TempDir& dir) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return R"(storage:
  path: )" + dir.file("opsgate.db") + R"(
  backend: postgres
  postgres:
    dsn: {env: OPSGATE_TEST_PG_DSN}
    pool_size: 2
    connect_timeout: 5s
default_env: prod
environments:
  prod: {}
  staging: {}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
adapters:
  shell: {enabled: true, allow_impersonation: true}
actions:
  exec:
    timeout: 20s
    commands:
      restart: [)" + backend + R"(, restart, "{env}", "{target}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + R"(
policy:
  groups:
    shop: {members: [shell:alice]}
    sre: {members: [shell:bob]}
  roles:
    operator: {actions: [restart]}
  bindings:
    - {subjects: [group:shop, group:sre], roles: [operator]}
  rules:
    - id: prod-writes-need-approval
      description: prod writes need an SRE
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
)";
}

std::string opsgate_cmd(const TempDir& dir, const std::string& dsn, const std::string& args) {
  // Double quotes: run_command wraps the line in single quotes.
  return "OPSGATE_TEST_PG_DSN=\"" + dsn + "\" " + std::string(OPSGATE_BINARY) + " " + args + " --config " +
         dir.file("opsgate.yaml");
}

}  // namespace

TEST_SUITE("integration/postgres_shell") {
  TEST_CASE("on PostgreSQL, alice asks in one process, bob approves in another: it runs once and the chain verifies") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    TempDir dir;
    dir.write("opsgate.yaml", pg_config(dir));
    dir.write("ask.txt", "restart cart in prod\n");
    const auto ask =
        run_command(opsgate_cmd(dir, dsn, "shell --user alice") + " < " + dir.file("ask.txt") + " 2>" + dir.file("e1"));
    INFO(ask.out);
    INFO(dir.read("e1"));
    const auto at = ask.out.find("Approval id ");
    REQUIRE(at != std::string::npos);
    const std::string id = ask.out.substr(at + 12, 5);

    dir.write("vote.txt", "approve " + id + "\napprove " + id + "\n");
    const auto vote =
        run_command(opsgate_cmd(dir, dsn, "shell --user bob") + " < " + dir.file("vote.txt") + " 2>" + dir.file("e2"));
    INFO(vote.out);
    INFO(dir.read("e2"));
    CHECK(vote.out.find("restarted cart in prod (3/3 pods replaced)") != std::string::npos);
    CHECK(vote.out.find("Approval `" + id + "` is already") != std::string::npos);

    pqxx::connection connection(dsn);
    pqxx::nontransaction tx(connection);
    CHECK(tx.exec1("SELECT count(*) FROM audit_events WHERE kind='started' AND action='restart'")[0].as<int>() == 1);
    CHECK(tx.exec_params1("SELECT state FROM approvals WHERE id=$1", id)[0].as<std::string>() == "executed");
    // Nothing of it went to the SQLite file.
    CHECK(tx.exec1("SELECT count(*) FROM audit_events")[0].as<int>() >= 8);

    const auto verify = run_command(opsgate_cmd(dir, dsn, "audit verify"));
    INFO(verify.out);
    CHECK(verify.exit_code == 0);
    CHECK(verify.out.find("audit log ok") != std::string::npos);
    const auto tail = run_command(opsgate_cmd(dir, dsn, "audit tail -n 3"));
    CHECK(tail.exit_code == 0);
    CHECK(tail.out.find("replied") != std::string::npos);
  }

  TEST_CASE("an unreachable PostgreSQL stops start-up with a message naming it, not the password") {
    TempDir dir;
    dir.write("opsgate.yaml", pg_config(dir));
    dir.write("empty.txt", "");
    const auto shell = run_command(
        opsgate_cmd(dir, "host=127.0.0.1 port=1 dbname=ops user=opsgate password=s3cret connect_timeout=2",
                    "shell --user alice") +
        " < " + dir.file("empty.txt") + " 2>&1");
    CHECK(shell.exit_code != 0);
    CHECK(shell.out.find("127.0.0.1:1/ops") != std::string::npos);
    CHECK(shell.out.find("s3cret") == std::string::npos);
  }
}
