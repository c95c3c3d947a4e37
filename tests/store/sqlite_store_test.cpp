#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include "src/store/sqlite_store.hpp"
#include "tests/audit/audit_test_support.hpp"

using namespace opsgate;
using opsgate::audit::test::TempDir;

namespace {

std::shared_ptr<store::SqliteStore> open_store(const std::string& path, store::StoreOptions options = {}) {
  auto opened = store::SqliteStore::open(path, std::move(options));
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
  return *opened;
}

Result<void> insert_key(SQLite::Database& db, const std::string& key) {
  SQLite::Statement q(db, "INSERT INTO seen_events(key, seen_ms) VALUES (?, 1)");
  q.bind(1, key);
  q.exec();
  return {};
}

int count_keys(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM seen_events").getInt();
}

}  // namespace

TEST_SUITE("store/sqlite_store") {
  TEST_CASE("a completed write is visible to a fresh connection") {
    TempDir dir;
    const std::string path = dir.file("db/opsgate.db");
    auto database = open_store(path);
    REQUIRE(database->write_now<void>([](SQLite::Database& db) { return insert_key(db, "a"); }).has_value());
    CHECK(count_keys(path) == 1);
    auto read = database->read_now<int>(
        [](SQLite::Database& db) -> Result<int> { return db.execAndGet("SELECT count(*) FROM seen_events").getInt(); });
    REQUIRE(read.has_value());
    CHECK(*read == 1);
  }

  TEST_CASE("writes of many threads share commits, and each completes after its commit") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    auto database = open_store(path);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          const std::string key = std::to_string(t) + "-" + std::to_string(i);
          auto written = database->write_now<void>([key](SQLite::Database& db) { return insert_key(db, key); });
          ok += written.has_value() ? 1 : 0;
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(ok == 200);
    CHECK(count_keys(path) == 200);
    CHECK(database->commits() <= 200);
  }

  TEST_CASE("a unit that fails undoes its own changes only, and its neighbours in the transaction commit") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    auto database = open_store(path);
    // Queued together behind a unit that holds the writer until all are queued.
    std::atomic<bool> release{false};
    std::atomic<bool> holding{false};
    std::vector<std::string> outcomes(3);
    std::vector<std::int64_t> commits_seen(3, -1);  // by each unit's work: equal when they share a transaction
    std::atomic<int> finished{0};
    store::WriteJob gate;
    gate.work = [&release, &holding](SQLite::Database&) {
      holding = true;
      while (!release.load()) {
        std::this_thread::yield();
      }
      return true;
    };
    REQUIRE(database->submit(std::move(gate)));
    // The writer has taken the gate's batch before the three are queued
    // (else it could take the gate with some of them, and the rest later).
    while (!holding.load()) {
      std::this_thread::yield();
    }
    const std::vector<std::pair<std::string, bool>> units{{"kept-1", true}, {"undone", false}, {"kept-2", true}};
    for (std::size_t i = 0; i < units.size(); ++i) {
      store::WriteJob job;
      job.work = [&, i, key = units[i].first, keep = units[i].second](SQLite::Database& db) {
        commits_seen[i] = database->commits();
        (void)insert_key(db, key);
        return keep;
      };
      job.done = [&, i](bool committed, const Error* error) {
        outcomes[i] = std::string(committed ? "committed" : "failed") + (error ? " with error" : "");
        ++finished;
      };
      REQUIRE(database->submit(std::move(job)));
    }
    release = true;
    database->close();  // drains
    CHECK(finished == 3);
    CHECK(outcomes == std::vector<std::string>{"committed", "committed", "committed"});
    CHECK(commits_seen[0] >= 0);  // the three went in one transaction
    CHECK(commits_seen[1] == commits_seen[0]);
    CHECK(commits_seen[2] == commits_seen[0]);
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT group_concat(key, ',') FROM (SELECT key FROM seen_events ORDER BY key)").getString() ==
          "kept-1,kept-2");
  }

  TEST_CASE("a failed commit fails every unit of the transaction, and the next one commits") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    auto database = open_store(path);
    database->fail_next_commits_for_test(1);
    auto failed = database->write_now<void>([](SQLite::Database& db) { return insert_key(db, "lost"); });
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().code == Errc::storage);
    CHECK(failed.error().message.find(path) != std::string::npos);
    CHECK(database->write_now<void>([](SQLite::Database& db) { return insert_key(db, "kept"); }).has_value());
    CHECK(count_keys(path) == 1);
  }

  TEST_CASE("a closed store refuses writes with an error naming the file") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    auto database = open_store(path);
    database->close();
    auto refused = database->write_now<void>([](SQLite::Database& db) { return insert_key(db, "late"); });
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message.find("closed") != std::string::npos);
    CHECK(refused.error().message.find(path) != std::string::npos);
  }

  TEST_CASE("one writing process per file: a second store with a lock owner is refused, naming the first") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    auto first = open_store(path, store::StoreOptions{.lock_owner = "opsgate serve"});
    auto second = store::SqliteStore::open(path, store::StoreOptions{.lock_owner = "opsgate shell"});
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().message.find("opsgate serve") != std::string::npos);
  }

  TEST_CASE("ping answers while the file can be read and written, and names it when its folder is gone") {
    TempDir dir;
    std::filesystem::create_directories(dir.file("data"));
    const std::string path = dir.file("data/opsgate.db");
    auto database = open_store(path);
    CHECK(database->ping().has_value());
    std::filesystem::rename(dir.file("data"), dir.file("moved"));  // the volume went away
    auto failed = database->ping();
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().message.find(path) != std::string::npos);
    CHECK(failed.error().message.find("cannot be written") != std::string::npos);
    std::filesystem::rename(dir.file("moved"), dir.file("data"));
    CHECK(database->ping().has_value());
  }
}
