#include "policies/time_window.hpp"

#include <array>
#include <regex>

#include "src/core/inventory.hpp"

namespace opsgate::policies {

namespace {

constexpr std::array<const char*, 7> kDays{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// "Fri 16:00" -> (5, 960); "16:00" -> (-1, 960).
std::optional<std::pair<int, int>> parse_bound(const std::string& text) {
  static const std::regex re("^\\s*(?:([A-Za-z]{3})[a-z]*\\s+)?([0-2]?[0-9]):([0-5][0-9])\\s*$");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    return std::nullopt;
  }
  int day = -1;
  if (m[1].matched) {
    const std::string d = to_lower(m[1].str());
    for (int i = 0; i < 7; ++i) {
      if (d == kDays[static_cast<std::size_t>(i)]) {
        day = i;
      }
    }
    if (day < 0) {
      return std::nullopt;
    }
  }
  const int hour = std::stoi(m[2].str());
  const int minute = std::stoi(m[3].str());
  if (hour > 24 || (hour == 24 && minute != 0)) {
    return std::nullopt;
  }
  return std::make_pair(day, hour * 60 + minute);
}

}  // namespace

std::optional<TimeWindow> TimeWindow::parse(const std::string& from, const std::string& to, TimeZone zone,
                                            std::string& error) {
  const auto a = parse_bound(from);
  const auto b = parse_bound(to);
  if (!a || !b) {
    error = "expected times like \"Fri 16:00\" (weekly) or \"22:00\" (daily), got '" + (!a ? from : to) + "'";
    return std::nullopt;
  }
  if ((a->first < 0) != (b->first < 0)) {
    error = "both ends must name a weekday (\"Fri 16:00\" - \"Mon 08:00\") or neither (\"22:00\" - \"06:00\")";
    return std::nullopt;
  }
  TimeWindow w;
  w.zone_ = std::move(zone);
  w.weekly_ = a->first >= 0;
  w.from_ = w.weekly_ ? a->first * 1440 + a->second : a->second;
  w.to_ = w.weekly_ ? b->first * 1440 + b->second : b->second;
  w.from_text_ = from;
  w.to_text_ = to;
  if (w.from_ == w.to_) {
    error = "the window is empty (from equals to)";
    return std::nullopt;
  }
  return w;
}

bool TimeWindow::contains(std::chrono::system_clock::time_point t) const {
  const auto utc = std::chrono::floor<std::chrono::seconds>(t);
  const std::int64_t local_s = (utc + zone_.offset_at(utc)).time_since_epoch().count();
  std::int64_t days = local_s / 86400;
  std::int64_t seconds = local_s % 86400;
  if (seconds < 0) {
    seconds += 86400;
    --days;
  }
  const int weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  const int minute_of_day = static_cast<int>(seconds / 60);
  const int now = weekly_ ? weekday * 1440 + minute_of_day : minute_of_day;
  // A window may wrap around the end of the week (or day): Fri → Mon.
  if (from_ < to_) {
    return now >= from_ && now < to_;
  }
  return now >= from_ || now < to_;
}

std::string TimeWindow::describe() const { return from_text_ + " – " + to_text_ + " " + zone_.name(); }

}  // namespace opsgate::policies
