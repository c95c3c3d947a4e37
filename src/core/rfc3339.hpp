#pragma once
// RFC 3339 timestamps ("2026-11-25T13:03:05.123+01:00"), parsed and formatted
// in one place for the whole tree. Pure functions; safe from any thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace opsgate {

struct Rfc3339Options {
  // No "Z" or offset: read as UTC (log lines often leave it out).
  bool zone_optional = false;
  // "2026-11-27T17:00+01:00": people typing a time leave the seconds out.
  bool seconds_optional = false;
};

// "YYYY-MM-DD" 'T' (or 't' or ' ') "hh:mm:ss", an optional fraction ('.' or
// ','; digits past nanoseconds are dropped), then "Z", "z", "+hh:mm" or
// "+hhmm". Checks the calendar (no February 30th) and the ranges; a leap
// second (:60) counts as :59 plus one second, as POSIX time does.
// Seconds since the Unix epoch, any year 0000-9999.
std::optional<std::int64_t> parse_rfc3339_s(std::string_view text, Rfc3339Options options = {});
// Nanoseconds since the Unix epoch; nullopt also when that does not fit in 64
// bits (before 1677 or after 2262, e.g. Prometheus's "0001-01-01T00:00:00Z").
std::optional<std::int64_t> parse_rfc3339_ns(std::string_view text, Rfc3339Options options = {});

// "2026-11-25T13:03:05.123456789Z", without trailing zeros in the fraction:
// for data, not for people.
std::string format_rfc3339_utc(std::int64_t unix_ns);
// "2026-11-25T13:03:05Z".
std::string format_rfc3339_utc(std::chrono::sys_seconds time);

}  // namespace opsgate
