#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "actions/loki/log_line.hpp"
#include "actions/loki/logql.hpp"
#include "actions/loki/loki_response.hpp"
#include "src/core/time_zone.hpp"
#include "tests/support/loki_stand_in.hpp"

namespace {

using namespace std::chrono;
using nlohmann::json;
using opsgate::actions::loki::build_level_count_query;
using opsgate::actions::loki::build_lines_query;
using opsgate::actions::loki::clean_for_chat;
using opsgate::actions::loki::error_text;
using opsgate::actions::loki::escape_logql_string;
using opsgate::format_rfc3339_utc;
using opsgate::actions::loki::LevelFilter;
using opsgate::actions::loki::LineFormat;
using opsgate::actions::loki::logfmt_value;
using opsgate::actions::loki::LogqlSearch;
using opsgate::actions::loki::normalise_level;
using opsgate::actions::loki::parse_level_counts;
using opsgate::actions::loki::parse_streams;
using opsgate::actions::loki::parse_timestamp_ns;
using opsgate::actions::loki::read_line_fields;
using opsgate::TimeZone;

const std::string kSelector = R"({app="checkout",namespace="shop-prod"})";

sys_seconds utc(int y, unsigned m, unsigned d, int h, int mi) {
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{mi};
}

}  // namespace

TEST_SUITE("actions/loki/logql") {
  TEST_CASE("line filter strings escape backslash, quote and control characters") {
    CHECK(escape_logql_string(R"(a"b\c)") == R"(a\"b\\c)");
    CHECK(escape_logql_string("tab\there\nnl\x01") == R"(tab\there\nnl\x01)");
    CHECK(escape_logql_string("héllo `x`") == "héllo `x`");
  }

  TEST_CASE("queries keep the selector as configured") {
    LogqlSearch search{kSelector, "", "", LevelFilter::label, "level"};
    CHECK(build_lines_query(search) == kSelector);
    search.contains = "timeout";
    CHECK(build_lines_query(search) == kSelector + R"( |= "timeout")");
    search.level = "warn";
    CHECK(build_lines_query(search) == R"({app="checkout",namespace="shop-prod",level="warn"} |= "timeout")");
    search.selector = R"({ app="checkout", })";
    CHECK(build_lines_query(search) == R"({app="checkout",level="warn"} |= "timeout")");
    search.selector = "{}";
    CHECK(build_lines_query(search) == R"({level="warn"} |= "timeout")");
  }

  TEST_CASE("count queries count every level over the range, and none exists for line filters") {
    LogqlSearch search{kSelector, "x", "error", LevelFilter::label, "severity"};
    CHECK(build_level_count_query(search, 3600) ==
          "sum by (severity) (count_over_time(" + kSelector + R"x( |= "x" [3600s])))x");
    search.level_filter = LevelFilter::json;
    CHECK(build_level_count_query(search, 60) ==
          "sum by (severity) (count_over_time(" + kSelector + R"x( |= "x" | json | __error__="" [60s])))x");
    search.level_filter = LevelFilter::line;
    CHECK_FALSE(build_level_count_query(search, 60).has_value());
  }
}

TEST_SUITE("actions/loki/response") {
  TEST_CASE("streams are read from the captured answer and merged newest first") {
    const auto entries = parse_streams(opsgate::test::loki_fixture("query_range_streams.json"), "level", 20);
    REQUIRE(entries);
    REQUIRE(entries->size() == 2);
    CHECK((*entries)[0].unix_ns == 1795548637967654989);
    CHECK((*entries)[0].level == "error");  // from the line: the stream has no level label
    CHECK((*entries)[0].line == "level=error msg=\"payment timeout\" trace=abc");
    CHECK((*entries)[1].unix_ns == 1795548014643476490);

    const auto limited = parse_streams(opsgate::test::loki_fixture("query_range_streams.json"), "level", 1);
    REQUIRE(limited);
    CHECK(limited->size() == 1);
    const auto empty = parse_streams(opsgate::test::loki_fixture("empty.json"), "level", 20);
    REQUIRE(empty);
    CHECK(empty->empty());
  }

  TEST_CASE("counts come from a vector or the last sample of a matrix") {
    const auto matrix = parse_level_counts(opsgate::test::loki_fixture("matrix.json"), "level");
    REQUIRE(matrix);
    CHECK_FALSE(matrix->labelled);
    CHECK(matrix->counts.by_level.at("") == 1);

    const std::string vector =
        R"({"status":"success","data":{"resultType":"vector","result":[)"
        R"({"metric":{"level":"ERROR"},"value":[1795548900,"57"]},{"metric":{},"value":[1795548900,"4"]}]}})";
    const auto counts = parse_level_counts(vector, "level");
    REQUIRE(counts);
    CHECK(counts->labelled);
    CHECK(counts->counts.by_level.at("error") == 57);
    CHECK(counts->counts.by_level.at("") == 4);
  }

  TEST_CASE("error bodies become one bounded, redacted line") {
    CHECK(error_text(opsgate::test::loki_fixture("parse_error.txt")) ==
          "parse error at line 1, col 16: syntax error: unexpected $end, expecting } or ,");
    CHECK(error_text(R"({"error":"denied","token":"x"})") == "denied");
    CHECK(error_text("  \n") == "(empty body)");
    CHECK(error_text(std::string(1000, 'e')).size() == 299 + std::string("…").size());
    const auto status = parse_streams(R"({"status":"error","error":"boom"})", "level", 5);
    REQUIRE_FALSE(status);
    CHECK(status.error().message == "Loki answered with an error: boom");
  }
}

TEST_SUITE("actions/loki/time_zone") {
  TEST_CASE("Europe/Berlin follows daylight saving time, from the file and from its rule") {
    const auto berlin = TimeZone::load("Europe/Berlin");
    REQUIRE_MESSAGE(berlin, (berlin ? "" : berlin.error().message));
    CHECK(berlin->offset_at(utc(2026, 1, 15, 12, 0)) == hours(1));
    CHECK(berlin->offset_at(utc(2026, 7, 15, 12, 0)) == hours(2));
    // DST starts on the last Sunday of March at 01:00 UTC.
    CHECK(berlin->offset_at(utc(2026, 3, 29, 0, 59)) == hours(1));
    CHECK(berlin->offset_at(utc(2026, 3, 29, 1, 0)) == hours(2));
    // Beyond the file's last transition (2037), the POSIX rule decides.
    CHECK(berlin->offset_at(utc(2050, 7, 1, 0, 0)) == hours(2));
    CHECK(berlin->offset_at(utc(2050, 12, 1, 0, 0)) == hours(1));
    CHECK(berlin->offset_at(utc(2050, 10, 30, 0, 59)) == hours(2));
    CHECK(berlin->offset_at(utc(2050, 10, 30, 1, 0)) == hours(1));
    CHECK(berlin->format(system_clock::time_point{seconds{1795548637}}) == "2026-11-24 20:30:37");
  }

  TEST_CASE("southern zones, fixed offsets and UTC") {
    const auto sydney = TimeZone::load("Australia/Sydney");
    REQUIRE(sydney);
    CHECK(sydney->offset_at(utc(2026, 1, 15, 0, 0)) == hours(11));
    CHECK(sydney->offset_at(utc(2026, 7, 15, 0, 0)) == hours(10));
    CHECK(sydney->offset_at(utc(2050, 1, 15, 0, 0)) == hours(11));
    CHECK(sydney->offset_at(utc(2050, 7, 15, 0, 0)) == hours(10));

    const auto india = TimeZone::load("+05:30");
    REQUIRE(india);
    CHECK(india->format(system_clock::time_point{seconds{0}}) == "1970-01-01 05:30:00");
    const auto west = TimeZone::load("-0800");
    REQUIRE(west);
    CHECK(west->offset_at(utc(2026, 1, 1, 0, 0)) == hours(-8));
    CHECK(TimeZone().format(system_clock::time_point{seconds{1795548637}}) == "2026-11-24 19:30:37");
    CHECK(TimeZone::load("UTC")->name() == "UTC");
  }

  TEST_CASE("unknown and malformed zone names are refused") {
    CHECK_FALSE(TimeZone::load("Mars/Olympus"));
    CHECK(TimeZone::load("Mars/Olympus").error().message.find("/usr/share/zoneinfo/Mars/Olympus") != std::string::npos);
    CHECK_FALSE(TimeZone::load("../../etc/passwd"));
    CHECK_FALSE(TimeZone::load("+25:00"));
    CHECK_FALSE(TimeZone::load(""));
  }

  TEST_CASE("data timestamps are RFC 3339 in UTC with only the digits needed") {
    CHECK(format_rfc3339_utc(1795548637967654989) == "2026-11-24T19:30:37.967654989Z");
    CHECK(format_rfc3339_utc(1795548637500000000) == "2026-11-24T19:30:37.5Z");
    CHECK(format_rfc3339_utc(0) == "1970-01-01T00:00:00Z");
  }
}

TEST_SUITE("actions/loki/log_line") {
  TEST_CASE("timestamps in RFC 3339 and unix forms") {
    CHECK(parse_timestamp_ns("2026-11-24T19:30:37Z") == 1795548637LL * 1'000'000'000);
    CHECK(parse_timestamp_ns("2026-11-24T20:30:37.5+01:00") == 1795548637LL * 1'000'000'000 + 500'000'000);
    CHECK(parse_timestamp_ns("2026-11-24 19:30:37.123456789") == 1795548637123456789LL);
    CHECK(parse_timestamp_ns("2026-11-24T14:30:37-0500") == 1795548637LL * 1'000'000'000);
    CHECK(parse_timestamp_ns("1795548637") == 1795548637LL * 1'000'000'000);
    CHECK(parse_timestamp_ns("1795548637123") == 1795548637123LL * 1'000'000);
    CHECK(parse_timestamp_ns("1795548637967654989") == 1795548637967654989LL);
    CHECK(parse_timestamp_ns("1795548637.25") == 1795548637250000000LL);
    CHECK_FALSE(parse_timestamp_ns("2026-13-01T00:00:00Z"));
    CHECK_FALSE(parse_timestamp_ns("2026-11-24T19:30:37Zjunk"));
    CHECK_FALSE(parse_timestamp_ns("yesterday"));
    CHECK_FALSE(parse_timestamp_ns(""));
  }

  TEST_CASE("logfmt and JSON lines give their time and level") {
    const auto logfmt = read_line_fields(R"(ts=2026-11-24T19:30:37Z level=WARNING msg="a b" x)", LineFormat::automatic);
    CHECK(logfmt.unix_ns == 1795548637LL * 1'000'000'000);
    CHECK(logfmt.level == "warn");
    const auto json_line = read_line_fields(R"({"time":"2026-11-24T19:30:37Z","severity":"ERR","msg":"x"})",
                                            LineFormat::automatic);
    CHECK(json_line.unix_ns == 1795548637LL * 1'000'000'000);
    CHECK(json_line.level == "error");
    const auto epoch = read_line_fields(R"({"timestamp":1795548637.5,"lvl":"info"})", LineFormat::json);
    CHECK(epoch.unix_ns == 1795548637500000000LL);
    CHECK(epoch.level == "info");
    CHECK_FALSE(read_line_fields("{not json", LineFormat::automatic).unix_ns);
    CHECK(logfmt_value(R"(a=1 msg="say \"hi\"" b=)", "msg") == "say \"hi\"");
    CHECK(logfmt_value(R"(a=1 msg="say \"hi\"" b=)", "b") == "");
    CHECK_FALSE(logfmt_value("a=1", "c"));
    CHECK(normalise_level("Information") == "info");
    CHECK(normalise_level("fatal") == "fatal");
  }

  TEST_CASE("lines for chat lose colours and control characters and are cut at a character boundary") {
    CHECK(clean_for_chat("\x1b[31merror\x1b[0m\tdone\r", 80) == "error done");
    CHECK(clean_for_chat("ééééé", 4) == "ééé…");
    CHECK(clean_for_chat("abcd", 4) == "abcd");
    CHECK(clean_for_chat("password=hunter2 and more text", 20) == "password=[REDACTED]…");
  }
}
