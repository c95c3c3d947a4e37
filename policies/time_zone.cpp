#include "policies/time_zone.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>

namespace opsgate::policies {

namespace {

std::int64_t read_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | p[i];
  }
  if (bytes == 4) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  }
  return static_cast<std::int64_t>(v);
}

}  // namespace

TimeZone TimeZone::utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

std::optional<TimeZone> TimeZone::load(const std::string& name) {
  if (name == "UTC" || name == "Etc/UTC") {
    return utc();
  }
  // Names come from config, but never let one walk out of the zoneinfo tree.
  static const std::regex name_re("^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$");
  if (!std::regex_match(name, name_re)) {
    return std::nullopt;
  }
  const char* dir = std::getenv("TZDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/usr/share/zoneinfo") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  const std::vector<unsigned char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // TZif: a 44-byte header, a v1 (32-bit) block, then for v2+ a second header
  // and a 64-bit block, which is the one we read.
  auto parse_block = [&](std::size_t at, int time_size, TimeZone& tz, std::size_t& end) -> bool {
    if (data.size() < at + 44 || std::string(data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(at) + 4) != "TZif") {
      return false;
    }
    const unsigned char* h = data.data() + at + 20;
    const auto isutcnt = static_cast<std::size_t>(read_be(h, 4));
    const auto isstdcnt = static_cast<std::size_t>(read_be(h + 4, 4));
    const auto leapcnt = static_cast<std::size_t>(read_be(h + 8, 4));
    const auto timecnt = static_cast<std::size_t>(read_be(h + 12, 4));
    const auto typecnt = static_cast<std::size_t>(read_be(h + 16, 4));
    const auto charcnt = static_cast<std::size_t>(read_be(h + 20, 4));
    const std::size_t body = at + 44;
    const std::size_t size = timecnt * static_cast<std::size_t>(time_size) + timecnt + typecnt * 6 + charcnt +
                             leapcnt * static_cast<std::size_t>(time_size + 4) + isstdcnt + isutcnt;
    if (typecnt == 0 || data.size() < body + size) {
      return false;
    }
    const unsigned char* times = data.data() + body;
    const unsigned char* indices = times + timecnt * static_cast<std::size_t>(time_size);
    const unsigned char* types = indices + timecnt;
    std::vector<std::int32_t> type_offsets(typecnt);
    for (std::size_t i = 0; i < typecnt; ++i) {
      type_offsets[i] = static_cast<std::int32_t>(read_be(types + i * 6, 4));
    }
    tz.transitions_.clear();
    tz.offsets_.clear();
    for (std::size_t i = 0; i < timecnt; ++i) {
      const std::size_t type = indices[i];
      if (type >= typecnt) {
        return false;
      }
      tz.transitions_.push_back(read_be(times + i * static_cast<std::size_t>(time_size), time_size));
      tz.offsets_.push_back(type_offsets[type]);
    }
    tz.initial_offset_ = type_offsets[0];
    end = body + size;
    return true;
  };
  TimeZone tz;
  tz.name_ = name;
  std::size_t end = 0;
  if (!parse_block(0, 4, tz, end)) {
    return std::nullopt;
  }
  if (data[4] >= '2') {
    TimeZone v2;
    v2.name_ = name;
    std::size_t end2 = 0;
    if (parse_block(end, 8, v2, end2)) {
      return v2;
    }
  }
  return tz;
}

LocalTime TimeZone::local(std::chrono::system_clock::time_point t) const {
  const std::int64_t unix_s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::int32_t offset = initial_offset_;
  // The last transition at or before t. Beyond the table (2037 for "fat"
  // files) the last offset stays in effect.
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_s);
  if (it != transitions_.begin()) {
    offset = offsets_[static_cast<std::size_t>(std::distance(transitions_.begin(), it) - 1)];
  }
  const std::int64_t local_s = unix_s + offset;
  std::int64_t days = local_s / 86400;
  std::int64_t secs = local_s % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  LocalTime out;
  out.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  out.minute_of_day = static_cast<int>(secs / 60);
  out.utc_offset_s = offset;
  return out;
}

}  // namespace opsgate::policies
