// The replay table's promises on both backends: a delivery's key is new
// once within the window, whichever replica sees it.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "src/audit/replay_store.hpp"
#include "src/store/pg_store.hpp"
#include "tests/audit/audit_test_support.hpp"
#include "tests/support/postgres_cluster.hpp"

using opsgate::audit::ReplayStore;
using namespace opsgate::audit::test;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<opsgate::store::PgStore> open_pg(const std::string& dsn) {
  opsgate::store::PgOptions options;
  options.dsn = dsn;
  auto opened = opsgate::store::PgStore::open(options);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
  return *opened;
}

struct SqliteReplays {
  TempDir dir;
  std::string path = dir.file("opsgate.db");
  // A replica: one store of its own on the shared file (tests only: the
  // daemon holds the file's lock).
  std::shared_ptr<ReplayStore> replica(std::chrono::seconds window) {
    auto replays = std::make_shared<ReplayStore>(path, window);
    auto opened = replays->open();
    REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
    return replays;
  }
};

struct PgReplays {
  std::string dsn = opsgate::test::PostgresCluster::shared().fresh_database();
  std::shared_ptr<ReplayStore> replica(std::chrono::seconds window) {
    auto replays = std::make_shared<ReplayStore>("", window);
    auto opened = replays->open(open_pg(dsn));
    REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
    return replays;
  }
};

const std::chrono::system_clock::time_point kNow{std::chrono::milliseconds(kTestNowMs)};

}  // namespace

TEST_SUITE("audit/replay_store") {
  TEST_CASE_TEMPLATE("a key is new once within the window and new again after it", B, SqliteReplays, PgReplays) {
    B backend;
    auto replays = backend.replica(1h);
    CHECK(replays->first_time("slack:Ev1", kNow).value());
    CHECK_FALSE(replays->first_time("slack:Ev1", kNow + 10min).value());
    CHECK(replays->first_time("slack:Ev2", kNow + 10min).value());
    CHECK(replays->first_time("slack:Ev1", kNow + 2h).value());
    CHECK_FALSE(replays->first_time("slack:Ev1", kNow + 2h + 1s).value());
  }

  TEST_CASE_TEMPLATE("a long key is stored as its digest and still deduplicated", B, SqliteReplays, PgReplays) {
    B backend;
    auto replays = backend.replica(1h);
    const std::string body(4000, 'x');
    CHECK(replays->first_time("slack-body:" + body, kNow).value());
    CHECK_FALSE(replays->first_time("slack-body:" + body, kNow).value());
  }

  TEST_CASE_TEMPLATE("a retry delivered to the other replica is a repeat there", B, SqliteReplays, PgReplays) {
    B backend;
    auto a = backend.replica(1h);
    auto b = backend.replica(1h);
    CHECK(a->first_time("discord:123", kNow).value());
    CHECK_FALSE(b->first_time("discord:123", kNow + 1s).value());
    CHECK(b->first_time("discord:124", kNow + 1s).value());
    CHECK_FALSE(a->first_time("discord:124", kNow + 2s).value());
  }

  TEST_CASE("two PostgreSQL replicas racing on the same deliveries: each key is first exactly once") {
    PgReplays backend;
    auto a = backend.replica(1h);
    auto b = backend.replica(1h);
    constexpr int kKeys = 100;
    std::vector<std::atomic<int>> firsts(kKeys);
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        auto& replays = t % 2 == 0 ? *a : *b;
        for (int k = 0; k < kKeys; ++k) {
          auto first = replays.first_time("slack:Ev" + std::to_string(k), kNow);
          if (!first) {
            ++errors;
          } else if (*first) {
            ++firsts[k];
          }
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(errors == 0);
    int exactly_once = 0;
    for (auto& count : firsts) {
      exactly_once += count.load() == 1 ? 1 : 0;
    }
    CHECK(exactly_once == kKeys);
  }

  TEST_CASE("an unopened replay store refuses to decide") {
    ReplayStore replays("", 1h);
    auto first = replays.first_time("k", kNow);
    REQUIRE_FALSE(first.has_value());
    CHECK(first.error().code == opsgate::Errc::storage);
  }
}
