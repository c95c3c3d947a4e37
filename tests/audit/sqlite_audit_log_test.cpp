#include <algorithm>
#include <chrono>
#include <future>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/audit/audit_test_support.hpp"

using opsgate::Errc;
using opsgate::audit::AuditLogOptions;
using opsgate::audit::SqliteAuditLog;
using namespace opsgate::audit::test;

namespace {

std::unique_ptr<SqliteAuditLog> open_log(const std::string& path, const opsgate::Clock& clock,
                                         AuditLogOptions options = {}) {
  auto log = SqliteAuditLog::open(path, clock, options);
  REQUIRE_MESSAGE(log.has_value(), (log ? std::string() : log.error().message));
  return std::move(*log);
}

std::vector<opsgate::AuditEvent> numbered_events(int n) {
  std::vector<opsgate::AuditEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(make_event("req" + std::to_string(i), "received", {{"target", "cart"}, {"i", i}}));
  }
  return events;
}

// One append_all() of `events` (one unit); its result lands in `out`.
boost::asio::awaitable<void> append_unit(opsgate::AuditLog* log, std::vector<opsgate::AuditEvent> events,
                                         std::optional<opsgate::Result<std::int64_t>>* out) {
  std::function<void()> nobody;
  opsgate::Result<std::int64_t> result = co_await log->append_all(std::move(events), std::move(nobody));
  *out = std::move(result);
}

// `n` events of request `id`; the one at `refused` (if any) carries the
// detail the test trigger refuses.
std::vector<opsgate::AuditEvent> unit_events(const std::string& id, int n, int refused = -1) {
  std::vector<opsgate::AuditEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(make_event(id, "step" + std::to_string(i), {}, i == refused ? "boom" : ""));
  }
  return events;
}

}  // namespace

