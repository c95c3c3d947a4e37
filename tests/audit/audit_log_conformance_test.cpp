// The audit log's promises, run against both backends (SQLite and
// PostgreSQL, the second on the binary's one test cluster): the same cases,
// the same reader (`opsgate audit ...`) on top.

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <pqxx/pqxx>
#include <SQLiteCpp/Database.h>

#include "src/audit/audit_hash.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/pg_audit_log.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/store/pg_store.hpp"
#include "tests/audit/audit_test_support.hpp"
#include "tests/support/postgres_cluster.hpp"

using opsgate::AuditEvent;
using opsgate::Errc;
using opsgate::audit::AuditSource;
using namespace opsgate::audit::test;

namespace {

struct SqliteBackend {
  using Log = opsgate::audit::SqliteAuditLog;
  static constexpr bool kStoresRawBytes = true;
  TempDir dir;
  std::string path = dir.file("audit.db");

  std::unique_ptr<Log> open(const opsgate::Clock& clock) {
    auto log = Log::open(path, clock);
    REQUIRE_MESSAGE(log.has_value(), (log ? std::string() : log.error().message));
    return std::move(*log);
  }
  AuditSource source() const { return path; }
  // What a person with write access to the database could do.
  void tamper(const std::string& sql) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER audit_events_no_update");
    db.exec(sql);
  }
};

struct PgBackend {
  using Log = opsgate::audit::PgAuditLog;
  static constexpr bool kStoresRawBytes = false;  // text is UTF-8: invalid bytes become U+FFFD
  std::string dsn = opsgate::test::PostgresCluster::shared().fresh_database();

  std::unique_ptr<Log> open(const opsgate::Clock& clock) {
    opsgate::store::PgOptions options;
    options.dsn = dsn;
    auto log = Log::open(options, clock);
    REQUIRE_MESSAGE(log.has_value(), (log ? std::string() : log.error().message));
    return std::move(*log);
  }
  AuditSource source() const { return AuditSource::postgres(dsn); }
  void tamper(const std::string& sql) {
    pqxx::connection connection(dsn);
    pqxx::work tx(connection);
    tx.exec0("ALTER TABLE audit_events DISABLE TRIGGER USER");
    tx.exec0(sql);
    tx.commit();
  }
};

std::vector<AuditEvent> numbered_events(int n, const std::string& prefix = "req") {
  std::vector<AuditEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(make_event(prefix + std::to_string(i), "received", {{"target", "cart"}, {"i", i}}));
  }
  return events;
}

opsgate::audit::VerifyReport verified(const AuditSource& source) {
  auto report = opsgate::audit::verify(source);
  REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().message));
  return *report;
}

}  // namespace

