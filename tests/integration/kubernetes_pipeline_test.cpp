// The assembled pipeline (command parser, the Kubernetes actions, the SQLite
// audit log) against the stand-in API server, on a fixed clock: answers that
// say only what is true — a second restart in the same second is a no-op,
// and a follow-up never suggests what opsgate would then refuse.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "actions/kubernetes/kubernetes_actions.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/pipeline.hpp"
#include "src/intent/command_parser.hpp"
#include "tests/support/k8s_stand_in.hpp"
#include "tests/support/loki_stand_in.hpp"
#include "tests/support/process.hpp"
#include "tests/support/system_fakes.hpp"

namespace asio = boost::asio;
using namespace opsgate;
using nlohmann::json;

namespace {

struct Assembled {
  test::TempDir dir;
  test::K8sPki pki = test::make_k8s_pki(dir.path());
  test::K8sStandIn server{pki, "token-1"};
  test::FixedClock clock{test::unix_seconds(1767225600)};  // 2026-01-01T00:00:00Z
  net::HttpClient http;
  std::shared_ptr<const Inventory> inventory = test::loki_test_inventory();
  intent::CommandParser parser{inventory};
  std::shared_ptr<const PolicyEngine> policy = std::make_shared<test::AllowAllPolicy>();
  ActionRegistry actions;
  std::unique_ptr<audit::SqliteAuditLog> audit;
  test::ThreadingAdapter adapter;
  std::unique_ptr<Pipeline> pipeline;
  asio::io_context io;
  int running = 0;

  Assembled() {
    dir.write("token", "token-1\n");
    server.add_deployment("shop-prod", "cart", "cart", "registry.example/cart:3.1.0", 3);
    actions::kubernetes::KubernetesConfig config;
    actions::kubernetes::ClusterConfig cluster;
    cluster.env = "prod";
    cluster.api_server = server.url();
    cluster.token_file = dir.file("token");
    cluster.ca_file = pki.ca_file;
    config.clusters["prod"] = cluster;
    config.targets["cart"]["prod"] = actions::kubernetes::TargetSettings{"cart", "registry.example/cart", 1, 10};
    config.follow_interval = std::chrono::milliseconds(5);
    config.follow_timeout = std::chrono::milliseconds(200);
    config.actions = {"restart", "scale", "rollout.deploy", "rollout.undo", "rollout.status"};
    for (auto& action : actions::kubernetes::make_kubernetes_actions(config, inventory, http, clock)) {
      actions.add(std::move(action));
    }
    auto opened = audit::SqliteAuditLog::open(dir.file("audit.db"), clock);
    REQUIRE(opened);
    audit = std::move(*opened);
    pipeline = std::make_unique<Pipeline>(
        PipelineDeps{parser, [this] { return policy; }, actions, *audit, clock, inventory, std::chrono::seconds(20)});
    pipeline->add_adapter(adapter);
  }

  void spawn(const std::string& text) {
    ChatEvent event;
    event.platform = "test";
    event.channel = "C1";
    event.principal.id = "test:alice";
    event.text = text;
    event.addressed = true;
    ++running;
    asio::co_spawn(io, pipeline->on_event(event), [this](std::exception_ptr e) {
      --running;
      if (e) std::rethrow_exception(e);
    });
  }
  void drain() {
    for (int i = 0; i < 2000 && running > 0; ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    REQUIRE(running == 0);
  }
  void say(const std::string& text) {
    spawn(text);
    drain();
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& m : adapter.sent) {
      out.push_back(m.text);
    }
    return out;
  }
  std::vector<AuditEvent> events(const std::string& kind) {
    audit->close();
    auto got = audit::of_kind_since(dir.file("audit.db"), kind, 0);
    REQUIRE(got);
    return *got;
  }
};

std::size_t count_containing(const std::vector<std::string>& texts, const std::string& part) {
  return static_cast<std::size_t>(
      std::count_if(texts.begin(), texts.end(), [&](const std::string& t) { return t.find(part) != std::string::npos; }));
}

bool suggests(const std::vector<OutboundMessage>& sent, const std::string& command_prefix) {
  for (const auto& m : sent) {
    for (const auto& s : m.suggestions) {
      if (s.command.rfind(command_prefix, 0) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

TEST_SUITE("integration/kubernetes_pipeline") {
  TEST_CASE("two restarts in the same second: one restarts, the other says it already was, audited as a no-op") {
    Assembled a;
    const auto generation = a.server.deployment("shop-prod", "cart")["metadata"]["generation"].get<std::int64_t>();
    a.say("!restart cart prod");
    a.say("!restart cart prod");
    const auto texts = a.texts();
    INFO(json(texts).dump(1));
    CHECK(count_containing(texts, "Restarted cart in prod") == 1);
    CHECK(count_containing(texts, "cart was already restarted at 2026-01-01T00:00:00Z in prod") == 1);
    const json live = a.server.deployment("shop-prod", "cart");
    CHECK(live["metadata"]["generation"].get<std::int64_t>() == generation + 1);

    // And once more, after both: the same second, so still nothing to do and no PATCH sent.
    a.server.clear_requests();
    a.say("!restart cart prod");
    CHECK(a.adapter.sent.back().text.find("already restarted at 2026-01-01T00:00:00Z") != std::string::npos);
    CHECK(a.server.writes().empty());

    const auto finished = a.events("finished");
    REQUIRE(finished.size() == 3);
    std::size_t noops = 0;
    for (const auto& e : finished) {
      noops += e.detail.find("no-op") != std::string::npos ? 1 : 0;
    }
    CHECK(noops == 2);
  }

  TEST_CASE("a deploy to a paused deployment says to resume it and never suggests a rollback") {
    Assembled a;
    a.server.set_paused("shop-prod", "cart", true);
    a.say("!deploy cart 3.2.0 prod");
    const auto texts = a.texts();
    INFO(json(texts).dump(1));
    CHECK(count_containing(texts, "Deploying 3.2.0 to cart in prod") == 1);
    CHECK(count_containing(texts, "kubectl rollout resume deployment/cart -n shop-prod") == 1);
    CHECK(count_containing(texts, "!rollback") == 0);
    CHECK_FALSE(suggests(a.adapter.sent, "!rollback"));
  }

  TEST_CASE("status of a failed rollout with a single revision offers no rollback, and says what would help") {
    Assembled a;
    a.server.fail_next_rollout("ReplicaSet \"cart-abc\" has timed out progressing.");
    a.say("!scale cart 4 prod");  // a spec change without a new template: still revision 1
    a.adapter.sent.clear();
    a.say("!status cart prod");
    const auto texts = a.texts();
    INFO(json(texts).dump(1));
    REQUIRE(texts.size() == 1);
    CHECK(texts[0].find("FAILED") != std::string::npos);
    CHECK(texts[0].find("no rollout history") != std::string::npos);
    CHECK(texts[0].find("!deploy cart <version> prod") != std::string::npos);
    CHECK_FALSE(suggests(a.adapter.sent, "!rollback"));
  }

  TEST_CASE("a failed deploy with an earlier revision still suggests the rollback") {
    Assembled a;
    a.server.fail_next_rollout("ReplicaSet \"cart-abc\" has timed out progressing.");
    a.say("!deploy cart 3.2.0 prod");
    CHECK(suggests(a.adapter.sent, "!rollback cart prod"));
  }
}
