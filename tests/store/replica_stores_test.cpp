// The stores several replicas share, run against both backends (SQLite, and
// PostgreSQL on the binary's one test cluster): deployment gates and their
// callback outbox, language-model spending, and the leader lease.

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "src/gates/gate_store.hpp"
#include "src/store/pg_leader_lease.hpp"
#include "src/store/pg_llm_usage.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/sqlite_leader_lease.hpp"
#include "src/store/sqlite_llm_usage.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/audit/audit_test_support.hpp"
#include "tests/support/postgres_cluster.hpp"

using namespace opsgate;
using opsgate::audit::test::TempDir;
using opsgate::gates::Gate;
using opsgate::gates::GateState;
using opsgate::gates::GateStore;
using opsgate::test::PostgresCluster;

namespace {

struct SqliteBackend {
  TempDir dir;
  std::shared_ptr<store::SqliteStore> store = *store::SqliteStore::open(dir.file("opsgate.db"));

  std::unique_ptr<GateStore> gates() { return std::move(*GateStore::open(store)); }
  std::unique_ptr<LlmUsageLog> llm_usage() { return std::make_unique<store::SqliteLlmUsageLog>(store); }
  void flush() { REQUIRE(store->write_now<void>([](SQLite::Database&) -> Result<void> { return {}; })); }
};

struct PgBackend {
  std::string dsn = PostgresCluster::shared().fresh_database();
  std::shared_ptr<store::PgStore> store = open();

  std::shared_ptr<store::PgStore> open() {
    store::PgOptions options;
    options.dsn = dsn;
    auto opened = store::PgStore::open(options);
    REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
    return *opened;
  }
  std::unique_ptr<GateStore> gates() { return std::move(*GateStore::open(store)); }
  std::unique_ptr<LlmUsageLog> llm_usage() { return std::make_unique<store::PgLlmUsageLog>(store); }
  void flush() { REQUIRE(store->write_now<void>([](pqxx::transaction_base&) -> Result<void> { return {}; })); }
};

Gate gate(const std::string& id, const std::string& key, const std::string& body_hash = "h1") {
  Gate g;
  g.id = id;
  g.client = "ci";
  g.source = "api";
  g.dedup_key = key;
  g.body_hash = body_hash;
  g.request.target = "cart";
  g.request.env = "prod";
  g.request.version = "1.2.3";
  g.requester = "ci:ci";
  g.created_ms = 1000;
  g.expires_ms = 1000 + 3600000;
  g.approvers = {"group:sre"};
  g.quorum = 1;
  g.callback_kind = "webhook";
  g.callback = nlohmann::json{{"url", "https://ci.example/hook"}};
  return g;
}

}  // namespace

