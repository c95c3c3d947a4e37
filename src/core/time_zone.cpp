#include "src/core/time_zone.hpp"

#include <date/tz.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string_view>
#include <regex>
#include <stdexcept>

namespace opsgate {

namespace {

using namespace std::chrono;

// A small cursor over a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3").
class PosixTz {
 public:
  explicit PosixTz(std::string_view text) : text_(text) {}

  std::optional<TimeZone::Rule> parse() {
    TimeZone::Rule rule;
    if (!name()) {
      return std::nullopt;
    }
    auto std_offset = offset();
    if (!std_offset) {
      return std::nullopt;
    }
    rule.std_offset = -*std_offset;  // POSIX counts west of UTC as positive
    if (at_end()) {
      return rule;
    }
    if (!name()) {
      return std::nullopt;
    }
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!at_end() && peek() != ',') {
      auto dst_offset = offset();
      if (!dst_offset) {
        return std::nullopt;
      }
      rule.dst_offset = -*dst_offset;
    }
    // Only the "Mm.w.d" form: every current zone's footer uses it.
    if (!take(',') || !date(rule.start) || !take(',') || !date(rule.end) || !at_end()) {
      return std::nullopt;
    }
    return rule;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool take(char c) {
    if (peek() != c) {
      return false;
    }
    ++pos_;
    return true;
  }

  bool name() {
    if (take('<')) {
      const std::size_t close = text_.find('>', pos_);
      if (close == std::string_view::npos) {
        return false;
      }
      pos_ = close + 1;
      return true;
    }
    const std::size_t begin = pos_;
    while (!at_end() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) {
      ++pos_;
    }
    return pos_ - begin >= 3;
  }

  std::optional<int> number(int max) {
    const std::size_t begin = pos_;
    int value = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9' && pos_ - begin < 3) {
      value = value * 10 + (peek() - '0');
      ++pos_;
    }
    if (pos_ == begin || value > max) {
      return std::nullopt;
    }
    return value;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536's extension).
  std::optional<std::int32_t> offset() {
    int sign = 1;
    if (take('-')) {
      sign = -1;
    } else {
      take('+');
    }
    auto hours = number(167);
    if (!hours) {
      return std::nullopt;
    }
    std::int32_t seconds = *hours * 3600;
    if (take(':')) {
      auto minutes = number(59);
      if (!minutes) {
        return std::nullopt;
      }
      seconds += *minutes * 60;
      if (take(':')) {
        auto secs = number(59);
        if (!secs) {
          return std::nullopt;
        }
        seconds += *secs;
      }
    }
    return sign * seconds;
  }

  bool date(TimeZone::Rule::Date& out) {
    if (!take('M')) {
      return false;
    }
    auto month = number(12);
    if (!month || *month < 1 || !take('.')) {
      return false;
    }
    auto week = number(5);
    if (!week || *week < 1 || !take('.')) {
      return false;
    }
    auto weekday = number(6);
    if (!weekday) {
      return false;
    }
    out.month = *month;
    out.week = *week;
    out.weekday = *weekday;
    out.time = 7200;
    if (take('/')) {
      auto time = offset();
      if (!time) {
        return false;
      }
      out.time = *time;
    }
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The UTC instant of a rule date in `year`, given the offset in force before it.
std::int64_t transition_utc(int y, const TimeZone::Rule::Date& d, std::int32_t offset_before) {
  const std::chrono::year yy{y};
  const month mm{static_cast<unsigned>(d.month)};
  const weekday wd{static_cast<unsigned>(d.weekday)};
  const sys_days day = d.week == 5
                           ? sys_days{year_month_weekday_last{yy, mm, weekday_last{wd}}}
                           : sys_days{year_month_weekday{yy, mm, weekday_indexed{wd, static_cast<unsigned>(d.week)}}};
  return day.time_since_epoch().count() * 86400 + d.time - offset_before;
}

std::int32_t rule_offset(const TimeZone::Rule& rule, std::int64_t t) {
  if (!rule.has_dst) {
    return rule.std_offset;
  }
  const auto local_day = floor<days>(sys_seconds{seconds{t + rule.std_offset}});
  const int y = static_cast<int>(year_month_day{local_day}.year());
  const std::int64_t start = transition_utc(y, rule.start, rule.std_offset);
  const std::int64_t end = transition_utc(y, rule.end, rule.dst_offset);
  const bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? rule.dst_offset : rule.std_offset;
}

// The POSIX TZ string of a TZif v2+ file's footer ("\nCET-1CEST,M3.5.0,M10.5.0/3\n"
// at its end, RFC 8536 section 3.3).
std::optional<TimeZone::Rule> footer_rule(const std::string& name) {
  std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 6 || bytes.compare(0, 4, "TZif") != 0 || bytes[4] < '2' || bytes.back() != '\n') {
    return std::nullopt;
  }
  const std::size_t open = bytes.rfind('\n', bytes.size() - 2);
  if (open == std::string::npos) {
    return std::nullopt;
  }
  return PosixTz(std::string_view(bytes).substr(open + 1, bytes.size() - open - 2)).parse();
}

std::optional<seconds> fixed_offset(const std::string& name) {
  static const std::regex fixed(R"(^([+-])(\d{2}):?(\d{2})$)");
  std::smatch m;
  if (!std::regex_match(name, m, fixed)) {
    return std::nullopt;
  }
  const int hours = std::stoi(m[2].str());
  const int minutes = std::stoi(m[3].str());
  if (hours > 18 || minutes > 59) {
    return std::nullopt;
  }
  const seconds east{hours * 3600 + minutes * 60};
  return m[1].str() == "-" ? -east : east;
}

}  // namespace

Result<TimeZone> TimeZone::load(const std::string& name) {
  TimeZone zone;
  zone.name_ = name;
  if (name == "UTC" || name == "Z" || name == "utc") {
    zone.name_ = "UTC";
    return zone;
  }
  if (auto offset = fixed_offset(name)) {
    zone.fixed_offset_ = *offset;
    return zone;
  }
  static const std::regex iana(R"(^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,3}$)");
  if (!std::regex_match(name, iana)) {
    return fail(Errc::invalid_input, "'" + name + "' is not a time zone: use UTC, an offset such as +02:00, or an "
                                     "IANA name such as Europe/Berlin");
  }
  try {
    // The first call reads the zone names from the tzdata directory (once,
    // thread-safe); a zone's transitions are read when it is first used.
    zone.zone_ = date::locate_zone(name);
    zone.rule_ = footer_rule(name);
  } catch (const std::exception&) {
    return fail(Errc::not_found, "time zone '" + name + "' is not in the system's time zone database (no " +
                                     "/usr/share/zoneinfo/" + name + "): use an IANA name such as Europe/Berlin, " +
                                     "UTC, or an offset such as +02:00 (is the tzdata package installed?)");
  }
  return zone;
}

seconds TimeZone::offset_at(sys_seconds time) const {
  if (zone_ == nullptr) {
    return fixed_offset_;
  }
  const date::sys_info info = zone_->get_info(time);
  // After the last listed transition date/tz reports one period that lasts
  // until the year 32767: no zone's listed periods are a century long.
  if (rule_ && info.end - time > years{100}) {
    return seconds{rule_offset(*rule_, time.time_since_epoch().count())};
  }
  return info.offset;
}

std::string TimeZone::format(system_clock::time_point time) const {
  const auto utc = floor<seconds>(time);
  const auto local = utc + offset_at(utc);
  const auto day = floor<days>(local);
  const year_month_day ymd{day};
  const hh_mm_ss hms{local - day};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buffer;
}

}  // namespace opsgate
