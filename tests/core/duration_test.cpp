#include <doctest/doctest.h>

#include "src/core/duration.hpp"

using opsgate::format_duration;
using opsgate::parse_duration_seconds;

TEST_SUITE("core/duration") {
  TEST_CASE("units and compound durations become seconds") {
    CHECK(parse_duration_seconds("30m") == 1800);
    CHECK(parse_duration_seconds("2h") == 7200);
    CHECK(parse_duration_seconds("1d") == 86400);
    CHECK(parse_duration_seconds("1h30m") == 5400);
    CHECK(parse_duration_seconds("45S") == 45);
  }
  TEST_CASE("malformed, zero and huge durations are refused") {
    CHECK_FALSE(parse_duration_seconds(""));
    CHECK_FALSE(parse_duration_seconds("m"));
    CHECK_FALSE(parse_duration_seconds("30"));
    CHECK_FALSE(parse_duration_seconds("0m"));
    CHECK_FALSE(parse_duration_seconds("5y"));
    CHECK_FALSE(parse_duration_seconds("99999999999d"));
    CHECK_FALSE(parse_duration_seconds("1h 30m"));
  }
  TEST_CASE("formatting round-trips") {
    CHECK(format_duration(5400) == "1h30m");
    CHECK(format_duration(86400) == "1d");
    CHECK(format_duration(45) == "45s");
  }
}
