#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include "src/approval/sqlite_approval_store.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/replay_store.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/gates/gate_store.hpp"
#include "src/store/schema.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/audit/audit_test_support.hpp"

using namespace opsgate;
using opsgate::audit::test::FixedClock;
using opsgate::audit::test::TempDir;

namespace {

// A file as the code before the store left it: every module's tables, a few rows.
std::string make_old_database(const TempDir& dir) {
  std::ifstream in(std::string(OPSGATE_SOURCE_DIR) + "/tests/store/data/before_store.sql");
  REQUIRE(in.good());
  std::stringstream sql;
  sql << in.rdbuf();
  const std::string path = dir.file("opsgate.db");
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec(sql.str());
  REQUIRE(db.execAndGet("PRAGMA user_version").getInt() == 0);
  return path;
}

std::shared_ptr<store::SqliteStore> open_store(const std::string& path) {
  auto opened = store::SqliteStore::open(path);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
  return *opened;
}

int user_version(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("PRAGMA user_version").getInt();
}

const auto kAt = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000400));

}  // namespace

TEST_SUITE("store/migration") {
  TEST_CASE("a database made before the store is migrated in place and keeps every row") {
    TempDir dir;
    const std::string path = make_old_database(dir);
    FixedClock clock(1700000001000);
    auto database = open_store(path);
    CHECK(database->opened_at_version() == 0);
    CHECK(user_version(path) == store::kSchemaVersion);

    // The audit chain continues where the old writer left it.
    auto log = audit::SqliteAuditLog::attach(database, clock);
    REQUIRE(log.has_value());
    auto seq = audit::test::append_one(**log, audit::test::make_event("r-9", "received"));
    REQUIRE(seq.has_value());
    CHECK(*seq == 2);
    auto report = audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);

    // The pending approval, its vote and the rate reservation.
    auto approvals = approval::SqliteApprovalStore::open(database);
    REQUIRE(approvals.has_value());
    auto approval = (*approvals)->get_now("ab2de");
    REQUIRE(approval.has_value());
    CHECK(approval->state == "pending");
    CHECK(approval->preview_text == "would restart");
    CHECK(approval->approved_by == std::vector<std::string>{"shell:bob"});
    RateReservation again{"r-4", "alice", "restart", "cart", {}, kAt};
    again.checks.push_back(RateLimitCheck{"one-per-hour", {"restart"}, "subject", {}, 1, std::chrono::hours(1)});
    auto verdict = (*approvals)->reserve_now(again);
    REQUIRE(verdict.has_value());
    CHECK_FALSE(verdict->reserved);  // the old reservation still counts

    // The delivery seen before is still a repeat.
    audit::ReplayStore replays(path, std::chrono::hours(1));
    REQUIRE(replays.open(database).has_value());
    auto first = replays.first_time("slack:Ev0001", kAt);
    REQUIRE(first.has_value());
    CHECK_FALSE(*first);

    // The gate and its outbox row.
    auto gates = gates::GateStore::open(database);
    REQUIRE(gates.has_value());
    auto gate = (*gates)->get_now("gt_000000000001");
    REQUIRE(gate.has_value());
    CHECK(gate->client == "ci");
    auto states = (*gates)->delivery_states_now("gt_000000000001");
    REQUIRE(states.has_value());
    CHECK(states->size() == 1);

    (*log)->close();
    database->close();
    // Opened again: nothing left to migrate, nothing lost.
    auto again_store = open_store(path);
    CHECK(again_store->opened_at_version() == store::kSchemaVersion);
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM audit_events").getInt() == 2);
    CHECK(db.execAndGet("SELECT count(*) FROM llm_usage").getInt() == 0);
    CHECK(db.execAndGet("SELECT last_ms || '/' || fired || '/' || resolved FROM alert_threads").getString() ==
          "1700000000000/1/0");
  }

  TEST_CASE("a database from a newer opsgate is refused with the versions named") {
    TempDir dir;
    const std::string path = dir.file("new.db");
    SQLite::Database(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("PRAGMA user_version = 99");
    auto opened = store::SqliteStore::open(path);
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().message.find("schema version 99") != std::string::npos);
    CHECK(opened.error().message.find(path) != std::string::npos);
    CHECK(user_version(path) == 99);  // left as it was
  }
}
