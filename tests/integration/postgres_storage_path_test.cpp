// storage.backend: postgres never opens (or locks, or creates) the SQLite
// file at storage.path: two `opsgate serve` replicas given the same
// storage.path, in a folder that cannot exist (its parent is a regular file,
// so neither root nor anyone else can create it — as on a read-only root file
// system), both serve, are ready and answer; `opsgate audit verify|show` with
// that config read PostgreSQL.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/support/http_test_client.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_http_config.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;

namespace {

constexpr const char* kSecret = "storage-path-signing-secret-0123456";

std::string replica_config(const std::string& storage_path, const std::string& api_base) {
  return minimal_slack_http_config("  path: " + storage_path +
                                       "\n  backend: postgres\n  postgres:\n    dsn: {env: OPSGATE_TEST_PG_DSN}\n"
                                       "    pool_size: 2\n",
                                   api_base, kSecret);
}

int post_event(std::uint16_t port, const nlohmann::json& body) {
  HttpTestConnection connection(port);
  if (!connection.send(signed_slack_request("/slack/events", "application/json", body.dump(), kSecret, unix_now()))) {
    return 0;
  }
  const auto response = connection.read_response();
  return response ? response->status : 0;
}

}  // namespace

TEST_SUITE("integration/postgres_storage_path") {
  TEST_CASE("on PostgreSQL two replicas share a storage.path that cannot be created: both serve, ready, and answer") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    const std::string dsn = PostgresCluster::shared().fresh_database();
    ::setenv("OPSGATE_TEST_PG_DSN", dsn.c_str(), 1);
    SlackStandIn slack({"xoxb-e2e-bot"});
    slack.add_user("U0ALICE", "alice");
    TempDir dir;
    dir.write("not-a-folder", "a regular file: nothing can be created under it\n");
    const std::string storage_path = dir.file("not-a-folder/opsgate.db");
    dir.write("a.yaml", replica_config(storage_path, slack.api_base()));
    dir.write("b.yaml", replica_config(storage_path, slack.api_base()));
    ServeProcess a(dir, "a.yaml", "a.log");
    ServeProcess b(dir, "b.yaml", "b.log");
    INFO("replica a:\n" << a.log() << "\nreplica b:\n" << b.log());
    const std::uint16_t port_a = a.port();
    const std::uint16_t port_b = b.port();
    REQUIRE(port_a != 0);
    REQUIRE(port_b != 0);
    CHECK(wait_until_ready(port_a));
    CHECK(wait_until_ready(port_b));
    CHECK(post_event(port_a, slack_mention("EvPathA", "U0ALICE", "whoami", "1767225600.000301")) == 200);
    CHECK(post_event(port_b, slack_mention("EvPathB", "U0ALICE", "whoami", "1767225600.000302")) == 200);
    REQUIRE(slack.wait_until([&] { return slack.calls("chat.postMessage").size() >= 2; }));
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);

    // The audit CLI reads PostgreSQL with the same config and touches no file either.
    const std::string with_dsn = "OPSGATE_TEST_PG_DSN=\"" + dsn + "\" " + std::string(OPSGATE_BINARY);
    const auto verify = run_command(with_dsn + " audit verify --config " + dir.file("a.yaml") + " 2>&1");
    CHECK_MESSAGE(verify.exit_code == 0, verify.out);
    CHECK(verify.out.find("audit log ok") != std::string::npos);
    const auto show = run_command(with_dsn + " audit show 1 --config " + dir.file("a.yaml") + " 2>&1");
    CHECK_MESSAGE(show.exit_code == 0, show.out);
    const auto tail = run_command(with_dsn + " audit tail -n 50 --config " + dir.file("a.yaml") + " 2>&1");
    CHECK_MESSAGE(tail.exit_code == 0, tail.out);
    CHECK(tail.out.find("whoami") != std::string::npos);
    CHECK(std::filesystem::is_regular_file(dir.file("not-a-folder")));
  }

  TEST_CASE("on PostgreSQL two replicas on one node with one writable storage.path: neither creates or locks the file") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    const std::string dsn = PostgresCluster::shared().fresh_database();
    ::setenv("OPSGATE_TEST_PG_DSN", dsn.c_str(), 1);
    SlackStandIn slack({"xoxb-e2e-bot"});
    TempDir dir;
    const std::string storage_path = dir.file("shared-volume/opsgate.db");
    dir.write("a.yaml", replica_config(storage_path, slack.api_base()));
    ServeProcess a(dir, "a.yaml", "a.log");
    ServeProcess b(dir, "a.yaml", "b.log");  // the same config file, as two pods of one Deployment
    INFO("replica a:\n" << a.log() << "\nreplica b:\n" << b.log());
    REQUIRE(a.port() != 0);
    REQUIRE(b.port() != 0);
    CHECK(wait_until_ready(a.port()));
    CHECK(wait_until_ready(b.port()));
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK_FALSE(std::filesystem::exists(dir.file("shared-volume")));
  }
}
