#pragma once
// The time zone log timestamps are shown in. GCC 12's libstdc++ has no
// std::chrono::tzdb, and localtime_r would need the process-wide TZ, so this
// reads the system's TZif file (RFC 8536) once at start-up.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/core/error.hpp"

namespace opsgate {

// One zone's UTC offsets over time: UTC, a fixed offset, or an IANA zone.
// Immutable after load(); any thread may use it.
class TimeZone {
 public:
  TimeZone() = default;  // UTC

  // "UTC", "+02:00", "-05:30", or an IANA name ("Europe/Berlin") read from
  // $TZDIR or /usr/share/zoneinfo. Errors name the file that is missing.
  static Result<TimeZone> load(const std::string& name);

  const std::string& name() const { return name_; }
  std::chrono::seconds offset_at(std::chrono::sys_seconds time) const;
  // "2026-11-25 14:03:05" in this zone.
  std::string format(std::chrono::system_clock::time_point time) const;

  // Daylight-saving rules from a TZif footer (POSIX TZ, "Mm.w.d" dates),
  // for times after the last listed transition.
  struct Rule {
    std::int32_t std_offset = 0;  // seconds east of UTC
    std::int32_t dst_offset = 0;
    bool has_dst = false;
    struct Date {
      int month = 0;  // 1..12
      int week = 0;   // 1..5, 5 = last
      int weekday = 0;  // 0 = Sunday
      std::int32_t time = 7200;  // seconds after local midnight (may be negative or > 24h)
    };
    Date start;  // in standard time
    Date end;    // in daylight time
  };

 private:
  std::string name_ = "UTC";
  std::int32_t initial_offset_ = 0;
  std::vector<std::int64_t> transitions_;  // unix seconds, ascending
  std::vector<std::int32_t> offsets_;      // offsets_[i] applies from transitions_[i]
  std::optional<Rule> rule_;
};

// "2026-11-25T13:03:05.123456789Z": for data, not for people.
std::string format_rfc3339_utc(std::int64_t unix_ns);

}  // namespace opsgate
