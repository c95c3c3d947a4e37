#include "src/net/resend_rule.hpp"

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

std::optional<std::chrono::seconds> retry_after(const HttpClientResponse& response) {
  const auto header = response.header("Retry-After");
  if (!header) {
    return std::nullopt;
  }
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), seconds);
  if (ec != std::errc() || end != header->data() + header->size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(seconds);
}

}  // namespace opsgate::net
