#include <doctest/doctest.h>

#include "src/core/rfc3339.hpp"
#include "src/core/time_zone.hpp"

#include <chrono>

using namespace std::chrono;
using opsgate::TimeZone;

namespace {

seconds offset(const TimeZone& zone, std::int64_t unix_s) { return zone.offset_at(sys_seconds{seconds{unix_s}}); }
std::string shown(const TimeZone& zone, std::int64_t unix_s) { return zone.format(system_clock::time_point{seconds{unix_s}}); }

}  // namespace

TEST_SUITE("core/time_zone") {
  TEST_CASE("Europe/Berlin changes offset at 01:00 UTC on the last Sundays of March and October") {
    const auto berlin = TimeZone::load("Europe/Berlin");
    REQUIRE(berlin);
    CHECK(berlin->name() == "Europe/Berlin");
    CHECK(offset(*berlin, 1774745999) == hours{1});  // 2026-03-29 00:59:59 UTC: CET
    CHECK(offset(*berlin, 1774746000) == hours{2});  // 01:00:00 UTC: CEST
    CHECK(shown(*berlin, 1774745999) == "2026-03-29 01:59:59");
    CHECK(shown(*berlin, 1774746000) == "2026-03-29 03:00:00");  // 02:00-03:00 local does not exist
    CHECK(offset(*berlin, 1792889999) == hours{2});  // 2026-10-25 00:59:59 UTC: CEST
    CHECK(offset(*berlin, 1792890000) == hours{1});  // 01:00:00 UTC: CET
    CHECK(shown(*berlin, 1792889999) == "2026-10-25 02:59:59");
    CHECK(shown(*berlin, 1792890000) == "2026-10-25 02:00:00");  // 02:00-03:00 local happens twice
  }

  TEST_CASE("America/New_York changes offset on the second Sunday of March and the first of November") {
    const auto york = TimeZone::load("America/New_York");
    REQUIRE(york);
    CHECK(offset(*york, 1772953199) == hours{-5});  // 2026-03-08 06:59:59 UTC: EST
    CHECK(offset(*york, 1772953200) == hours{-4});  // 07:00:00 UTC: EDT
    CHECK(shown(*york, 1772953200) == "2026-03-08 03:00:00");
    CHECK(offset(*york, 1793512799) == hours{-4});  // 2026-11-01 05:59:59 UTC: EDT
    CHECK(offset(*york, 1793512800) == hours{-5});  // 06:00:00 UTC: EST
    CHECK(shown(*york, 1793512800) == "2026-11-01 01:00:00");
  }

  TEST_CASE("after the zone file's last transition its POSIX rule applies (2037, 2100)") {
    const auto york = TimeZone::load("America/New_York");
    REQUIRE(york);
    CHECK(offset(*york, 2130062400) == hours{-4});  // 2037-07-01 12:00 UTC: EDT
    CHECK(offset(*york, 2114424000) == hours{-5});  // 2037-01-01 12:00 UTC: EST
    CHECK(offset(*york, 4118126400) == hours{-4});  // 2100-07-01: EDT
    CHECK(offset(*york, 4102488000) == hours{-5});  // 2100-01-01: EST
  }

  TEST_CASE("UTC and fixed offsets need no database") {
    CHECK(TimeZone().name() == "UTC");
    CHECK(offset(TimeZone(), 1774746000) == seconds{0});
    CHECK(TimeZone::load("utc")->name() == "UTC");
    CHECK(offset(*TimeZone::load("+05:30"), 0) == minutes{330});
    CHECK(offset(*TimeZone::load("-0800"), 0) == hours{-8});
    CHECK_FALSE(TimeZone::load("+19:00"));
  }

  TEST_CASE("an unknown or malformed zone is an error that says what to write") {
    const auto mars = TimeZone::load("Mars/Olympus");
    REQUIRE_FALSE(mars);
    CHECK(mars.error().message.find("'Mars/Olympus'") != std::string::npos);
    CHECK(mars.error().message.find("Europe/Berlin") != std::string::npos);
    const auto path = TimeZone::load("../../etc/passwd");
    REQUIRE_FALSE(path);
    CHECK(path.error().message.find("is not a time zone") != std::string::npos);
  }
}

TEST_SUITE("core/rfc3339") {
  TEST_CASE("offsets, fractions and separators") {
    CHECK(opsgate::parse_rfc3339_s("2026-11-24T20:18:20Z") == 1795551500);
    CHECK(opsgate::parse_rfc3339_s("2026-11-24t20:18:20.568674523z") == 1795551500);
    CHECK(opsgate::parse_rfc3339_s("2026-11-24T21:18:20+01:00") == 1795551500);
    CHECK(opsgate::parse_rfc3339_s("2026-11-24 15:18:20-0500") == 1795551500);
    CHECK(opsgate::parse_rfc3339_ns("2026-11-24T20:18:20.5Z") == 1795551500500000000);
    CHECK(opsgate::parse_rfc3339_ns("2026-11-24T20:18:20,123456789999Z") == 1795551500123456789);
    CHECK(opsgate::parse_rfc3339_s("1970-01-01T00:00:00Z") == 0);
    CHECK(opsgate::parse_rfc3339_s("2016-12-31T23:59:60Z") == 1483228800);  // a leap second
  }

  TEST_CASE("malformed, impossible and out-of-range times are refused") {
    CHECK_FALSE(opsgate::parse_rfc3339_s(""));
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-11-24 nonsense"));
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-02-30T00:00:00Z"));
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-11-24T24:00:00Z"));
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-11-24T20:18:20"));         // no zone
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-11-24T20:18Z"));           // no seconds
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-11-24T20:18:20.Z"));       // empty fraction
    CHECK_FALSE(opsgate::parse_rfc3339_s("2026-11-24T20:18:20+01:00x"));  // trailing text
    // Prometheus's zero time fits in seconds but not in 64-bit nanoseconds.
    CHECK(opsgate::parse_rfc3339_s("0001-01-01T00:00:00Z") == -62135596800);
    CHECK_FALSE(opsgate::parse_rfc3339_ns("0001-01-01T00:00:00Z"));
  }

  TEST_CASE("options for log lines and for people typing") {
    CHECK(opsgate::parse_rfc3339_ns("2026-11-24 20:18:20.5", {.zone_optional = true}) == 1795551500500000000);
    CHECK(opsgate::parse_rfc3339_s("2026-11-24T21:18+01:00", {.seconds_optional = true}) == 1795551480);
  }

  TEST_CASE("formatting") {
    CHECK(opsgate::format_rfc3339_utc(1795548637967654989) == "2026-11-24T19:30:37.967654989Z");
    CHECK(opsgate::format_rfc3339_utc(1795548637500000000) == "2026-11-24T19:30:37.5Z");
    CHECK(opsgate::format_rfc3339_utc(-1) == "1969-12-31T23:59:59.999999999Z");
    CHECK(opsgate::format_rfc3339_utc(sys_seconds{seconds{1795548637}}) == "2026-11-24T19:30:37Z");
    const auto back = opsgate::parse_rfc3339_ns(opsgate::format_rfc3339_utc(1795548637967654989));
    CHECK(back == 1795548637967654989);
  }
}
