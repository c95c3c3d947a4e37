// Two `opsgate serve` replicas on one PostgreSQL database and the Slack
// stand-in: a retry that lands on the other replica is handled once, bob
// approves on B what alice asked on A and it runs once, and a flood spread
// over both leaves one verifiable audit chain holding every event sent.

#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "tests/support/http_test_client.hpp"
#include "tests/support/k8s_stand_in.hpp"
#include "tests/support/load_sender.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "replicas-signing-secret-0123456789ab";

// The `actions:` section: the demo backend's restart by default.
std::string exec_actions(const TempDir& dir) {
  const std::string backend = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-backend";
  return R"(actions:
  exec:
    timeout: 20s
    commands:
      restart: [)" + backend + R"(, restart, "{env}", "{target}"]
    env:
      OPSGATE_DEMO_STATE: )" + dir.file("demo") + "\n";
}

std::string replica_config(const TempDir& dir, const std::string& name, const std::string& api_base,
                           const std::string& actions = "") {
  return R"(storage:
  path: )" + dir.file(name + ".db") + R"(
  backend: postgres
  postgres:
    dsn: {env: OPSGATE_TEST_PG_DSN}
server:
  listen: 127.0.0.1:0
default_env: prod
environments:
  prod: {synonyms: [production]}
  staging: {synonyms: [stage]}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
intent:
  parsers: [command, nlu]
adapters:
  slack:
    mode: http
    bot_token: xoxb-e2e-bot
    signing_secret: )" + kSecret + R"(
    api_base: )" + api_base + R"(
    usergroups: [S0SRE]
    post_interval_ms: 0
)" + (actions.empty() ? exec_actions(dir) : actions) + R"(policy:
  groups:
    shop: {members: [slack:T0AAA:U0ALICE]}
    sre: {platform_groups: ["slack:usergroup:S0SRE"]}
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

int post(std::uint16_t port, const std::string& path, const std::string& content_type, const std::string& body,
         const std::string& extra = "") {
  HttpTestConnection connection(port);
  if (!connection.send(signed_slack_request(path, content_type, body, kSecret, unix_now(), extra))) {
    return 0;
  }
  const auto response = connection.read_response();
  return response ? response->status : 0;
}

std::string event_request(const json& body, bool retry) {
  return signed_slack_request("/slack/events", "application/json", body.dump(), kSecret, unix_now(),
                              retry ? "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_timeout\r\n" : "");
}

// The cluster, a database, the stand-in and two replicas on it.
struct Pair {
  // `actions`: the config's `actions:` section (default: exec_actions).
  explicit Pair(const std::string& actions = "") : slack({"xoxb-e2e-bot"}) {
    slack.add_user("U0ALICE", "alice");
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    dsn = PostgresCluster::shared().fresh_database();
    ::setenv("OPSGATE_TEST_PG_DSN", dsn.c_str(), 1);
    dir.write("a.yaml", replica_config(dir, "a", slack.api_base(), actions));
    dir.write("b.yaml", replica_config(dir, "b", slack.api_base(), actions));
    a = std::make_unique<ServeProcess>(dir, "a.yaml", "a.log");
    b = std::make_unique<ServeProcess>(dir, "b.yaml", "b.log");
    port_a = a->port();
    port_b = b->port();
  }
  int count(const std::string& where) {
    pqxx::connection connection(dsn);
    pqxx::nontransaction tx(connection);
    return tx.exec1("SELECT count(*) FROM audit_events WHERE " + where)[0].as<int>();
  }
  std::string approval_state(const std::string& id) {
    pqxx::connection connection(dsn);
    pqxx::nontransaction tx(connection);
    const pqxx::result r = tx.exec_params("SELECT state FROM approvals WHERE id=$1", id);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
  }

  SlackStandIn slack;
  TempDir dir;
  std::string dsn;
  std::unique_ptr<ServeProcess> a;
  std::unique_ptr<ServeProcess> b;
  std::uint16_t port_a = 0;
  std::uint16_t port_b = 0;
};

// The Kubernetes stand-in and the `actions:` section that points the
// replicas at it (follow polls every second; the rollout converges only
// after `rollout_polls` GETs).
struct Kube {
  explicit Kube(int rollout_polls) : pki(make_k8s_pki(dir.path())), server(pki, "sa-token-1") {
    dir.write("token", "sa-token-1\n");
    server.add_deployment("shop-prod", "cart", "cart", "registry.example/shop/cart:3.1.0", 3);
    server.set_rollout_polls(rollout_polls);
  }
  std::string actions() const {
    return R"(actions:
  kubernetes:
    clusters:
      prod:
        api_server: )" + server.url() + R"(
        token_file: )" + dir.file("token") + R"(
        ca_file: )" + pki.ca_file + R"(
    follow: {interval: 1s, timeout: 5m}
    targets:
      cart: {image: registry.example/shop/cart, max_replicas: 6}
)";
  }
  // The restarts that reached the API server (dry runs are previews).
  int restarts() const {
    int n = 0;
    for (const auto& w : server.writes()) {
      n += w.query.find("dryRun") == std::string::npos ? 1 : 0;
    }
    return n;
  }
  // GETs of the Deployment after the first real PATCH: the rollout being followed.
  int follow_polls() const {
    int n = 0;
    bool patched = false;
    for (const auto& r : server.requests()) {
      patched = patched || (r.method == "PATCH" && r.query.find("dryRun") == std::string::npos);
      n += patched && r.method == "GET" && r.path.find("/deployments/cart") != std::string::npos ? 1 : 0;
    }
    return n;
  }

  TempDir dir;
  K8sPki pki;
  K8sStandIn server;
};

