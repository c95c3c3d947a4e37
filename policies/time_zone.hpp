#pragma once
// Local time in a named IANA time zone, read from the system's zoneinfo
// (TZif files), so freeze windows follow DST without touching TZ or locale.
// GCC 12's libstdc++ has no std::chrono::zoned_time; this is the small part we need.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace opsgate::policies {

struct LocalTime {
  int weekday = 0;         // 0 = Sunday ... 6 = Saturday
  int minute_of_day = 0;   // 0 ... 1439
  std::int32_t utc_offset_s = 0;
};

class TimeZone {
 public:
  // Loads /usr/share/zoneinfo/<name> (or $TZDIR). nullopt if unknown.
  static std::optional<TimeZone> load(const std::string& name);
  static TimeZone utc();
  LocalTime local(std::chrono::system_clock::time_point t) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::int64_t> transitions_;  // unix seconds, ascending
  std::vector<std::int32_t> offsets_;      // offset in effect from transitions_[i]
  std::int32_t initial_offset_ = 0;
};

}  // namespace opsgate::policies
