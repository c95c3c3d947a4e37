#include <chrono>
#include <string>

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/action_request.hpp"
#include "src/intent/llm_accounting.hpp"
#include "src/store/sqlite_llm_usage.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/audit/audit_test_support.hpp"

using namespace opsgate;
using opsgate::audit::test::FixedClock;
using opsgate::audit::test::TempDir;

namespace {

using Time = std::chrono::system_clock::time_point;
const Time kNoon = Time(std::chrono::milliseconds(1795608000000));  // 2026-11-25T12:00:00Z
const Time kYesterday = kNoon - std::chrono::hours(24);

intent::LlmConfig budgets() {
  intent::LlmConfig config;
  config.teams.push_back(intent::LlmTeam{"shop", {"shell:alice"}, 1.0});
  config.teams.push_back(intent::LlmTeam{"ops", {"shell:bob"}, 1.0});
  return config;
}

LlmCall call(double cost) {
  LlmCall c;
  c.connection = "main";
  c.provider = "openai";
  c.model = "gpt-test";
  c.tokens_in = 400;
  c.tokens_out = 20;
  c.latency_ms = 812;
  c.cost_usd = cost;
  c.error = "http_500";
  return c;
}

std::shared_ptr<store::SqliteStore> open_store(const std::string& path) {
  auto opened = store::SqliteStore::open(path);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
  return *opened;
}

}  // namespace

TEST_SUITE("store/llm_usage") {
  TEST_CASE("a restart charges today's spend to the team that made the call, even when degraded text names another") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    FixedClock clock(std::chrono::duration_cast<std::chrono::milliseconds>(kNoon.time_since_epoch()).count());
    {
      auto database = open_store(path);
      store::SqliteLlmUsageLog usage(database);
      intent::LlmAccounting accounting(budgets(), nullptr);
      accounting.attach_usage_log(&usage);
      accounting.record(call(0.40), "shop", "none", kNoon);
      accounting.record(call(0.25), "shop", "restart", kNoon);
      accounting.record(call(9.00), "shop", "none", kYesterday);  // another day: not today's budget

      // The `parsed` audit event still says, for people, what happened; its
      // free text (a degraded reason with " team=" in it) is never read back.
      ParseResult parsed = ParseResult::none("llm");
      parsed.llm = call(0.40);
      parsed.degraded = "http_500 team=ops";
      parsed.team = "shop";
      auto log = audit::SqliteAuditLog::attach(database, clock);
      REQUIRE(log.has_value());
      auto event = audit::test::make_event("r-1", "parsed");
      event.detail = parse_audit_detail(parsed);
      REQUIRE(event.detail.find("degraded=http_500 team=ops team=shop") != std::string::npos);
      REQUIRE(audit::test::append_one(**log, event).has_value());
      (*log)->close();
      database->close();
    }
    // Restart.
    auto database = open_store(path);
    store::SqliteLlmUsageLog usage(database);
    intent::LlmAccounting accounting(budgets(), nullptr);
    accounting.attach_usage_log(&usage);
    REQUIRE(accounting.seed_from_usage_log(kNoon + std::chrono::hours(1)).has_value());
    const Time later = kNoon + std::chrono::hours(1);
    CHECK(accounting.spent_today("shop", later) == doctest::Approx(0.65));
    CHECK(accounting.spent_today("ops", later) == 0.0);
  }

  TEST_CASE("each call is one row of real columns") {
    TempDir dir;
    const std::string path = dir.file("opsgate.db");
    {
      auto database = open_store(path);
      store::SqliteLlmUsageLog usage(database);
      intent::LlmAccounting accounting(budgets(), nullptr);
      accounting.attach_usage_log(&usage);
      LlmCall unknown_tokens = call(0.0);
      unknown_tokens.tokens_out = -1;
      accounting.record(unknown_tokens, "ops", "alerts.list", kNoon);
      database->close();  // drains the queued row
    }
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    SQLite::Statement row(db,
                          "SELECT ts_ms, team, action, model, tokens_in, tokens_out, cost_usd, error FROM llm_usage");
    REQUIRE(row.executeStep());
    CHECK(row.getColumn(0).getInt64() == 1795608000000);
    CHECK(row.getColumn(1).getString() == "ops");
    CHECK(row.getColumn(2).getString() == "alerts.list");
    CHECK(row.getColumn(3).getString() == "gpt-test");
    CHECK(row.getColumn(4).getInt64() == 400);
    CHECK(row.getColumn(5).isNull());  // unknown, not zero
    CHECK(row.getColumn(6).getDouble() == 0.0);
    CHECK(row.getColumn(7).getString() == "http_500");
    CHECK_FALSE(row.executeStep());
  }
}
