#pragma once
// Durations as people write them in chat and config ("30m", "2h", "1d",
// "90s", "1h30m") to seconds, and back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace opsgate {

// Accepts one or more <number><unit> groups, units s, m, h, d, w.
// Returns nullopt for anything else, zero, or more than 365 days.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text);

// 3600 -> "1h", 5400 -> "1h30m", 45 -> "45s".
std::string format_duration(std::int64_t seconds);

}  // namespace opsgate