TEST_SUITE("store/replica_stores") {
  TEST_CASE_TEMPLATE("gates: the same key asks once, another body is a conflict, a gate is decided once", Backend,
                     SqliteBackend, PgBackend) {
    Backend backend;
    auto gates = backend.gates();
    auto first = gates->insert_now(gate("gt_1", "run-7"));
    REQUIRE(first.has_value());
    CHECK(first->created);
    auto again = gates->insert_now(gate("gt_2", "run-7"));
    REQUIRE(again.has_value());
    CHECK_FALSE(again->created);
    CHECK(again->gate.id == "gt_1");
    auto other = gates->insert_now(gate("gt_3", "run-7", "h2"));
    REQUIRE_FALSE(other.has_value());
    CHECK(other.error().code == Errc::conflict);
    CHECK(gates->get_now("gt_1")->request.version == "1.2.3");
    CHECK(gates->get_now("gt_1")->callback["url"] == "https://ci.example/hook");
    REQUIRE(gates->set_thread_now("gt_1", "slack", "C0OPS", "1.2").has_value());
    REQUIRE(gates->set_approval_now("gt_1", "ap_1").has_value());
    CHECK(gates->by_approval_now("ap_1")->value().thread == "1.2");
    CHECK(gates->pending_now()->size() == 1);

    // Two deciders at once (two replicas, or a vote and the expiry): one wins.
    std::atomic<int> won{0};
    std::vector<std::thread> deciders;
    for (int i = 0; i < 4; ++i) {
      deciders.emplace_back([&, i] {
        auto decided = gates->decide_now("gt_1", i % 2 == 0 ? GateState::approved : GateState::expired,
                                         "voter" + std::to_string(i), "", 2000, 2000 + 86400000);
        if (decided && decided->has_value()) {
          ++won;
        }
      });
    }
    for (auto& t : deciders) {
      t.join();
    }
    CHECK(won == 1);
    CHECK(gates->pending_now()->empty());
    CHECK(*gates->delivery_states_now("gt_1") == std::vector<std::string>{"pending"});
    auto due = gates->due_now(3000);
    REQUIRE(due.has_value());
    REQUIRE(due->size() == 1);
    REQUIRE(gates->retry_at_now(due->front().id, 5000, "502 from the CI", true).has_value());
    CHECK(gates->due_now(4000)->empty());
    REQUIRE(gates->due_now(5000)->size() == 1);
    REQUIRE(gates->delivered_now(due->front().id, 5000).has_value());
    CHECK(*gates->delivery_states_now("gt_1") == std::vector<std::string>{"done"});
  }

  TEST_CASE("gates on PostgreSQL: a due callback is claimed by one replica, and another takes it over when the claim lapses") {
    PgBackend backend;
    auto a = backend.gates();
    auto second = backend.open();  // replica B: its own store on the same database
    auto b = GateStore::open(second);
    REQUIRE(b.has_value());
    REQUIRE(a->insert_now(gate("gt_1", "run-1")).has_value());
    REQUIRE(a->decide_now("gt_1", GateState::approved, "bob", "", 1000, 1000 + 86400000)->has_value());
    auto claimed = a->due_now(2000);
    REQUIRE(claimed->size() == 1);
    CHECK((*b)->due_now(2000)->empty());               // A holds it
    CHECK((*b)->due_now(2000 + gates::kClaimMs - 1)->empty());
    auto taken_over = (*b)->due_now(2000 + gates::kClaimMs);  // A died without answering
    REQUIRE(taken_over->size() == 1);
    CHECK(taken_over->front().id == claimed->front().id);
  }

  TEST_CASE_TEMPLATE("LLM spending of every writer is summed per team, unknown token counts stay unknown", Backend,
                     SqliteBackend, PgBackend) {
    Backend backend;
    auto usage = backend.llm_usage();
    LlmUsage call;
    call.ts_ms = 5000;
    call.team = "shop";
    call.action = "restart";
    call.connection = "main";
    call.provider = "openai";
    call.model = "gpt-test";
    call.tokens_in = 400;
    call.tokens_out = -1;
    call.cost_usd = 0.25;
    usage->record(call);
    call.cost_usd = 0.5;
    usage->record(call);
    call.team = "ops";
    call.ts_ms = 1000;  // before the window
    usage->record(call);
    backend.flush();  // record() queues; a later write commits after it
    auto spent = usage->spent_since(2000);
    REQUIRE(spent.has_value());
    REQUIRE(spent->size() == 1);
    CHECK(spent->front().team == "shop");
    CHECK(spent->front().cost_usd == doctest::Approx(0.75));
  }

  TEST_CASE("the SQLite lease: the one process that owns the file always leads") {
    store::SqliteLeaderLease lease;
    CHECK(lease.acquire("leader", "a", std::chrono::seconds(15))->value() == 1);
    CHECK(lease.acquire("leader", "b", std::chrono::seconds(15))->value() == 1);
    CHECK(lease.release("leader", "a").has_value());
  }

  TEST_CASE("the PostgreSQL lease: one holder until it expires or is released, a new token at each takeover") {
    PgBackend backend;
    store::PgLeaderLease a(backend.store);
    auto other = backend.open();
    store::PgLeaderLease b(other);
    const auto ttl = std::chrono::seconds(15);
    CHECK(a.acquire("leader", "replica-a", ttl)->value() == 1);
    CHECK_FALSE(b.acquire("leader", "replica-b", ttl)->has_value());
    CHECK(a.acquire("leader", "replica-a", ttl)->value() == 1);  // a renewal keeps the token
    CHECK(b.acquire("gates", "replica-b", ttl)->value() == 1);   // another lease name is another row
    // Time passes on the database's clock: a's lease expired without a renewal.
    {
      pqxx::connection connection(backend.dsn);
      pqxx::work tx(connection);
      tx.exec0("UPDATE leases SET expires_at = clock_timestamp() - interval '1 second' WHERE name = 'leader'");
      tx.commit();
    }
    CHECK(b.acquire("leader", "replica-b", ttl)->value() == 2);
    CHECK_FALSE(a.acquire("leader", "replica-a", ttl)->has_value());
    // Released on shutdown: the next replica need not wait out the ttl.
    REQUIRE(b.release("leader", "replica-b").has_value());
    CHECK(a.acquire("leader", "replica-a", ttl)->value() == 3);
    // a release by someone who does not hold it changes nothing
    REQUIRE(b.release("leader", "replica-b").has_value());
    CHECK_FALSE(b.acquire("leader", "replica-b", ttl)->has_value());
  }

  TEST_CASE("the PostgreSQL lease: replicas racing for a free lease get one leader") {
    PgBackend backend;
    std::vector<std::shared_ptr<store::PgStore>> stores;
    for (int i = 0; i < 4; ++i) {
      stores.push_back(backend.open());
    }
    std::atomic<int> leaders{0};
    std::set<std::int64_t> tokens;
    std::mutex mutex;
    std::vector<std::thread> racers;
    for (int i = 0; i < 4; ++i) {
      racers.emplace_back([&, i] {
        store::PgLeaderLease lease(stores[static_cast<std::size_t>(i)]);
        auto got = lease.acquire("leader", "replica-" + std::to_string(i), std::chrono::seconds(15));
        if (got && got->has_value()) {
          ++leaders;
          std::lock_guard lock(mutex);
          tokens.insert(**got);
        }
      });
    }
    for (auto& t : racers) {
      t.join();
    }
    CHECK(leaders == 1);
    CHECK(tokens == std::set<std::int64_t>{1});
  }
}
