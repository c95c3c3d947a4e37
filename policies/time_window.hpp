#pragma once
// A recurring window in local time: weekly ("Fri 16:00" → "Mon 08:00") or
// daily ("22:00" → "06:00"), in a named time zone. Used for change freezes.

#include <chrono>
#include <optional>
#include <string>

#include "src/core/time_zone.hpp"

namespace opsgate::policies {

class TimeWindow {
 public:
  // Returns nullopt and sets `error` when a bound is malformed, or the two
  // bounds mix weekly and daily forms.
  static std::optional<TimeWindow> parse(const std::string& from, const std::string& to, TimeZone zone,
                                         std::string& error);
  bool contains(std::chrono::system_clock::time_point t) const;
  std::string describe() const;  // "Fri 16:00 – Mon 08:00 Europe/Berlin"

 private:
  TimeZone zone_;  // UTC by default
  bool weekly_ = false;
  int from_ = 0;  // minute of week (weekly) or of day (daily)
  int to_ = 0;
  std::string from_text_;
  std::string to_text_;
};

}  // namespace opsgate::policies