TEST_SUITE("audit/sqlite_audit_log") {
  TEST_CASE("a row refused inside a unit undoes that unit's rows only, whether it takes one INSERT or several") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    exec_sql(path, "CREATE TRIGGER boom BEFORE INSERT ON audit_events WHEN NEW.detail = 'boom' "
                   "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
    static_assert(SqliteAuditLog::kRowsPerInsert == 8, "the units below straddle one INSERT's rows");
    // Hold the writer at BEGIN so the units below share its next batch.
    SQLite::Database blocker = hold_write_lock(path);
    boost::asio::io_context io;
    struct Case {
      std::string id;
      int rows;
      int refused;
    };
    const std::vector<Case> cases{{"first", 1, -1},  {"whole", 3, -1},    {"one-insert", 5, 2}, {"after", 8, -1},
                                  {"several", 19, 17}, {"eight-plus", 9, 8}, {"long", 20, -1},   {"last", 4, -1}};
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots(cases.size());
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      boost::asio::co_spawn(io, append_unit(log.get(), unit_events(cases[i].id, cases[i].rows, cases[i].refused), &slots[i]),
                            rethrow_if_failed);
      io.poll();  // queued in this order
      if (cases[i].refused < 0) {
        expected.insert(expected.end(), static_cast<std::size_t>(cases[i].rows), cases[i].id);
      }
    }
    blocker.exec("COMMIT");
    io.run();
    const auto results = unwrap(slots);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(cases[i].id);
      CHECK(results[i].has_value() == (cases[i].refused < 0));
    }
    log->close();
    CHECK(stored_column(path, "request_id") == expected);
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
    CHECK(report->count == static_cast<std::int64_t>(expected.size()));
  }

  TEST_CASE("events are chained: genesis zeros, then each prev_hash is the previous hash") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    auto log = open_log(dir.file("audit.db"), clock);
    for (int i = 0; i < 5; ++i) {
      auto seq = append_one(*log, make_event("r" + std::to_string(i), "received", {{"n", i}}));
      REQUIRE(seq.has_value());
      CHECK(*seq == i + 1);
    }
    auto events = opsgate::audit::tail(log->path(), 100);
    REQUIRE(events.has_value());
    REQUIRE(events->size() == 5);
    CHECK((*events)[0].prev_hash == std::string(64, '0'));
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto& event = (*events)[i];
      CHECK(event.seq == static_cast<std::int64_t>(i) + 1);
      CHECK(event.hash.size() == 64);
      CHECK(event.hash == opsgate::crypto::sha256_hex(event.prev_hash + opsgate::canonical_audit_text(event)));
      if (i > 0) {
        CHECK(event.prev_hash == (*events)[i - 1].hash);
      }
    }
  }

  TEST_CASE("ts_ms comes from the clock when zero and is kept otherwise") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    auto log = open_log(dir.file("audit.db"), clock);
    auto given = make_event("r1", "received");
    given.ts_ms = 1234;
    REQUIRE(append_one(*log, make_event("r0", "received")).has_value());
    REQUIRE(append_one(*log, given).has_value());
    auto events = opsgate::audit::tail(log->path(), 10);
    REQUIRE(events.has_value());
    REQUIRE(events->size() == 2);
    CHECK((*events)[0].ts_ms == kTestNowMs);
    CHECK((*events)[1].ts_ms == 1234);
  }

  TEST_CASE("open creates missing parent directories and sets WAL, FULL sync and the schema") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("a/b/c/audit.db");
    auto log = open_log(path, clock);
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(db.execAndGet("SELECT value FROM meta WHERE key = 'audit_schema_version'").getString() == "1");
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")
              .getInt() == 2);
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'audit_events_request_id'")
              .getInt() == 1);
  }

  TEST_CASE("200 concurrent appends get seqs 1..200 in far fewer commits") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);

    // Holding the write lock from another connection keeps the writer in its
    // first BEGIN IMMEDIATE while every coroutine queues its event, so the
    // batching does not depend on thread timing.
    SQLite::Database blocker = hold_write_lock(path);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(200), slots);
    io.poll();
    CHECK(std::none_of(slots.begin(), slots.end(), [](const auto& slot) { return slot.has_value(); }));
    blocker.exec("COMMIT");
    io.run();

    auto results = unwrap(slots);
    std::set<std::int64_t> seqs;
    for (const auto& result : results) {
      REQUIRE(result.has_value());
      seqs.insert(*result);
    }
    CHECK(seqs.size() == 200);
    CHECK(*seqs.begin() == 1);
    CHECK(*seqs.rbegin() == 200);
    CHECK(log->commits() < 200);
    CHECK(log->commits() <= 2);  // the first event alone, then the other 199 together
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
    CHECK(report->count == 200);
  }

  TEST_CASE("appends that finish while their io_context is busy are resumed by one handler, not one each") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    SQLite::Database blocker = hold_write_lock(path);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(200), slots);
    io.poll();  // every append queued, every coroutine suspended
    blocker.exec("COMMIT");
    // Returns once the writer has finished (and completed) every unit; the
    // io_context has not run since, as if it had been busy all along.
    log->close();
    const std::size_t handlers = io.run();
    for (const auto& result : unwrap(slots)) {
      CHECK(result.has_value());
    }
    MESSAGE("handlers run: " << handlers);
    CHECK(handlers < 10);
  }

  TEST_CASE("a batch never holds more than max_batch events") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock, AuditLogOptions{.max_batch = 16});
    SQLite::Database blocker = hold_write_lock(path);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(100), slots);
    io.poll();
    blocker.exec("COMMIT");
    io.run();
    for (const auto& result : unwrap(slots)) {
      CHECK(result.has_value());
    }
    CHECK(log->commits() >= 7);  // 100 events, at most 16 per commit
  }

  TEST_CASE("appends from an io_context run by two threads all commit in one chain") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(100), slots);
    std::thread second([&io] { io.run(); });
    io.run();
    second.join();
    std::set<std::int64_t> seqs;
    for (const auto& result : unwrap(slots)) {
      REQUIRE(result.has_value());
      seqs.insert(*result);
    }
    CHECK(seqs.size() == 100);
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
  }

  TEST_CASE("a completed append is visible to a fresh connection") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    auto seq = append_one(*log, make_event("durable-1", "started", {{"target", "cart"}}, "about to restart"));
    REQUIRE(seq.has_value());
    SQLite::Database reader(path, SQLite::OPEN_READONLY);
    SQLite::Statement stmt(reader, "SELECT request_id, detail FROM audit_events WHERE seq = ?");
    stmt.bind(1, *seq);
    REQUIRE(stmt.executeStep());
    CHECK(stmt.getColumn(0).getString() == "durable-1");
    CHECK(stmt.getColumn(1).getString() == "about to restart");
  }

  TEST_CASE("reopening continues the chain") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    {
      auto log = open_log(path, clock);
      for (const auto& result : append_all(*log, numbered_events(3))) {
        REQUIRE(result.has_value());
      }
    }
    auto log = open_log(path, clock);
    auto fourth = append_one(*log, make_event("after-restart", "received"));
    REQUIRE(fourth.has_value());
    CHECK(*fourth == 4);
    auto fifth = append_one(*log, make_event("after-restart", "parsed"));
    REQUIRE(fifth.has_value());
    CHECK(*fifth == 5);
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
    CHECK(report->count == 5);
  }

  TEST_CASE("a failed commit fails the whole batch, leaves the chain intact and the next append succeeds") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);

    SQLite::Database blocker = hold_write_lock(path);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(6), slots);
    io.poll();
    // The writer holds the first event; the other five wait as one batch.
    log->fail_next_commits_for_test(2);
    blocker.exec("COMMIT");
    io.run();
    for (const auto& result : unwrap(slots)) {
      REQUIRE_FALSE(result.has_value());
      CHECK(result.error().code == Errc::storage);
      CHECK(result.error().message.find(path) != std::string::npos);
    }
    log->fail_next_commits_for_test(0);
    CHECK(log->commits() == 0);

    auto next = append_one(*log, make_event("after-failure", "received"));
    REQUIRE(next.has_value());
    CHECK(*next == 1);
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
    CHECK(report->count == 1);
  }

  TEST_CASE("append_later events that follow each other join one unit yet stay behind earlier appends, in order") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);

    // Hold the writer at BEGIN so everything below queues behind it.
    SQLite::Database blocker = hold_write_lock(path);
    std::vector<std::string> expected;
    auto later = [&](int i) {
      const std::string id = "later-" + std::to_string(i);
      log->append_later(make_event(id, "replied"));
      expected.push_back(id);
    };
    for (int i = 0; i < 3; ++i) {
      later(i);
    }
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, {make_event("unit", "received")}, slots);
    io.poll();  // queued: the later events below go behind it, not into the unit before it
    expected.push_back("unit");
    for (int i = 3; i < 303; ++i) {  // more than one merged unit holds
      later(i);
    }
    blocker.exec("COMMIT");
    io.run();
    REQUIRE(unwrap(slots).front().has_value());
    log->close();

    CHECK(stored_column(path, "request_id") == expected);
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
    CHECK(report->count == 304);
  }

  TEST_CASE("an append refused as overloaded while the writer is inside a batch leaves the writer's chain alone") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    opsgate::store::StoreOptions options;
    options.max_queued = 2;
    auto store = opsgate::store::SqliteStore::open(path, options);
    REQUIRE(store.has_value());
    auto attached = SqliteAuditLog::attach(*store, clock);
    REQUIRE(attached.has_value());
    auto& log = **attached;

    // A job of the store's writer that waits, inside the batch's transaction,
    // until the test lets it go; `entered` says it got there.
    auto gate = [&](std::promise<void>& entered, std::shared_future<void> go) {
      opsgate::store::WriteJob job;
      job.work = [&entered, go](SQLite::Database&) {
        entered.set_value();
        // Bounded: a broken test fails on the checks below, it does not hang.
        (void)go.wait_for(std::chrono::seconds(30));
        return true;
      };
      return job;
    };
    std::promise<void> first_in, second_in, first_go, second_go;
    REQUIRE((*store)->submit(gate(first_in, first_go.get_future().share())));
    REQUIRE(first_in.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);

    // Queued behind the first gate, so the writer takes them as one batch:
    // event A is written, then the second gate holds the transaction open.
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> a;
    spawn_appends(io, log, {make_event("a", "received")}, a);
    io.poll();
    REQUIRE((*store)->submit(gate(second_in, second_go.get_future().share())));
    first_go.set_value();
    REQUIRE(second_in.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);

    // B and a filler fill the queue (max_queued 2); C is refused as overloaded.
    std::vector<std::optional<opsgate::Result<std::int64_t>>> b;
    spawn_appends(io, log, {make_event("b", "received")}, b);
    io.poll();
    opsgate::store::WriteJob filler;
    filler.work = [](SQLite::Database&) { return true; };
    REQUIRE((*store)->submit(std::move(filler)));
    log.append_later(make_event("c", "replied"));  // refused: logged, not recorded

    second_go.set_value();
    io.run();
    auto results_a = unwrap(a);
    auto results_b = unwrap(b);
    REQUIRE(results_a.front().has_value());
    REQUIRE_MESSAGE(results_b.front().has_value(), results_b.front().error().message);
    CHECK(*results_a.front() == 1);
    CHECK(*results_b.front() == 2);
    log.close();
    (*store)->close();
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
    CHECK(report->count == 2);
  }

  TEST_CASE("a write lock held too long fails the append with a storage error naming the file") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock, AuditLogOptions{.busy_timeout_ms = 50});
    {
      SQLite::Database blocker = hold_write_lock(path);
      auto refused = append_one(*log, make_event("locked", "received"));
      REQUIRE_FALSE(refused.has_value());
      CHECK(refused.error().code == Errc::storage);
      CHECK(refused.error().message.find(path) != std::string::npos);
      CHECK(refused.error().message.find("locked") != std::string::npos);
    }
    auto next = append_one(*log, make_event("unlocked", "received"));
    REQUIRE(next.has_value());
    CHECK(*next == 1);
  }

  TEST_CASE("close drains queued appends, later appends are refused") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    boost::asio::io_context io;
    std::vector<std::optional<opsgate::Result<std::int64_t>>> slots;
    spawn_appends(io, *log, numbered_events(50), slots);
    io.poll();  // every event is queued; none can have completed on this thread yet
    log->close();
    io.run();
    for (const auto& result : unwrap(slots)) {
      CHECK(result.has_value());
    }

    auto late = append_one(*log, make_event("late", "received"));
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error().code == Errc::storage);
    CHECK(late.error().message.find("audit log is closed") != std::string::npos);
    log->close();  // idempotent
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->count == 50);
  }

  TEST_CASE("open under a regular file fails with an error naming the path") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    std::ofstream(dir.file("not-a-dir")) << "a regular file";
    const std::string path = dir.file("not-a-dir/sub/audit.db");
    auto log = SqliteAuditLog::open(path, clock);
    REQUIRE_FALSE(log.has_value());
    CHECK(log.error().code == Errc::storage);
    CHECK(log.error().message.find(path) != std::string::npos);
  }

  TEST_CASE("open refuses an empty path and a zero batch size") {
    FixedClock clock(kTestNowMs);
    auto empty = SqliteAuditLog::open("", clock);
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().code == Errc::invalid_input);
    TempDir dir;
    auto zero = SqliteAuditLog::open(dir.file("audit.db"), clock, AuditLogOptions{.max_batch = 0});
    REQUIRE_FALSE(zero.has_value());
    CHECK(zero.error().code == Errc::invalid_input);
  }

  TEST_CASE("a row removed behind the writer's back makes the next append fail instead of forking the chain") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    for (const auto& result : append_all(*log, numbered_events(3))) {
      REQUIRE(result.has_value());
    }
    exec_sql(path, "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 3;");
    auto next = append_one(*log, make_event("after-truncation", "received"));
    REQUIRE_FALSE(next.has_value());
    CHECK(next.error().code == Errc::storage);
    CHECK(next.error().message.find("changed by another writer") != std::string::npos);
  }

  TEST_CASE("invalid UTF-8 in detail and params is stored without throwing and verifies") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("audit.db");
    auto log = open_log(path, clock);
    auto event = make_event("utf8\xff", "received", {{"target", "ca\xc3"}, {"text", "\xfe\xff"}}, "bad \xff\xfe bytes");
    auto seq = append_one(*log, event);
    REQUIRE(seq.has_value());
    REQUIRE(append_one(*log, make_event("next", "received")).has_value());

    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK_MESSAGE(report->ok, report->reason);
    CHECK(report->count == 2);
    auto stored = opsgate::audit::by_seq(path, *seq);
    REQUIRE(stored.has_value());
    CHECK(stored->detail == "bad \xff\xfe bytes");  // the raw bytes are kept
    CHECK(stored->params["target"] == "ca\xef\xbf\xbd");  // replaced by U+FFFD before hashing
  }
}
