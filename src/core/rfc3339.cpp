#include "src/core/rfc3339.hpp"

#include <cstdio>
#include <limits>

namespace opsgate {

namespace {

using namespace std::chrono;

bool digits(std::string_view text, std::size_t at, std::size_t count, int& out) {
  if (at + count > text.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

struct Parsed {
  std::int64_t unix_s = 0;
  std::int64_t nanos = 0;  // 0..999'999'999
};

std::optional<Parsed> parse(std::string_view text, Rfc3339Options options) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  if (!digits(text, 0, 4, y) || text.size() < 16 || text[4] != '-' || !digits(text, 5, 2, mo) || text[7] != '-' ||
      !digits(text, 8, 2, d) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2, h) ||
      text[13] != ':' || !digits(text, 14, 2, mi)) {
    return std::nullopt;
  }
  std::size_t i = 16;
  if (i < text.size() && text[i] == ':') {
    if (!digits(text, i + 1, 2, s)) {
      return std::nullopt;
    }
    i += 3;
  } else if (!options.seconds_optional) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  Parsed out;
  if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
    std::int64_t scale = 1'000'000'000;
    const std::size_t begin = ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (scale > 1) {
        scale /= 10;
        out.nanos += (text[i] - '0') * scale;
      }
    }
    if (i == begin) {
      return std::nullopt;
    }
  }
  std::int64_t offset_s = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0;
    int om = 0;
    const bool colon = i + 3 < text.size() && text[i + 3] == ':';
    if (!digits(text, i + 1, 2, oh) || !digits(text, i + (colon ? 4 : 3), 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (text[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += colon ? 6 : 5;
  } else if (!options.zone_optional) {
    return std::nullopt;
  }
  if (i != text.size()) {
    return std::nullopt;
  }
  out.unix_s = std::int64_t{sys_days{ymd}.time_since_epoch().count()} * 86400 + h * 3600 + mi * 60 + s - offset_s;
  return out;
}

std::string format_date_time(sys_seconds t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buffer[48];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                              static_cast<int>(hms.seconds().count()));
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_s(std::string_view text, Rfc3339Options options) {
  const auto parsed = parse(text, options);
  if (!parsed) {
    return std::nullopt;
  }
  return parsed->unix_s;
}

std::optional<std::int64_t> parse_rfc3339_ns(std::string_view text, Rfc3339Options options) {
  const auto parsed = parse(text, options);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
  if (!parsed || parsed->unix_s > kMax || parsed->unix_s < -kMax) {
    return std::nullopt;
  }
  return parsed->unix_s * 1'000'000'000 + parsed->nanos;
}

std::string format_rfc3339_utc(std::int64_t unix_ns) {
  std::int64_t secs = unix_ns / 1'000'000'000;
  std::int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::string out = format_date_time(sys_seconds{seconds{secs}});
  if (frac != 0) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, ".%09lld", static_cast<long long>(frac));
    out += buffer;
    while (out.back() == '0') {
      out.pop_back();
    }
  }
  return out + "Z";
}

std::string format_rfc3339_utc(sys_seconds time) { return format_date_time(time) + "Z"; }

}  // namespace opsgate