TEST_SUITE("audit/audit_log_conformance") {
  TEST_CASE_TEMPLATE("events are chained: genesis zeros, then each prev_hash is the previous hash", B, SqliteBackend,
                     PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    for (int i = 0; i < 5; ++i) {
      auto seq = append_one(*log, make_event("r" + std::to_string(i), "received", {{"n", i}}));
      REQUIRE(seq.has_value());
      CHECK(*seq == i + 1);
    }
    auto events = opsgate::audit::tail(backend.source(), 100);
    REQUIRE(events.has_value());
    REQUIRE(events->size() == 5);
    CHECK((*events)[0].prev_hash == std::string(64, '0'));
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto& event = (*events)[i];
      CHECK(event.seq == static_cast<std::int64_t>(i) + 1);
      CHECK(event.hash == opsgate::audit::compute_audit_hash(event.prev_hash, event));
      if (i > 0) {
        CHECK(event.prev_hash == (*events)[i - 1].hash);
      }
    }
    CHECK(verified(backend.source()).count == 5);
  }

  TEST_CASE_TEMPLATE("ts_ms comes from the clock when zero and is kept otherwise", B, SqliteBackend, PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    auto first = append_one(*log, make_event("a", "received"));
    AuditEvent stamped = make_event("b", "received");
    stamped.ts_ms = 42;
    auto second = append_one(*log, stamped);
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(opsgate::audit::by_seq(backend.source(), *first)->ts_ms == kTestNowMs);
    CHECK(opsgate::audit::by_seq(backend.source(), *second)->ts_ms == 42);
  }

  TEST_CASE_TEMPLATE("200 concurrent appends get seqs 1..200 in fewer commits and verify", B, SqliteBackend,
                     PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(200), slots);
    std::thread second([&io] { io.run(); });
    io.run();
    second.join();
    std::set<std::int64_t> seqs;
    for (const auto& result : unwrap(slots)) {
      REQUIRE(result.has_value());
      seqs.insert(*result);
    }
    CHECK(seqs.size() == 200);
    CHECK(*seqs.rbegin() == 200);
    CHECK(log->commits() < 200);
    const auto report = verified(backend.source());
    CHECK(report.ok);
    CHECK(report.count == 200);
  }

  TEST_CASE_TEMPLATE("reopening continues the chain", B, SqliteBackend, PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    {
      auto log = backend.open(clock);
      for (const auto& result : append_all(*log, numbered_events(3))) {
        REQUIRE(result.has_value());
      }
    }
    auto log = backend.open(clock);
    auto fourth = append_one(*log, make_event("after-restart", "received"));
    REQUIRE(fourth.has_value());
    CHECK(*fourth == 4);
    const auto report = verified(backend.source());
    CHECK(report.ok);
    CHECK(report.count == 4);
  }

  TEST_CASE_TEMPLATE("a failed commit fails the appends of the batch, keeps the chain, and the next append succeeds",
                     B, SqliteBackend, PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    REQUIRE(append_one(*log, make_event("one", "received")).has_value());
    log->fail_next_commits_for_test(1);
    auto failed = append_one(*log, make_event("two", "received"));
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().code == Errc::storage);
    auto next = append_one(*log, make_event("three", "received"));
    REQUIRE(next.has_value());
    CHECK(*next == 2);
    const auto report = verified(backend.source());
    CHECK(report.ok);
    CHECK(report.count == 2);
    CHECK(opsgate::audit::by_request(backend.source(), "two")->empty());
  }

  TEST_CASE_TEMPLATE("close drains queued appends, and later appends are refused", B, SqliteBackend, PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(50), slots);
    io.poll();  // every coroutine has queued its unit
    log->close();
    io.run();
    for (const auto& result : unwrap(slots)) {
      CHECK(result.has_value());
    }
    auto late = append_one(*log, make_event("late", "received"));
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error().message.find("closed") != std::string::npos);
    CHECK(verified(backend.source()).count == 50);
  }

  TEST_CASE_TEMPLATE("append_all keeps a unit's events together, in order, and append_later is written too", B,
                     SqliteBackend, PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    boost::asio::io_context io;
    bool queued = false;
    std::optional<opsgate::Result<std::int64_t>> last;
    auto run = [](opsgate::AuditLog* target, bool* flag,
                  std::optional<opsgate::Result<std::int64_t>>* out) -> boost::asio::awaitable<void> {
      std::vector<AuditEvent> events{make_event("unit", "started"), make_event("unit", "finished")};
      opsgate::Result<std::int64_t> result =
          co_await target->append_all(std::move(events), [flag] { *flag = true; });
      *out = std::move(result);
    };
    boost::asio::co_spawn(io, run(log.get(), &queued, &last), rethrow_if_failed);
    io.run();
    CHECK(queued);
    REQUIRE(last.has_value());
    REQUIRE(last->has_value());
    CHECK(**last == 2);
    log->append_later(make_event("later", "replied"));
    log->close();
    auto unit = opsgate::audit::by_request(backend.source(), "unit");
    REQUIRE(unit.has_value());
    REQUIRE(unit->size() == 2);
    CHECK((*unit)[0].kind == "started");
    CHECK((*unit)[1].kind == "finished");
    CHECK(opsgate::audit::by_request(backend.source(), "later")->size() == 1);
  }

  TEST_CASE_TEMPLATE("the readers find events by request, seq, kind and target, and export them", B, SqliteBackend,
                     PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    REQUIRE(append_one(*log, make_event("r1", "received", {{"target", "cart"}})).has_value());
    REQUIRE(append_one(*log, make_event("r2", "parsed", {{"target", "web"}})).has_value());
    REQUIRE(append_one(*log, make_event("r3", "parsed", {{"target", "cart"}, {"env", "prod"}})).has_value());
    REQUIRE(append_one(*log, make_event("r4", "parsed", nlohmann::json::object())).has_value());
    const AuditSource source = backend.source();
    auto cart = opsgate::audit::recent_for_target(source, "cart", 10);
    REQUIRE(cart.has_value());
    REQUIRE(cart->size() == 2);
    CHECK((*cart)[0].request_id == "r1");
    CHECK((*cart)[1].request_id == "r3");
    auto newest_cart = opsgate::audit::recent_for_target(source, "cart", 1);
    REQUIRE(newest_cart.has_value());
    REQUIRE(newest_cart->size() == 1);
    CHECK(newest_cart->front().request_id == "r3");
    auto parsed = opsgate::audit::of_kind_since(source, "parsed", kTestNowMs);
    REQUIRE(parsed.has_value());
    CHECK(parsed->size() == 3);
    CHECK(opsgate::audit::by_seq(source, 2)->request_id == "r2");
    auto missing = opsgate::audit::by_seq(source, 99);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == Errc::not_found);
    CHECK(opsgate::audit::tail(source, 2)->front().request_id == "r3");
    std::ostringstream jsonl;
    REQUIRE(opsgate::audit::export_jsonl(source, jsonl).has_value());
    const std::string lines = jsonl.str();
    CHECK(std::count(lines.begin(), lines.end(), '\n') == 4);
    std::ostringstream csv;
    REQUIRE(opsgate::audit::export_csv(source, csv).has_value());
    CHECK(csv.str().find("r4") != std::string::npos);
  }

  TEST_CASE_TEMPLATE("invalid UTF-8 from chat is stored without throwing and verifies", B, SqliteBackend,
                     PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    auto log = backend.open(clock);
    auto event = make_event("utf8\xff", "received", {{"target", "ca\xc3"}}, std::string("bad \xff\xfe bytes\0!", 14));
    auto seq = append_one(*log, event);
    REQUIRE(seq.has_value());
    REQUIRE(append_one(*log, make_event("next", "received")).has_value());
    const auto report = verified(backend.source());
    CHECK_MESSAGE(report.ok, report.reason);
    CHECK(report.count == 2);
    auto stored = opsgate::audit::by_seq(backend.source(), *seq);
    REQUIRE(stored.has_value());
    CHECK(stored->params["target"] == "ca\xef\xbf\xbd");  // replaced by U+FFFD before hashing
    if (B::kStoresRawBytes) {
      CHECK(stored->detail == event.detail);
    } else {
      CHECK(stored->detail == "bad \xef\xbf\xbd\xef\xbf\xbd bytes\xef\xbf\xbd!");
    }
  }

  TEST_CASE_TEMPLATE("verify names the first row edited behind the log's back", B, SqliteBackend, PgBackend) {
    B backend;
    FixedClock clock(kTestNowMs);
    {
      auto log = backend.open(clock);
      for (const auto& result : append_all(*log, numbered_events(5))) {
        REQUIRE(result.has_value());
      }
    }
    CHECK(verified(backend.source()).ok);
    backend.tamper("UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 3");
    const auto report = verified(backend.source());
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 3);
    CHECK(report.reason.find("hash does not match") != std::string::npos);
  }
}