// The approval sweep of the replicas this test starts runs every 200 ms, not 15 s.
struct FastSweep {
  FastSweep() { ::setenv("OPSGATE_APPROVAL_SWEEP_MS", "200", 1); }
  ~FastSweep() { ::unsetenv("OPSGATE_APPROVAL_SWEEP_MS"); }
};

// Bounded: polls `done` every 50 ms for up to `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// alice asks on A; bob approves on B, so B runs it. Returns the approval id.
std::string ask_on_a_approve_on_b(Pair& pair, const std::string& thread) {
  CHECK(post(pair.port_a, "/slack/events", "application/json",
             slack_mention("EvKill" + thread, "U0ALICE", "restart cart in prod", thread).dump()) == 200);
  const auto request = pair.slack.wait_for_post("Approval id ");
  REQUIRE(request);
  const std::string id = request->body["blocks"].back()["elements"][0]["value"];
  const std::string click =
      "payload=" + form_value(slack_click("U0BOB", "approve", id, request->ts, thread).dump());
  CHECK(post(pair.port_b, "/slack/interactions", "application/x-www-form-urlencoded", click) == 200);
  return id;
}

std::map<std::string, int> replies_by_thread(const SlackStandIn& slack) {
  std::map<std::string, int> out;
  for (const auto& c : slack.calls("chat.postMessage")) {
    ++out[c.body.value("thread_ts", "")];
  }
  return out;
}

}  // namespace

