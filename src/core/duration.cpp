#include "src/core/duration.hpp"

#include <cctype>

namespace opsgate {

namespace {
constexpr std::int64_t kMaxSeconds = 365LL * 24 * 3600;

std::int64_t unit_seconds(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return 0;
  }
}
}  // namespace

std::optional<std::int64_t> parse_duration_seconds(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
      number = number * 10 + (text[i] - '0');
      ++i;
      ++digits;
      if (number > kMaxSeconds) {
        return std::nullopt;
      }
    }
    if (digits == 0 || i >= text.size()) {
      return std::nullopt;
    }
    const std::int64_t unit = unit_seconds(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
    if (unit == 0) {
      return std::nullopt;
    }
    ++i;
    total += number * unit;
    if (total > kMaxSeconds) {
      return std::nullopt;
    }
  }
  if (total <= 0) {
    return std::nullopt;
  }
  return total;
}

std::string format_duration(std::int64_t seconds) {
  if (seconds <= 0) {
    return "0s";
  }
  std::string out;
  const std::int64_t days = seconds / 86400;
  const std::int64_t hours = (seconds % 86400) / 3600;
  const std::int64_t minutes = (seconds % 3600) / 60;
  const std::int64_t secs = seconds % 60;
  if (days > 0) out += std::to_string(days) + "d";
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (secs > 0) out += std::to_string(secs) + "s";
  return out;
}

}  // namespace opsgate
