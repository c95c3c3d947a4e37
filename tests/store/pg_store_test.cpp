#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "src/core/config.hpp"
#include "src/store/pg_schema.hpp"
#include "src/store/pg_store.hpp"
#include "tests/support/postgres_cluster.hpp"

using namespace opsgate;
using opsgate::test::PostgresCluster;

namespace {

std::shared_ptr<store::PgStore> open_pg(const std::string& dsn, store::PgOptions options = {}) {
  options.dsn = dsn;
  auto opened = store::PgStore::open(std::move(options));
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
  return *opened;
}

Result<void> insert_key(pqxx::transaction_base& tx, const std::string& key) {
  tx.exec_params0("INSERT INTO seen_events(key, seen_ms) VALUES ($1, 1)", key);
  return {};
}

int count_keys(const std::string& dsn) {
  pqxx::connection connection(dsn);
  pqxx::nontransaction tx(connection);
  return tx.exec1("SELECT count(*) FROM seen_events")[0].as<int>();
}

}  // namespace

TEST_SUITE("store/pg_store") {
  TEST_CASE("a completed write is visible to a fresh connection and to the store's readers") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    auto database = open_pg(dsn);
    CHECK(database->opened_at_version() == 0);
    REQUIRE(database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "a"); }).has_value());
    CHECK(count_keys(dsn) == 1);
    auto read = database->read_now<int>([](pqxx::transaction_base& tx) -> Result<int> {
      return tx.exec1("SELECT count(*) FROM seen_events")[0].as<int>();
    });
    REQUIRE(read.has_value());
    CHECK(*read == 1);
    CHECK(database->ping().has_value());
  }

  TEST_CASE("on PostgreSQL, writes of many threads share commits, and each completes after its commit") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    auto database = open_pg(dsn);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          const std::string key = std::to_string(t) + "-" + std::to_string(i);
          auto written = database->write_now<void>([key](pqxx::transaction_base& tx) { return insert_key(tx, key); });
          ok += written.has_value() ? 1 : 0;
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(ok == 200);
    CHECK(count_keys(dsn) == 200);
    CHECK(database->commits() <= 200);
  }

  TEST_CASE("on PostgreSQL, a unit that fails undoes its own changes only, and its neighbours in the transaction commit") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    auto database = open_pg(dsn);
    // A first unit holds the writer until the others are queued, so all three go into one transaction.
    std::atomic<bool> release{false};
    std::atomic<bool> holding{false};
    std::vector<Result<void>> outcomes(3, Result<void>{});
    std::thread holder([&] {
      outcomes[0] = database->write_now<void>([&](pqxx::transaction_base& tx) {
        holding = true;
        while (!release.load()) {
          std::this_thread::yield();
        }
        return insert_key(tx, "first");
      });
    });
    for (int i = 0; i < 2000 && !holding.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(holding.load());
    // The duplicate key fails inside its savepoint (an SQL error), the refusal undoes its own insert.
    std::thread failing([&] {
      outcomes[1] = database->write_now<void>([](pqxx::transaction_base& tx) -> Result<void> {
        insert_key(tx, "dup");
        return insert_key(tx, "dup");
      });
    });
    std::thread refusing([&] {
      outcomes[2] = database->write_now<void>([](pqxx::transaction_base& tx) -> Result<void> {
        insert_key(tx, "refused");
        return fail(Errc::conflict, "no");
      });
    });
    // Bounded: both are queued behind the holder before it lets the writer go.
    for (int i = 0; i < 2000 && database->queued_rows() < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(database->queued_rows() == 2);
    release = true;
    holder.join();
    failing.join();
    refusing.join();
    CHECK(outcomes[0].has_value());
    CHECK_FALSE(outcomes[1].has_value());
    CHECK_FALSE(outcomes[2].has_value());
    CHECK_MESSAGE(outcomes[2].error().code == Errc::conflict, outcomes[2].error().message);
    CHECK(count_keys(dsn) == 1);
  }

  TEST_CASE("an injected commit failure fails every unit of the batch and keeps nothing") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    auto database = open_pg(dsn);
    database->fail_next_commits_for_test(1);
    auto written = database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "x"); });
    REQUIRE_FALSE(written.has_value());
    CHECK(written.error().code == Errc::storage);
    CHECK(count_keys(dsn) == 0);
    CHECK(database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "y"); }).has_value());
    CHECK(count_keys(dsn) == 1);
  }

  TEST_CASE("the awaitable write and read resume on the caller's executor") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    auto database = open_pg(dsn);
    boost::asio::io_context io;
    auto task = [](std::shared_ptr<store::PgStore> db) -> boost::asio::awaitable<int> {
      Result<void> written = co_await db->write<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "k"); });
      REQUIRE(written.has_value());
      Result<int> count = co_await db->read<int>([](pqxx::transaction_base& tx) -> Result<int> {
        return tx.exec1("SELECT count(*) FROM seen_events")[0].as<int>();
      });
      REQUIRE(count.has_value());
      Result<void> pinged = co_await db->ping_async();
      CHECK(pinged.has_value());
      co_return *count;
    };
    auto future = boost::asio::co_spawn(io, task(database), boost::asio::use_future);
    io.run();
    CHECK(future.get() == 1);
  }

  TEST_CASE("two stores opening a fresh database together apply the schema once") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    std::vector<int> versions(4, -1);
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        store::PgOptions options;
        options.dsn = dsn;
        auto opened = store::PgStore::open(options);
        if (opened) {
          versions[i] = (*opened)->opened_at_version();
        } else {
          errors[i] = opened.error().message;
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    int fresh = 0;
    for (int i = 0; i < 4; ++i) {
      INFO(errors[i]);
      CHECK(versions[i] >= 0);
      fresh += versions[i] == 0 ? 1 : 0;
    }
    CHECK(fresh == 1);
    pqxx::connection connection(dsn);
    pqxx::nontransaction tx(connection);
    CHECK(tx.exec1("SELECT count(*), max(version) FROM schema_version")[0].as<int>() == store::kPgSchemaVersion);
  }

  TEST_CASE("a database made by a newer opsgate is refused with a message naming the versions") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    open_pg(dsn)->close();
    {
      pqxx::connection connection(dsn);
      pqxx::work tx(connection);
      tx.exec0("INSERT INTO schema_version(version) VALUES (99)");
      tx.commit();
    }
    store::PgOptions options;
    options.dsn = dsn;
    auto opened = store::PgStore::open(options);
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().message.find("schema version 99") != std::string::npos);
  }

  TEST_CASE("the audit table refuses UPDATE and DELETE from any client") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    open_pg(dsn)->close();
    pqxx::connection connection(dsn);
    {
      pqxx::work tx(connection);
      tx.exec0("INSERT INTO audit_events(seq, ts_ms, prev_hash, hash) VALUES (1, 1, 'a', 'b')");
      tx.commit();
    }
    pqxx::work tx(connection);
    CHECK_THROWS_WITH_AS(tx.exec0("UPDATE audit_events SET hash = 'c'"), doctest::Contains("append-only"),
                         pqxx::sql_error);
  }

  TEST_CASE("without libpq, opening the store is a clear error naming the library and the package, not a crash") {
    store::PgOptions options;
    options.dsn = "host=127.0.0.1 port=1 user=opsgate password=hunter2 dbname=nowhere";
    options.libpq = "libpq-opsgate-missing.so.5";
    auto opened = store::PgStore::open(options);
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().code == opsgate::Errc::unavailable);
    CHECK(opened.error().message.find("cannot load libpq-opsgate-missing.so.5 for storage.backend: postgres") == 0);
    CHECK(opened.error().message.find("apt-get install libpq5") != std::string::npos);
    CHECK(opened.error().message.find("hunter2") == std::string::npos);
    CHECK(store::load_libpq());  // the real one still loads, before or after
  }

  TEST_CASE("an unreachable server is a clear error naming it, without the password") {
    store::PgOptions options;
    options.dsn = "host=127.0.0.1 port=1 user=opsgate password=hunter2 dbname=nowhere";
    options.connect_timeout = std::chrono::seconds(2);
    auto opened = store::PgStore::open(options);
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().message.find("127.0.0.1:1/nowhere") != std::string::npos);
    CHECK(opened.error().message.find("hunter2") == std::string::npos);
  }

  TEST_CASE("a lost connection fails closed, and the writer reconnects once the server is back") {
    const std::string dsn = PostgresCluster::shared().fresh_database();
    auto database = open_pg(dsn);
    REQUIRE(database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "before"); }));
    // What a server restart does to the writer's session.
    {
      pqxx::connection admin(dsn);
      pqxx::nontransaction tx(admin);
      tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
               "AND pid <> pg_backend_pid()");
    }
    // The first write may find the dead session (fails closed) or reconnect at
    // once; within a few tries it goes through on a fresh connection.
    bool written = false;
    for (int i = 0; i < 20 && !written; ++i) {
      written = database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "after"); })
                    .has_value();
    }
    CHECK(written);
    CHECK(count_keys(dsn) == 2);
    // Readers, too, find their idle connection dead and take a new one.
    CHECK(database->ping().has_value());
  }

  TEST_CASE("with the server stopped, writes fail at once with a clear error, and resume when it restarts") {
    if (auto missing = PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    PostgresCluster cluster(PostgresCluster::Options{});  // its own: this test stops it
    cluster.create_database("restart");
    store::PgOptions options;
    options.connect_timeout = std::chrono::seconds(1);
    auto database = open_pg(cluster.dsn("restart"), options);
    REQUIRE(database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "before"); }));
    cluster.stop();
    // The first write finds the dead session, the next ones cannot connect:
    // each fails (nothing waits for the server), saying what happened.
    for (int i = 0; i < 3; ++i) {
      const auto failed = database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "down"); });
      REQUIRE_FALSE(failed.has_value());
      const std::string& message = failed.error().message;
      CHECK_MESSAGE((message.find("lost the connection to PostgreSQL at 127.0.0.1:") != std::string::npos ||
                     message.find("is unreachable; nothing was recorded") != std::string::npos),
                    message);
    }
    CHECK_FALSE(database->writer_connected());
    cluster.start_again();
    bool written = false;
    for (int i = 0; i < 20 && !written; ++i) {  // the writer retries with backoff (200 ms at first)
      written = database->write_now<void>([](pqxx::transaction_base& tx) { return insert_key(tx, "after"); })
                    .has_value();
      if (!written) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
    CHECK(written);
    CHECK(database->writer_connected());
    CHECK(count_keys(cluster.dsn("restart")) == 2);
  }

  TEST_CASE("a URI DSN gets a connect timeout and a keyword DSN keeps its own") {
    store::PgOptions options;
    options.dsn = "postgresql://u@db:5432/opsgate?sslmode=require";
    CHECK(store::pg_connection_string(options) == "postgresql://u@db:5432/opsgate?sslmode=require&connect_timeout=5");
    options.dsn = "host=db dbname=opsgate connect_timeout=9";
    CHECK(store::pg_connection_string(options) == "connect_timeout=5 host=db dbname=opsgate connect_timeout=9");
    CHECK(store::pg_describe("postgresql://u:secret@db:6543/ops") == "db:6543/ops");
  }
}