TEST_SUITE("integration/replicas") {
  TEST_CASE("events round-robin over two replicas, each retry to the other: each handled once, one reply each") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    Pair pair;
    INFO("replica a:\n" << pair.a->log() << "\nreplica b:\n" << pair.b->log());
    REQUIRE(pair.port_a != 0);
    REQUIRE(pair.port_b != 0);
    constexpr int kEvents = 20;
    for (int i = 0; i < kEvents; ++i) {
      const std::string thread = "1767225600." + std::to_string(100000 + i);
      const json body = slack_mention("EvR" + std::to_string(i), "U0ALICE", "whoami", thread);
      const std::uint16_t first = i % 2 == 0 ? pair.port_a : pair.port_b;
      const std::uint16_t other = i % 2 == 0 ? pair.port_b : pair.port_a;
      CHECK(post(first, "/slack/events", "application/json", body.dump()) == 200);
      CHECK(post(other, "/slack/events", "application/json", body.dump(),
                 "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_timeout\r\n") == 200);
    }
    REQUIRE(pair.slack.wait_until([&] { return pair.slack.calls("chat.postMessage").size() >= kEvents; }));
    // A graceful stop drains what is in flight: after it, nothing more can be posted.
    CHECK(pair.a->stop() == 0);
    CHECK(pair.b->stop() == 0);
    const auto replies = replies_by_thread(pair.slack);
    CHECK(replies.size() == static_cast<std::size_t>(kEvents));
    for (const auto& reply : replies) {  // no structured binding: clang 14 can't capture one in CHECK_MESSAGE
      CHECK_MESSAGE(reply.second == 1, reply.first);
    }
    CHECK(pair.count("kind='received'") == kEvents);
  }

  TEST_CASE("alice asks on A, bob approves on B: it runs once, the button message is updated once") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    Pair pair;
    INFO("replica a:\n" << pair.a->log() << "\nreplica b:\n" << pair.b->log());
    REQUIRE(pair.port_a != 0);
    REQUIRE(pair.port_b != 0);
    const std::string thread = "1767225600.000200";
    CHECK(post(pair.port_a, "/slack/events", "application/json",
               slack_mention("EvAsk", "U0ALICE", "restart cart in prod", thread).dump()) == 200);
    const auto request = pair.slack.wait_for_post("Approval id ");
    REQUIRE(request);
    const std::string id = request->body["blocks"].back()["elements"][0]["value"];
    const std::string message_ts = request->ts;
    // Bob clicks twice, once on each replica (a double click, two tabs).
    const std::string click = "payload=" + form_value(slack_click("U0BOB", "approve", id, message_ts, thread).dump());
    CHECK(post(pair.port_b, "/slack/interactions", "application/x-www-form-urlencoded", click) == 200);
    CHECK(post(pair.port_a, "/slack/interactions", "application/x-www-form-urlencoded", click) == 200);
    REQUIRE(pair.slack.wait_for_post("restarted cart in prod"));
    REQUIRE(pair.slack.wait_until([&] { return !pair.slack.calls("chat.update").empty(); }));
    CHECK(pair.a->stop() == 0);
    CHECK(pair.b->stop() == 0);
    CHECK(pair.slack.calls("chat.update").size() == 1);
    CHECK(pair.count("kind='approval_granted'") == 1);
    CHECK(pair.count("kind='started' AND action='restart'") == 1);
    CHECK(pair.count("kind='finished' AND outcome='ok'") == 1);
    CHECK(pair.dir.read("demo/prod/cart.state").find("restarted_at=") != std::string::npos);
  }

  TEST_CASE("a thousand requests at once over both replicas: one verifiable chain holding every event sent") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    Pair pair;
    INFO("replica a:\n" << pair.a->log() << "\nreplica b:\n" << pair.b->log());
    REQUIRE(pair.port_a != 0);
    REQUIRE(pair.port_b != 0);
    constexpr int kRequests = 1000;
    const auto request = [](int i) {
      return event_request(slack_mention("EvLoad" + std::to_string(i), "U0ALICE", "whoami",
                                         "1767225700." + std::to_string(100000 + i)),
                           false);
    };
    int ok_a = 0;
    std::thread to_b([&] { ok_a = send_many(pair.port_b, 1, kRequests / 2, request, 4); });
    const int ok_b = send_many(pair.port_a, kRequests / 2 + 1, kRequests / 2, request, 4);
    to_b.join();
    CHECK(ok_a + ok_b == kRequests);
    REQUIRE(pair.slack.wait_until([&] { return pair.slack.calls("chat.postMessage").size() >= kRequests; },
                                  std::chrono::seconds(120)));
    CHECK(pair.a->stop() == 0);
    CHECK(pair.b->stop() == 0);
    CHECK(pair.count("kind='received'") == kRequests);
    const auto verify = run_command(std::string(OPSGATE_BINARY) + " audit verify --config " + pair.dir.file("a.yaml"));
    CHECK_MESSAGE(verify.exit_code == 0, verify.out);
  }

  TEST_CASE("a replica that loses PostgreSQL fails /readyz and refuses events, and recovers when it is back") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    PostgresCluster cluster(PostgresCluster::Options{});
    cluster.create_database("outage");
    SlackStandIn slack({"xoxb-e2e-bot"});
    slack.add_user("U0ALICE", "alice");
    TempDir dir;
    ::setenv("OPSGATE_TEST_PG_DSN", cluster.dsn("outage").c_str(), 1);
    dir.write("a.yaml", replica_config(dir, "a", slack.api_base()));
    ServeProcess a(dir, "a.yaml", "a.log");
    INFO("replica a:\n" << a.log());
    const std::uint16_t port = a.port();
    REQUIRE(port != 0);
    const auto ready = [port](int status) {
      for (int i = 0; i < 300; ++i) {  // the probe runs every 5 s
        const auto response = http_request(port, "GET", "/readyz");
        if (response && response->status == status) {
          return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return false;
    };
    REQUIRE(ready(200));
    cluster.stop();
    REQUIRE(ready(503));
    CHECK(http_request(port, "GET", "/readyz")->body.find("database") != std::string::npos);
    // Refused before anything is done (its dedup cannot be decided): Slack delivers it again later.
    const int refused = post(port, "/slack/events", "application/json",
                             slack_mention("EvDown", "U0ALICE", "whoami", "1767225800.000100").dump());
    CHECK(refused >= 500);
    CHECK(a.log().find("unreachable") != std::string::npos);
    // Back: ready again, and the same event is handled.
    cluster.start_again();
    REQUIRE(ready(200));
    CHECK(post(port, "/slack/events", "application/json",
               slack_mention("EvDown", "U0ALICE", "whoami", "1767225800.000100").dump(),
               "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_error\r\n") == 200);
    REQUIRE(slack.wait_until([&] { return !slack.calls("chat.postMessage").empty(); }));
    CHECK(a.log().find("answers again") != std::string::npos);  // recovered without a restart, and said so
    CHECK(a.stop() == 0);
  }

  // kill -9: the replica running a granted approval dies. The window is held
  // open by the Kubernetes stand-in, which receives B's restart PATCH and
  // does not answer it until B is dead. A's sweep finds the approval granted
  // with no session holding its run lock: it marks it failed, records
  // approval_interrupted and says so in the thread; the restart is never sent again.
  TEST_CASE("kill -9 of the replica running a granted approval: the other marks it failed, it never runs twice") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    FastSweep sweep;
    Kube kube(3);
    Pair pair(kube.actions());
    INFO("replica a:\n" << pair.a->log() << "\nreplica b:\n" << pair.b->log());
    REQUIRE(pair.port_a != 0);
    REQUIRE(pair.port_b != 0);
    kube.server.hold_next("PATCH", "/deployments/cart");
    const std::string thread = "1767225600.000300";
    const std::string id = ask_on_a_approve_on_b(pair, thread);
    REQUIRE(eventually([&] { return kube.server.held() == 1; }));
    CHECK(pair.approval_state(id) == "granted");
    pair.b->kill_now();
    const auto told = pair.slack.wait_for_post("was granted, but the opsgate replica running it stopped",
                                               std::chrono::seconds(20));
    REQUIRE(told);
    CHECK(told->body.value("thread_ts", "") == thread);
    kube.server.release_held();  // B's PATCH, sent before it died, is the one restart
    CHECK(pair.a->stop() == 0);
    CHECK(kube.restarts() == 1);
    CHECK(pair.approval_state(id) == "failed");
    CHECK(pair.count("kind='approval_granted'") == 1);
    CHECK(pair.count("kind='started' AND action='restart'") == 1);
    CHECK(pair.count("kind='approval_interrupted'") == 1);
    CHECK(pair.count("kind='finished' AND action='restart'") == 0);
    const auto verify = run_command(std::string(OPSGATE_BINARY) + " audit verify --config " + pair.dir.file("a.yaml"));
    CHECK_MESSAGE(verify.exit_code == 0, verify.out);
  }

  // kill -9 while following the rollout: B restarted cart (one PATCH) and
  // polls the Deployment, which never converges. A takes the approval over
  // and marks it failed; nothing patches cart again.
  TEST_CASE("kill -9 of the replica following a rollout: the other marks it failed, the rollout is not re-run") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    FastSweep sweep;
    Kube kube(100000);
    Pair pair(kube.actions());
    INFO("replica a:\n" << pair.a->log() << "\nreplica b:\n" << pair.b->log());
    REQUIRE(pair.port_a != 0);
    REQUIRE(pair.port_b != 0);
    const std::string thread = "1767225600.000400";
    const std::string id = ask_on_a_approve_on_b(pair, thread);
    REQUIRE(eventually([&] { return kube.follow_polls() >= 1; }));
    REQUIRE(pair.slack.wait_for_post("Restarted cart"));
    pair.b->kill_now();
    REQUIRE(pair.slack.wait_for_post("was granted, but the opsgate replica running it stopped",
                                     std::chrono::seconds(20)));
    CHECK(pair.a->stop() == 0);
    CHECK(kube.restarts() == 1);
    CHECK(pair.approval_state(id) == "failed");
    CHECK(pair.count("kind='started' AND action='restart'") == 1);
    CHECK(pair.count("kind='finished' AND action='restart' AND outcome='ok'") == 1);
    CHECK(pair.count("kind='followed'") == 0);
    CHECK(pair.count("kind='approval_interrupted'") == 1);
    const auto verify = run_command(std::string(OPSGATE_BINARY) + " audit verify --config " + pair.dir.file("a.yaml"));
    CHECK_MESSAGE(verify.exit_code == 0, verify.out);
  }
}
