// The on-disk hash chain, pinned. The expected hashes below were computed
// once outside opsgate, with nothing but a shell:
//
//   G=0000000000000000000000000000000000000000000000000000000000000000
//   t1='{"action":"","channel":"term",...,"seq":1,"ts_ms":1700000000000}'
//   printf '%s%s' "$G" "$t1" | sha256sum        # -> kHash1, and so on
//
// (the full texts are kText1..3). Any change to what is hashed, how it is
// serialised, or what is stored fails here: that is a change of the file
// format, and old logs would no longer verify.

#include <string>

#include <doctest/doctest.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "tests/audit/audit_test_support.hpp"

using namespace opsgate::audit::test;

namespace {

constexpr const char* kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

constexpr const char* kText1 =
    R"({"action":"","channel":"term","detail":"restart cart in prod","kind":"received","outcome":"ok","params":{},)"
    R"("platform":"shell","principal":"shell:alice","request_id":"r-1","seq":1,"ts_ms":1700000000000})";
constexpr const char* kText2 =
    R"({"action":"restart","channel":"term","detail":"parser=command confidence=1.00","kind":"parsed",)"
    R"("outcome":"request","params":{"env":"prod","target":"cart"},"platform":"shell","principal":"shell:alice",)"
    R"("request_id":"r-1","seq":2,"ts_ms":1700000000001})";
constexpr const char* kText3 =
    R"({"action":"restart","channel":"term","detail":"say \"hi\" — naïve\\ok","kind":"started","outcome":"ok",)"
    R"("params":{"env":"prod","replicas":3,"target":"cart"},"platform":"shell","principal":"shell:alice",)"
    R"("request_id":"r-1","seq":3,"ts_ms":1700000000002})";

constexpr const char* kHash1 = "575dcf4e0ab57ae7f0af86602964e6c1ae311fdb23c656cfac46cc68aa04c6a8";
constexpr const char* kHash2 = "cc5e114519b45197aa2224d6800a76a377973a3219b0eef70dcf809f3071a1d3";
constexpr const char* kHash3 = "4cc0347fe1532d5f43b588fde6481e10c0efae3335322647be50c5f957ed1523";

opsgate::AuditEvent event(std::int64_t ts_ms, std::string kind, std::string action, nlohmann::json params,
                          std::string outcome, std::string detail) {
  opsgate::AuditEvent e;
  e.ts_ms = ts_ms;
  e.request_id = "r-1";
  e.kind = std::move(kind);
  e.platform = "shell";
  e.channel = "term";
  e.principal = "shell:alice";
  e.action = std::move(action);
  e.params = std::move(params);
  e.outcome = std::move(outcome);
  e.detail = std::move(detail);
  return e;
}

}  // namespace

TEST_SUITE("audit/hash_chain_golden") {
  TEST_CASE("three fixed events are stored with the hashes computed by sha256sum in a shell") {
    TempDir dir;
    FixedClock clock(kTestNowMs);
    const std::string path = dir.file("golden.db");
    {
      auto log = opsgate::audit::SqliteAuditLog::open(path, clock);
      REQUIRE_MESSAGE(log.has_value(), (log ? std::string() : log.error().message));
      REQUIRE(append_one(**log, event(1700000000000, "received", "", nlohmann::json::object(), "ok",
                                      "restart cart in prod")) == 1);
      REQUIRE(append_one(**log, event(1700000000001, "parsed", "restart", {{"target", "cart"}, {"env", "prod"}},
                                      "request", "parser=command confidence=1.00")) == 2);
      REQUIRE(append_one(**log, event(1700000000002, "started", "restart",
                                      {{"target", "cart"}, {"replicas", 3}, {"env", "prod"}}, "ok",
                                      "say \"hi\" \xE2\x80\x94 na\xC3\xAFve\\ok")) == 3);
    }
    // Read the file with plain SQL: the columns as stored, not as opsgate parses them.
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    SQLite::Statement rows(db, "SELECT seq, params, prev_hash, hash FROM audit_events ORDER BY seq");
    const char* prev[] = {kGenesis, kHash1, kHash2};
    const char* hashes[] = {kHash1, kHash2, kHash3};
    const char* params[] = {"{}", R"({"env":"prod","target":"cart"})", R"({"env":"prod","replicas":3,"target":"cart"})"};
    int n = 0;
    while (rows.executeStep()) {
      REQUIRE(n < 3);
      CHECK(rows.getColumn(0).getInt64() == n + 1);
      CHECK(rows.getColumn(1).getString() == params[n]);
      CHECK(rows.getColumn(2).getString() == prev[n]);
      CHECK(rows.getColumn(3).getString() == hashes[n]);
      ++n;
    }
    CHECK(n == 3);
    auto report = opsgate::audit::verify(path);
    REQUIRE(report.has_value());
    CHECK(report->ok);
  }

  TEST_CASE("the canonical text of each golden event is the text that was hashed in the shell") {
    auto e1 = event(1700000000000, "received", "", nlohmann::json::object(), "ok", "restart cart in prod");
    e1.seq = 1;
    auto e3 = event(1700000000002, "started", "restart", {{"target", "cart"}, {"replicas", 3}, {"env", "prod"}}, "ok",
                    "say \"hi\" \xE2\x80\x94 na\xC3\xAFve\\ok");
    e3.seq = 3;
    CHECK(opsgate::canonical_audit_text(e1) == kText1);
    CHECK(opsgate::canonical_audit_text(e3) == kText3);
    CHECK(std::string(kText2).find("\"seq\":2") != std::string::npos);
  }
}