TEST_SUITE("store/pg_config") {
  TEST_CASE("storage.backend postgres reads the DSN through the secret reader") {
    ::setenv("OPSGATE_TEST_PG_DSN", "host=db dbname=opsgate", 1);
    const std::string yaml =
        "storage:\n  backend: postgres\n  postgres:\n    dsn: {env: OPSGATE_TEST_PG_DSN}\n    pool_size: 3\n"
        "    connect_timeout: 2s\n"
        "environments: {prod: {}}\ntargets: {web: {}}\n";
    const Config config = load_config(ConfigNode::parse(yaml, "test.yaml"));
    CHECK(config.storage_backend == StorageBackend::postgres);
    REQUIRE(config.postgres.has_value());
    CHECK(config.postgres->dsn.reveal() == "host=db dbname=opsgate");
    CHECK(config.postgres->dsn.source() == "env:OPSGATE_TEST_PG_DSN");
    CHECK(config.postgres->pool_size == 3);
    CHECK(config.postgres->connect_timeout == std::chrono::seconds(2));
  }

  TEST_CASE("sqlite stays the default and the path key keeps working") {
    const Config config =
        load_config(ConfigNode::parse("storage:\n  path: x.db\nenvironments: {prod: {}}\ntargets: {web: {}}\n", "t.yaml"));
    CHECK(config.storage_backend == StorageBackend::sqlite);
    CHECK(config.storage_path == "x.db");
    CHECK_FALSE(config.postgres.has_value());
  }

  TEST_CASE("a wrong backend or a missing dsn names file, line and key") {
    CHECK_THROWS_WITH_AS(
        load_config(ConfigNode::parse("storage:\n  backend: mysql\nenvironments: {prod: {}}\ntargets: {web: {}}\n",
                                      "t.yaml")),
        doctest::Contains("t.yaml:2: storage.backend: expected sqlite or postgres"), ConfigError);
    CHECK_THROWS_WITH_AS(
        load_config(ConfigNode::parse("storage:\n  backend: postgres\nenvironments: {prod: {}}\ntargets: {web: {}}\n",
                                      "t.yaml")),
        doctest::Contains("storage.postgres.dsn"), ConfigError);
    CHECK_THROWS_WITH_AS(
        load_config(ConfigNode::parse(
            "storage:\n  backend: postgres\n  postgres:\n    pool_size: 2\nenvironments: {prod: {}}\ntargets: {web: {}}\n",
            "t.yaml")),
        doctest::Contains("storage.postgres.dsn"), ConfigError);
  }
}
