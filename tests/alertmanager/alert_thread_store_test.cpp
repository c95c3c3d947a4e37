// The alert-thread store on both backends: a saved thread is found again
// (also by another replica's store on PostgreSQL), replaced in place, and
// forgotten once resolved and quiet.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "src/alertmanager/alert_thread_store.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/process.hpp"

namespace {

namespace asio = boost::asio;
using opsgate::alertmanager::AlertThread;
using opsgate::alertmanager::AlertThreadStore;

struct SqliteBackend {
  opsgate::test::TempDir dir;
  std::shared_ptr<opsgate::store::SqliteStore> store = *opsgate::store::SqliteStore::open(dir.file("opsgate.db"));
  std::shared_ptr<AlertThreadStore> threads() { return opsgate::alertmanager::make_sqlite_alert_thread_store(store); }
};

struct PgBackend {
  std::string dsn = opsgate::test::PostgresCluster::shared().fresh_database();
  // Each call: another replica's store on the same database.
  std::shared_ptr<AlertThreadStore> threads() {
    opsgate::store::PgOptions options;
    options.dsn = dsn;
    auto opened = opsgate::store::PgStore::open(options);
    REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
    stores.push_back(*opened);
    return opsgate::alertmanager::make_pg_alert_thread_store(*opened);
  }
  std::vector<std::shared_ptr<opsgate::store::PgStore>> stores;
};

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.restart();
  io.run_for(std::chrono::seconds(10));
  REQUIRE(future.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  return future.get();
}

}  // namespace

TEST_SUITE("alertmanager/alert_thread_store") {
  TEST_CASE_TEMPLATE("a saved thread is found again, replaced in place, and forgotten once resolved and quiet", Backend,
                     SqliteBackend, PgBackend) {
    Backend backend;
    asio::io_context io;
    auto a = backend.threads();
    auto b = backend.threads();  // on PostgreSQL: the other replica
    CHECK_FALSE(run(io, a->load("g|checkout|prod", 0))->has_value());
    AlertThread thread{"slack", "C0ALERTS", "1.5", "checkout", "prod", 1000, 1000, 1, false};
    REQUIRE(run(io, a->save("g|checkout|prod", thread)).has_value());
    auto found = run(io, b->load("g|checkout|prod", 0));
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    CHECK((*found)->thread == "1.5");
    CHECK((*found)->target == "checkout");
    thread.resolved = true;
    thread.last_ms = 2000;
    thread.fired = 2;
    REQUIRE(run(io, b->save("g|checkout|prod", thread)).has_value());
    auto replaced = run(io, a->load("g|checkout|prod", 1500));
    REQUIRE(replaced->has_value());
    CHECK((*replaced)->resolved);
    CHECK((*replaced)->fired == 2);
    // Resolved before the cut-off: a new incident next time.
    CHECK_FALSE(run(io, a->load("g|checkout|prod", 2001))->has_value());
  }
}
