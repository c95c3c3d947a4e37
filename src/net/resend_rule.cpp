#include "src/net/resend_rule.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace opsgate::net {

bool outcome_unknown(const Error& error) {
  return error.code == Errc::timeout;
}

bool may_resend(const Error& error, Idempotent idempotent) {
  if (error.code == Errc::unavailable) {
    return true;
  }
  return outcome_unknown(error) && idempotent == Idempotent::yes;
}

namespace {

std::optional<std::int64_t> whole_number(std::optional<std::string_view> header) {
  if (!header) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), value);
  if (ec != std::errc() || end != header->data() + header->size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<std::chrono::milliseconds> retry_after(const HttpClientResponse& response) {
  // Clamped to a day, so that a huge value stays huge instead of overflowing.
  constexpr std::int64_t kDayMs = 86'400'000;
  if (const auto ms = whole_number(response.header("retry-after-ms"))) {
    return std::chrono::milliseconds(std::min(*ms, kDayMs));
  }
  if (const auto seconds = whole_number(response.header("Retry-After"))) {
    return std::chrono::milliseconds(std::min(*seconds, kDayMs / 1000) * 1000);
  }
  return std::nullopt;
}

}  // namespace opsgate::net