TEST_SUITE("audit/pg_audit_log") {
  TEST_CASE("two replicas appending from many threads keep one chain: verify passes and no event is lost") {
    PgBackend backend;
    FixedClock clock(kTestNowMs);
    auto a = backend.open(clock);
    auto b = backend.open(clock);
    constexpr int kPerReplica = 400;
    boost::asio::io_context io_a;
    boost::asio::io_context io_b;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots_a;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots_b;
    spawn_appends(io_a, *a, numbered_events(kPerReplica, "a-"), slots_a);
    spawn_appends(io_b, *b, numbered_events(kPerReplica, "b-"), slots_b);
    // Two threads per replica's io_context.
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&io_a] { io_a.run(); });
      threads.emplace_back([&io_b] { io_b.run(); });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    std::set<std::int64_t> seqs;
    for (auto* slots : {&slots_a, &slots_b}) {
      for (const auto& result : unwrap(*slots)) {
        REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().message));
        seqs.insert(*result);
      }
    }
    CHECK(seqs.size() == 2 * kPerReplica);
    const auto report = verified(backend.source());
    CHECK_MESSAGE(report.ok, report.reason);
    CHECK(report.count == 2 * kPerReplica);
    // Every event sent is in the log once.
    std::set<std::string> ids;
    auto all = opsgate::audit::tail(backend.source(), 10 * kPerReplica);
    REQUIRE(all.has_value());
    for (const auto& event : *all) {
      ids.insert(event.request_id);
    }
    CHECK(ids.size() == 2 * kPerReplica);
    CHECK(ids.count("a-0") == 1);
    CHECK(ids.count("b-" + std::to_string(kPerReplica - 1)) == 1);
  }

  TEST_CASE("appends alternating between two replicas continue each other's chain") {
    PgBackend backend;
    FixedClock clock(kTestNowMs);
    auto a = backend.open(clock);
    auto b = backend.open(clock);
    for (int i = 0; i < 6; ++i) {
      auto& log = i % 2 == 0 ? *a : *b;
      auto seq = append_one(log, make_event("turn" + std::to_string(i), "received"));
      REQUIRE(seq.has_value());
      CHECK(*seq == i + 1);
    }
    CHECK(verified(backend.source()).count == 6);
  }

  TEST_CASE("a PostgreSQL database without the audit table is a clear error naming it") {
    const std::string dsn = opsgate::test::PostgresCluster::shared().fresh_database();
    auto report = opsgate::audit::verify(AuditSource::postgres(dsn));
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().message.find("no audit_events table") != std::string::npos);
  }
}
