#include "src/core/time_zone.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <string_view>

namespace opsgate {

namespace {

using namespace std::chrono;

constexpr std::size_t kMaxTzifBytes = 1024 * 1024;
constexpr std::size_t kHeaderBytes = 44;

std::uint32_t be32(const std::string& b, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

std::int64_t be64(const std::string& b, std::size_t at) {
  const std::uint64_t high = be32(b, at);
  const std::uint64_t low = be32(b, at + 4);
  return static_cast<std::int64_t>((high << 32) | low);
}

struct Counts {
  std::size_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
  std::size_t data_bytes(std::size_t time_size) const {
    return timecnt * time_size + timecnt + typecnt * 6 + charcnt + leapcnt * (time_size + 4) + isstdcnt + isutcnt;
  }
};

Counts read_counts(const std::string& b, std::size_t header) {
  Counts c;
  c.isutcnt = be32(b, header + 20);
  c.isstdcnt = be32(b, header + 24);
  c.leapcnt = be32(b, header + 28);
  c.timecnt = be32(b, header + 32);
  c.typecnt = be32(b, header + 36);
  c.charcnt = be32(b, header + 40);
  return c;
}

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

std::optional<std::int32_t> fixed_offset(const std::string& name) {
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
  const std::int32_t seconds_east = hours * 3600 + minutes * 60;
  return m[1].str() == "-" ? -seconds_east : seconds_east;
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
    zone.initial_offset_ = *offset;
    return zone;
  }
  static const std::regex iana(R"(^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,3}$)");
  if (!std::regex_match(name, iana)) {
    return fail(Errc::invalid_input, "'" + name + "' is not a time zone: use UTC, an offset such as +02:00, or an "
                                     "IANA name such as Europe/Berlin");
  }
  const char* tzdir = std::getenv("TZDIR");
  const std::string path = std::string(tzdir != nullptr && *tzdir != '\0' ? tzdir : "/usr/share/zoneinfo") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Errc::not_found, "time zone '" + name + "': cannot read " + path +
                                     " (is the tzdata package installed?)");
  }
  std::string bytes;
  bytes.resize(kMaxTzifBytes);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  const auto malformed = [&]() { return fail(Errc::invalid_input, "time zone '" + name + "': " + path + " is not a TZif file"); };
  if (bytes.size() < kHeaderBytes || bytes.compare(0, 4, "TZif") != 0) {
    return malformed();
  }
  const Counts v1 = read_counts(bytes, 0);
  std::size_t header = 0;
  std::size_t time_size = 4;
  Counts counts = v1;
  if (bytes[4] >= '2') {
    // Version 2+ repeats the data with 64-bit times after the version 1 block.
    header = kHeaderBytes + v1.data_bytes(4);
    if (bytes.size() < header + kHeaderBytes || bytes.compare(header, 4, "TZif") != 0) {
      return malformed();
    }
    counts = read_counts(bytes, header);
    time_size = 8;
  }
  const std::size_t data = header + kHeaderBytes;
  if (counts.typecnt == 0 || bytes.size() < data + counts.data_bytes(time_size)) {
    return malformed();
  }
  const std::size_t index_at = data + counts.timecnt * time_size;
  const std::size_t types_at = index_at + counts.timecnt;
  std::vector<std::int32_t> type_offsets;
  for (std::size_t i = 0; i < counts.typecnt; ++i) {
    type_offsets.push_back(static_cast<std::int32_t>(be32(bytes, types_at + i * 6)));
  }
  zone.initial_offset_ = type_offsets.front();
  for (std::size_t i = 0; i < counts.timecnt; ++i) {
    const std::int64_t at = time_size == 8 ? be64(bytes, data + i * 8)
                                           : static_cast<std::int32_t>(be32(bytes, data + i * 4));
    const auto type = static_cast<unsigned char>(bytes[index_at + i]);
    if (type >= type_offsets.size()) {
      return malformed();
    }
    zone.transitions_.push_back(at);
    zone.offsets_.push_back(type_offsets[type]);
  }
  if (time_size == 8) {
    const std::size_t footer = data + counts.data_bytes(8);
    if (footer < bytes.size() && bytes[footer] == '\n') {
      const std::size_t close = bytes.find('\n', footer + 1);
      if (close != std::string::npos) {
        zone.rule_ = PosixTz(std::string_view(bytes).substr(footer + 1, close - footer - 1)).parse();
      }
    }
  }
  return zone;
}

std::chrono::seconds TimeZone::offset_at(std::chrono::sys_seconds time) const {
  const std::int64_t t = time.time_since_epoch().count();
  if (transitions_.empty() || t < transitions_.front()) {
    if (transitions_.empty() && rule_) {
      return std::chrono::seconds{rule_offset(*rule_, t)};
    }
    return std::chrono::seconds{initial_offset_};
  }
  const auto after = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (after == transitions_.end() && rule_) {
    return std::chrono::seconds{rule_offset(*rule_, t)};
  }
  return std::chrono::seconds{offsets_[static_cast<std::size_t>(std::distance(transitions_.begin(), after)) - 1]};
}

std::string TimeZone::format(std::chrono::system_clock::time_point time) const {
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

std::string format_rfc3339_utc(std::int64_t unix_ns) {
  std::int64_t secs = unix_ns / 1'000'000'000;
  std::int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const sys_seconds t{seconds{secs}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buffer[48];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                              static_cast<int>(hms.seconds().count()));
  std::string out(buffer, static_cast<std::size_t>(n));
  if (frac != 0) {
    std::snprintf(buffer, sizeof buffer, ".%09lld", static_cast<long long>(frac));
    out += buffer;
    while (out.back() == '0') {
      out.pop_back();
    }
  }
  return out + "Z";
}

}  // namespace opsgate
