#pragma once
// The time zone log timestamps are shown in and change windows are judged in.
// GCC 12's libstdc++ has no std::chrono::tzdb: Howard Hinnant's date/tz
// (libhowardhinnant-date-dev, built with USE_OS_TZDB) reads the system's
// tzdata (/usr/share/zoneinfo) instead, without the process-wide TZ.
// With the OS tzdb, date/tz ignores a zone file's POSIX-TZ footer
// (HowardHinnant/date#563), and date/ptz.h does not compile as C++20: after
// the last listed transition (2037 in Debian's zone files) the footer's rule
// is applied here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "src/core/error.hpp"
#include "src/core/rfc3339.hpp"  // format_rfc3339_utc, which log timestamps use

namespace date {
class time_zone;
}

namespace opsgate {

// One zone's UTC offsets over time: UTC, a fixed offset, or an IANA zone.
// Immutable after load(); a cheap value (the zone's data is shared and
// lives as long as the process); any thread may use it.
class TimeZone {
 public:
  TimeZone() = default;  // UTC

  // "UTC", "+02:00", "-05:30", or an IANA name ("Europe/Berlin") from the
  // system's tzdata. An error says what was wrong and what would be accepted.
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
  const date::time_zone* zone_ = nullptr;  // null: fixed_offset_ applies
  std::chrono::seconds fixed_offset_{0};
  std::optional<Rule> rule_;  // the zone file's footer
};

}  // namespace opsgate
