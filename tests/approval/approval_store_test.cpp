#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include <pqxx/pqxx>
#include <SQLiteCpp/SQLiteCpp.h>

#include "policies/rbac_policy.hpp"
#include "src/approval/pg_approval_store.hpp"
#include "src/approval/sqlite_approval_store.hpp"
#include "src/store/pg_store.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/process.hpp"

// The approval store's promises, run against both backends: SQLite and
// PostgreSQL (the binary's one test cluster). Each "store" opened on one
// backend is a second connection, as a second process (SQLite) or a second
// replica (PostgreSQL) would have.

using namespace opsgate;
using opsgate::approval::PgApprovalStore;
using opsgate::approval::RulesApprovalStore;
using opsgate::approval::SqliteApprovalStore;

namespace {

std::shared_ptr<const Inventory> inventory() {
  return std::make_shared<Inventory>(std::vector<Target>{{"cart", {}, "shop", {}}},
                                     std::vector<Environment>{{"prod", {}}, {"staging", {}}}, "prod");
}

std::shared_ptr<const policies::RbacPolicy> demo_policy() {
  return policies::load_rbac_policy(ConfigNode::parse(R"(
groups:
  sre: {members: [shell:bob, shell:dana, shell:erin]}
  shop: {members: [shell:alice]}
roles:
  sre: {actions: ["*"]}
bindings:
  - {subjects: [group:sre], roles: [sre]}
)", "p.yaml"), inventory());
}

using Clock = std::chrono::system_clock;
const Clock::time_point kT0 = Clock::time_point(std::chrono::seconds(1764075600));

ApprovalDraft draft(int quorum = 1) {
  ApprovalDraft d;
  d.origin_request_id = "req000000001";
  d.requester = Principal{"shell:alice", "alice", {}};
  d.platform = "shell";
  d.channel = "terminal";
  d.thread = "terminal";
  d.request = ActionRequest("scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 3}});
  d.requirement.rule_id = "prod-approval";
  d.requirement.approvers = {"group:sre"};
  d.requirement.quorum = quorum;
  d.requirement.expiry = std::chrono::minutes(60);
  d.now = kT0;
  return d;
}

Principal who(const std::string& id) { return Principal{id, "", {}}; }

struct SqliteBackend {
  test::TempDir dir;
  std::unique_ptr<RulesApprovalStore> open() {
    auto store = SqliteApprovalStore::open(dir.file("a.db"));
    REQUIRE_MESSAGE(store.has_value(), (store ? std::string() : store.error().message));
    return std::move(*store);
  }
  void exec_sql(const std::string& sql) {
    SQLite::Database db(dir.file("a.db"), SQLite::OPEN_READWRITE);
    db.exec(sql);
  }
  void wait_sessions_ended() {}  // a closed SQLite store holds no lock
};

struct PgBackend {
  std::string dsn = test::PostgresCluster::shared().fresh_database();
  std::unique_ptr<RulesApprovalStore> open() {
    store::PgOptions options;
    options.dsn = dsn;
    auto store = PgApprovalStore::open(options);
    REQUIRE_MESSAGE(store.has_value(), (store ? std::string() : store.error().message));
    return std::move(*store);
  }
  void exec_sql(const std::string& sql) {
    pqxx::connection connection(dsn);
    pqxx::work tx(connection);
    tx.exec0(sql);
    tx.commit();
  }
  // A closed store's PostgreSQL sessions end shortly after its client hangs
  // up, and with them the run locks they held: "the old process is gone".
  // Bounded: 200 polls of 25 ms.
  void wait_sessions_ended() {
    pqxx::connection connection(dsn);
    for (int i = 0; i < 200; ++i) {
      pqxx::work tx(connection);
      const auto others = tx.exec1(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")[0]
                              .as<int>();
      tx.commit();
      if (others == 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL("the closed store's PostgreSQL sessions did not end within 5 s");
  }
};

}  // namespace

TEST_SUITE("approval/approval_store") {
  TEST_CASE_TEMPLATE("the requester's own vote is refused, another approver's grants it", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const auto policy = demo_policy();
    const Approval a = *store->create_now(draft());
    CHECK(a.state == "pending");
    CHECK(a.id.size() == 5);
    const auto own = *store->vote_now(a.id, who("shell:alice"), true, "", *policy, kT0);
    CHECK(own.result == VoteResult::refused);
    CHECK(own.message.find("cannot approve or deny your own request") != std::string::npos);
    const auto bob = *store->vote_now(a.id, who("shell:bob"), true, "", *policy, kT0);
    CHECK(bob.result == VoteResult::granted);
    CHECK(bob.approval.approved_by == std::vector<std::string>{"shell:bob"});
    const auto late = *store->vote_now(a.id, who("shell:dana"), true, "", *policy, kT0);
    CHECK(late.result == VoteResult::refused);
    CHECK(late.message.find("already granted") != std::string::npos);
  }

  TEST_CASE_TEMPLATE("a voter outside the approvers is refused, re-checked against the policy at vote time", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const Approval a = *store->create_now(draft());
    const auto carol = *store->vote_now(a.id, who("shell:carol"), true, "", *demo_policy(), kT0);
    CHECK(carol.result == VoteResult::refused);
    CHECK(carol.message.find("may not vote") != std::string::npos);
    // bob was an SRE when it was asked, but the policy changed since.
    const auto changed = policies::load_rbac_policy(ConfigNode::parse("groups:\n  sre: {members: [shell:dana]}\nroles: {}\n", "p2.yaml"),
                                                    inventory());
    CHECK(store->vote_now(a.id, who("shell:bob"), true, "", *changed, kT0)->result == VoteResult::refused);
    CHECK(store->vote_now(a.id, who("shell:dana"), true, "", *changed, kT0)->result == VoteResult::granted);
  }

  TEST_CASE_TEMPLATE("a quorum of two counts distinct people, and a duplicate vote does not count", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const auto policy = demo_policy();
    const Approval a = *store->create_now(draft(2));
    CHECK(store->vote_now(a.id, who("shell:bob"), true, "", *policy, kT0)->result == VoteResult::recorded);
    const auto again = *store->vote_now(a.id, who("shell:bob"), true, "", *policy, kT0);
    CHECK(again.result == VoteResult::refused);
    CHECK(again.message.find("already voted") != std::string::npos);
    CHECK(store->vote_now(a.id, who("shell:dana"), true, "", *policy, kT0)->result == VoteResult::granted);
  }

  TEST_CASE_TEMPLATE("a deny vote ends the approval with its reason", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const Approval a = *store->create_now(draft(2));
    const auto d = *store->vote_now(a.id, who("shell:bob"), false, "it's friday", *demo_policy(), kT0);
    CHECK(d.result == VoteResult::denied);
    CHECK(d.approval.reason == "it's friday");
    CHECK(store->vote_now(a.id, who("shell:dana"), true, "", *demo_policy(), kT0)->result == VoteResult::refused);
  }

  TEST_CASE_TEMPLATE("a tampered request hash refuses the approval", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const Approval a = *store->create_now(draft());
    backend.exec_sql("UPDATE approvals SET params='{\"env\":\"prod\",\"replicas\":30,\"target\":\"cart\"}' WHERE id='" +
                     a.id + "'");
    const auto v = *store->vote_now(a.id, who("shell:bob"), true, "", *demo_policy(), kT0);
    CHECK(v.result == VoteResult::refused);
    CHECK(v.message.find("hash mismatch") != std::string::npos);
  }

  TEST_CASE_TEMPLATE("approvals expire at their deadline and late votes are refused", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const Approval a = *store->create_now(draft());
    CHECK(store->expire_now(kT0 + std::chrono::minutes(59))->empty());
    const auto expired = *store->expire_now(kT0 + std::chrono::minutes(61));
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].id == a.id);
    const auto late = *store->vote_now(a.id, who("shell:bob"), true, "", *demo_policy(), kT0 + std::chrono::minutes(62));
    CHECK(late.result == VoteResult::refused);
    CHECK(late.message.find("already expired") != std::string::npos);
  }

  TEST_CASE_TEMPLATE("a vote after the deadline is refused even before the expiry timer ran", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const Approval a = *store->create_now(draft());
    const auto late = *store->vote_now(a.id, who("shell:bob"), true, "", *demo_policy(), kT0 + std::chrono::hours(2));
    CHECK(late.result == VoteResult::refused);
    CHECK(late.message.find("has expired") != std::string::npos);
  }

  TEST_CASE_TEMPLATE("a pending approval survives a restart and can still be approved", B, SqliteBackend, PgBackend) {
    B backend;
    std::string id;
    {
      auto store = backend.open();
      id = store->create_now(draft())->id;
    }
    auto reopened = backend.open();
    CHECK(reopened->pending_now(kT0)->size() == 1);
    CHECK(reopened->vote_now(id, who("shell:bob"), true, "", *demo_policy(), kT0)->result == VoteResult::granted);
  }

  TEST_CASE_TEMPLATE("two votes racing to reach the quorum grant it exactly once", B, SqliteBackend, PgBackend) {
    B backend;
    const auto policy = demo_policy();
    for (int round = 0; round < 20; ++round) {
      auto a_store = backend.open();
      auto b_store = backend.open();  // a second connection: a second process, or a second replica
      const Approval a = *a_store->create_now(draft());
      std::atomic<int> granted{0};
      std::thread t1([&] {
        if (a_store->vote_now(a.id, who("shell:bob"), true, "", *policy, kT0)->result == VoteResult::granted) ++granted;
      });
      std::thread t2([&] {
        if (b_store->vote_now(a.id, who("shell:dana"), true, "", *policy, kT0)->result == VoteResult::granted) ++granted;
      });
      t1.join();
      t2.join();
      CHECK(granted == 1);
    }
  }

  TEST_CASE_TEMPLATE("only the requester can cancel", B, SqliteBackend, PgBackend) {
    B backend;
    auto store = backend.open();
    const Approval a = *store->create_now(draft());
    CHECK(store->cancel_now(a.id, who("shell:bob"), *demo_policy(), kT0)->result == VoteResult::refused);
    CHECK(store->cancel_now(a.id, who("shell:alice"), *demo_policy(), kT0)->approval.state == "cancelled");
    CHECK(store->vote_now(a.id, who("shell:bob"), true, "", *demo_policy(), kT0)->result == VoteResult::refused);
  }

  TEST_CASE_TEMPLATE("granted but never finished approvals are marked failed at start-up, never re-run", B, SqliteBackend, PgBackend) {
    B backend;
    std::string id;
    {
      auto store = backend.open();
      id = store->create_now(draft())->id;
      CHECK(store->vote_now(id, who("shell:bob"), true, "", *demo_policy(), kT0)->result == VoteResult::granted);
    }
    backend.wait_sessions_ended();
    auto reopened = backend.open();
    const auto interrupted = *reopened->recover_interrupted();
    REQUIRE(interrupted.size() == 1);
    CHECK(interrupted[0].id == id);
    CHECK(reopened->recover_interrupted()->empty());
  }

  TEST_CASE("every approval id has a digit, so `approve <id>` always reads as a vote") {
    // About one id in four had none, and the command parser (rightly) does not
    // take a word without a digit for an id: those approvals could not be voted on.
    for (int i = 0; i < 5000; ++i) {
      const std::string id = opsgate::approval::new_approval_id();
      REQUIRE(id.size() == 5);
      REQUIRE(id.find_first_of("0123456789") != std::string::npos);
    }
  }

  TEST_CASE_TEMPLATE("a rate limit counts reservations across stores and a released slot is free again", B,
                     SqliteBackend, PgBackend) {
    B backend;
    auto a = backend.open();
    auto b = backend.open();
    RateLimitCheck check;
    check.id = "two-restarts";
    check.actions = {"restart"};
    check.per = "subject";
    check.limit = 2;
    check.window = std::chrono::minutes(10);
    auto reservation = [&](const std::string& request_id, Clock::time_point now) {
      RateReservation r;
      r.request_id = request_id;
      r.person = "alice";
      r.action = "restart";
      r.target = "cart";
      r.checks = {check};
      r.now = now;
      return r;
    };
    CHECK(a->reserve_now(reservation("r1", kT0))->reserved);
    CHECK(b->reserve_now(reservation("r2", kT0))->reserved);
    CHECK(a->reserve_now(reservation("r1", kT0))->reserved);  // the same request again takes no second slot
    const auto third = *b->reserve_now(reservation("r3", kT0 + std::chrono::seconds(30)));
    CHECK_FALSE(third.reserved);
    CHECK(third.exceeded.id == "two-restarts");
    CHECK(third.retry_after_s == 570);
    REQUIRE(a->release_now("r2").has_value());
    CHECK(b->reserve_now(reservation("r3", kT0 + std::chrono::seconds(30)))->reserved);
    CHECK(a->reserve_now(reservation("r4", kT0 + std::chrono::minutes(11)))->reserved);  // r1 is out of the window
  }
}

TEST_SUITE("approval/pg_replicas") {
  TEST_CASE("two replicas racing to grant the same approval: exactly one wins, every time") {
    PgBackend backend;
    auto a_store = backend.open();
    auto b_store = backend.open();
    const auto policy = demo_policy();
    for (int round = 0; round < 30; ++round) {
      const Approval a = *a_store->create_now(draft());
      std::atomic<int> granted{0};
      std::atomic<int> errors{0};
      auto vote = [&](RulesApprovalStore& store, const char* voter) {
        auto outcome = store.vote_now(a.id, who(voter), true, "", *policy, kT0);
        if (!outcome) {
          ++errors;
        } else if (outcome->result == VoteResult::granted) {
          ++granted;
        }
      };
      std::thread t1([&] { vote(*a_store, "shell:bob"); });
      std::thread t2([&] { vote(*b_store, "shell:dana"); });
      t1.join();
      t2.join();
      CHECK(errors == 0);
      CHECK(granted == 1);
    }
  }

  TEST_CASE("votes from two replicas on a quorum of two both count: the second grants it") {
    PgBackend backend;
    auto a_store = backend.open();
    auto b_store = backend.open();
    const auto policy = demo_policy();
    for (int round = 0; round < 20; ++round) {
      const Approval a = *a_store->create_now(draft(2));
      std::atomic<int> granted{0};
      std::atomic<int> recorded{0};
      auto vote = [&](RulesApprovalStore& store, const char* voter) {
        auto outcome = store.vote_now(a.id, who(voter), true, "", *policy, kT0);
        if (outcome && outcome->result == VoteResult::granted) ++granted;
        if (outcome && outcome->result == VoteResult::recorded) ++recorded;
      };
      std::thread t1([&] { vote(*a_store, "shell:bob"); });
      std::thread t2([&] { vote(*b_store, "shell:dana"); });
      t1.join();
      t2.join();
      CHECK(recorded == 1);
      CHECK(granted == 1);
    }
  }

  TEST_CASE("two replicas expiring together announce each expired approval once") {
    PgBackend backend;
    auto a_store = backend.open();
    auto b_store = backend.open();
    std::set<std::string> created;
    for (int i = 0; i < 40; ++i) {
      created.insert(a_store->create_now(draft())->id);
    }
    std::vector<Approval> by_a;
    std::vector<Approval> by_b;
    std::thread t1([&] { by_a = *a_store->expire_now(kT0 + std::chrono::hours(2)); });
    std::thread t2([&] { by_b = *b_store->expire_now(kT0 + std::chrono::hours(2)); });
    t1.join();
    t2.join();
    std::multiset<std::string> announced;
    for (const auto* list : {&by_a, &by_b}) {
      for (const auto& approval : *list) {
        announced.insert(approval.id);
      }
    }
    CHECK(announced.size() == created.size());
    CHECK(std::set<std::string>(announced.begin(), announced.end()) == created);
  }

  TEST_CASE("a starting replica's recovery leaves the approval a live replica is running, and takes a dead one's") {
    PgBackend backend;
    const auto policy = demo_policy();
    auto running = backend.open();
    const std::string live = running->create_now(draft())->id;
    REQUIRE(running->vote_now(live, who("shell:bob"), true, "", *policy, kT0)->result == VoteResult::granted);
    std::string orphan;
    {
      auto dead = backend.open();
      orphan = dead->create_now(draft())->id;
      REQUIRE(dead->vote_now(orphan, who("shell:bob"), true, "", *policy, kT0)->result == VoteResult::granted);
    }  // its connection ends: as when the process is killed
    auto starting = backend.open();
    const auto interrupted = *starting->recover_interrupted();
    REQUIRE(interrupted.size() == 1);
    CHECK(interrupted[0].id == orphan);
    CHECK(starting->get_now(orphan)->state == "failed");
    CHECK(starting->get_now(live)->state == "granted");
    REQUIRE(running->finish_now(live, true).has_value());
    CHECK(starting->get_now(live)->state == "executed");
  }

  TEST_CASE("a running replica takes over a dead replica's granted approval once, and never a live one's") {
    PgBackend backend;
    const auto policy = demo_policy();
    auto survivor = backend.open();
    auto dying = backend.open();
    const std::string mine = survivor->create_now(draft())->id;
    REQUIRE(survivor->vote_now(mine, who("shell:bob"), true, "", *policy, kT0)->result == VoteResult::granted);
    const std::string theirs = dying->create_now(draft())->id;
    REQUIRE(dying->vote_now(theirs, who("shell:bob"), true, "", *policy, kT0)->result == VoteResult::granted);
    // Both runs are alive: the survivor's own (its lock is re-entrant in its
    // own session, so only pg_locks can tell) and the other replica's.
    CHECK(survivor->take_over_orphaned_now()->empty());
    CHECK(dying->take_over_orphaned_now()->empty());
    dying.reset();  // its connections end: as when the process is killed
    // The server notices the closed connection at once, but give it a moment.
    std::vector<opsgate::Approval> taken;
    for (int i = 0; i < 100 && taken.empty(); ++i) {
      taken = *survivor->take_over_orphaned_now();
      if (taken.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].id == theirs);
    CHECK(survivor->get_now(theirs)->state == "failed");
    CHECK(survivor->get_now(mine)->state == "granted");
    CHECK(survivor->take_over_orphaned_now()->empty());  // once
    REQUIRE(survivor->finish_now(mine, true).has_value());
    CHECK(survivor->get_now(mine)->state == "executed");
  }
}
