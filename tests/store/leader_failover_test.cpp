// Leadership on a real PostgreSQL: when the server goes away the leader's
// renewals fail and its leader-only work stops before the lease could have
// expired, and the probe behind /readyz fails; a second replica stands by
// and takes over when the first shuts down and releases.

#include <atomic>
#include <chrono>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include "src/core/leadership.hpp"
#include "src/store/pg_leader_lease.hpp"
#include "src/store/pg_store.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct Work {
  int starts = 0;
  int stops = 0;
  bool running = false;
};

// Leader-only work that runs until it is cancelled.
asio::awaitable<void> leader_work(asio::any_io_executor executor, Work* work) {
  ++work->starts;
  work->running = true;
  asio::steady_timer forever(executor, asio::steady_timer::time_point::max());
  auto [ec] = co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
  work->running = false;
  ++work->stops;
}

std::shared_ptr<opsgate::store::PgStore> open_pg(const std::string& dsn) {
  opsgate::store::PgOptions options;
  options.dsn = dsn;
  options.connect_timeout = std::chrono::seconds(1);
  options.statement_timeout = std::chrono::seconds(2);
  auto opened = opsgate::store::PgStore::open(options);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
  return *opened;
}

// A replica: its store, lease and leadership, and the leader-only work.
struct Replica {
  Replica(asio::io_context& io, const std::string& dsn, const std::string& name)
      : store(open_pg(dsn)), lease(store), leadership(options(name)) {
    asio::co_spawn(io, leadership.run(lease),
                   asio::bind_cancellation_slot(stop_lease.slot(), [this](std::exception_ptr) { ++finished; }));
    auto task = [executor = io.get_executor(), this] { return leader_work(executor, &work); };
    asio::co_spawn(io, leadership.run_while_leader("test work", task),
                   asio::bind_cancellation_slot(stop_work.slot(), [this](std::exception_ptr) { ++finished; }));
  }
  static opsgate::LeadershipOptions options(const std::string& name) {
    opsgate::LeadershipOptions o;
    o.name = "leader";
    o.holder = name;
    o.ttl = milliseconds(1500);
    o.safety_margin = milliseconds(600);
    return o;
  }
  void shut_down() {
    stop_work.emit(asio::cancellation_type::terminal);
    stop_lease.emit(asio::cancellation_type::terminal);
  }

  std::shared_ptr<opsgate::store::PgStore> store;
  opsgate::store::PgLeaderLease lease;
  opsgate::Leadership leadership;
  Work work;
  asio::cancellation_signal stop_lease;
  asio::cancellation_signal stop_work;
  int finished = 0;
};

template <class Done>
bool run_until(asio::io_context& io, Done done, int steps = 750) {
  for (int i = 0; i < steps && !done(); ++i) {
    io.run_for(milliseconds(20));
  }
  return done();
}

}  // namespace

TEST_SUITE("store/leader_failover") {
  TEST_CASE("the leader stops its work when PostgreSQL goes away, and /readyz's probe fails") {
    if (auto missing = opsgate::test::PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    opsgate::test::PostgresCluster cluster(opsgate::test::PostgresCluster::Options{});
    cluster.create_database("failover");
    asio::io_context io;
    auto a = std::make_unique<Replica>(io, cluster.dsn("failover"), "replica-a");
    REQUIRE(run_until(io, [&] { return a->work.running; }));
    CHECK(a->store->ping().has_value());
    cluster.stop();
    // Renewals fail: the work stops by itself, before the row could expire.
    REQUIRE(run_until(io, [&] { return a->work.stops == 1; }));
    CHECK_FALSE(a->leadership.is_leader());
    CHECK_FALSE(a->store->ping().has_value());  // what /readyz reports
    cluster.start_again();
    a->shut_down();
    REQUIRE(run_until(io, [&] { return a->finished == 2; }));
  }

  // PostgreSQL restarts (an immediate stop: every session is cut) and stays
  // down longer than the lease's ttl: the leader's work stops, its writer
  // drops the dead connection, and when the server is back it reconnects by
  // itself and the replica takes the lapsed lease again, with a new token.
  TEST_CASE("the leader leads again, with a new token, when PostgreSQL is back") {
    if (auto missing = opsgate::test::PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    opsgate::test::PostgresCluster cluster(opsgate::test::PostgresCluster::Options{});
    cluster.create_database("failover");
    asio::io_context io;
    auto a = std::make_unique<Replica>(io, cluster.dsn("failover"), "replica-a");
    REQUIRE(run_until(io, [&] { return a->work.running; }));
    const std::int64_t first_token = a->leadership.token();
    cluster.stop();
    REQUIRE(run_until(io, [&] { return a->work.stops == 1; }));
    // The writer saw the connection go (fail closed), not a hang.
    REQUIRE(run_until(io, [&] { return !a->store->writer_connected(); }));
    // Down until the lease has lapsed by the database's clock too: it expires
    // ttl after the last renewal ran, which was within a round trip of when it
    // was sent (valid_until + margin); one second covers the round trip.
    const auto lapsed = a->leadership.valid_until() + Replica::options("").safety_margin + milliseconds(1000);
    REQUIRE(run_until(io, [&] { return std::chrono::steady_clock::now() > lapsed; }));
    CHECK(a->work.stops == 1);  // nothing restarted it meanwhile
    cluster.start_again();
    REQUIRE(run_until(io, [&] { return a->work.starts == 2; }));
    CHECK(a->store->writer_connected());
    CHECK(a->store->ping().has_value());
    CHECK(a->leadership.token() > first_token);  // its lease had lapsed: a takeover
    a->shut_down();
    REQUIRE(run_until(io, [&] { return a->finished == 2; }));
  }

  TEST_CASE("a second replica stands by, and takes over at once when the leader shuts down and releases") {
    if (auto missing = opsgate::test::PostgresCluster::missing()) {
      MESSAGE("skipped: " << *missing);
      return;
    }
    const std::string dsn = opsgate::test::PostgresCluster::shared().fresh_database();
    asio::io_context io;
    auto a = std::make_unique<Replica>(io, dsn, "replica-a");
    REQUIRE(run_until(io, [&] { return a->work.running; }));
    auto b = std::make_unique<Replica>(io, dsn, "replica-b");
    CHECK_FALSE(b->lease.acquire("leader", "replica-b", milliseconds(1500))->has_value());
    a->shut_down();
    REQUIRE(run_until(io, [&] { return a->finished == 2; }));
    CHECK_FALSE(a->work.running);
    REQUIRE(run_until(io, [&] { return b->work.running; }));
    CHECK(b->leadership.token() > a->leadership.token());
    b->shut_down();
    REQUIRE(run_until(io, [&] { return b->finished == 2; }));
  }
}
