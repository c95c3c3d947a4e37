// The database probe behind /readyz: each probe is reported, a change of
// state is logged once, and a probe that throws counts as unreachable.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "src/app/database_health.hpp"

TEST_SUITE("app/database_health") {
  TEST_CASE("an unreachable database fails readiness until it answers again") {
    std::vector<opsgate::Result<void>> answers;
    answers.push_back({});
    answers.push_back(tl::unexpected(opsgate::Error{opsgate::Errc::storage, "connection refused"}));
    answers.push_back(tl::unexpected(opsgate::Error{opsgate::Errc::storage, "connection refused"}));
    answers.push_back({});
    std::size_t next = 0;
    std::vector<std::pair<bool, std::string>> reports;
    opsgate::app::DatabaseHealth health(
        "db.example:5432/opsgate", [&] { return answers.at(next++); },
        [&](bool ok, std::string detail) { reports.emplace_back(ok, std::move(detail)); }, std::chrono::seconds(5));
    CHECK(health.check_now());
    CHECK_FALSE(health.check_now());
    CHECK_FALSE(health.ok());
    CHECK_FALSE(health.check_now());
    CHECK(health.check_now());
    CHECK(health.ok());
    REQUIRE(reports.size() == 4);
    CHECK(reports[0] == std::pair<bool, std::string>{true, "db.example:5432/opsgate"});
    CHECK(reports[1] == std::pair<bool, std::string>{false, "connection refused"});
    CHECK(reports[3].first);
  }

  TEST_CASE("a probe that throws counts as unreachable") {
    bool reported_ok = true;
    opsgate::app::DatabaseHealth health(
        "db", []() -> opsgate::Result<void> { throw std::runtime_error("broken pipe"); },
        [&](bool ok, std::string) { reported_ok = ok; }, std::chrono::seconds(5));
    CHECK_FALSE(health.check_now());
    CHECK_FALSE(reported_ok);
  }
}
