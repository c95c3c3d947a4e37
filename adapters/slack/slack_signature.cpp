#include "adapters/slack/slack_signature.hpp"

#include <charconv>
#include <cstdint>

#include "src/core/crypto.hpp"

namespace opsgate::adapters::slack {

std::string_view describe(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::ok: return "ok";
    case SignatureCheck::missing_header: return "X-Slack-Signature or X-Slack-Request-Timestamp missing";
    case SignatureCheck::bad_timestamp: return "X-Slack-Request-Timestamp is not a number";
    case SignatureCheck::stale_timestamp: return "timestamp outside the 300 s window (replay, or a wrong clock)";
    case SignatureCheck::bad_version: return "signature is not v0=<64 hex>";
    case SignatureCheck::mismatch: return "signature mismatch (wrong signing_secret, or the body was changed)";
  }
  return "unknown";
}

std::string sign(std::string_view signing_secret, std::string_view timestamp, std::string_view raw_body) {
  std::string base;
  base.reserve(4 + timestamp.size() + raw_body.size());
  base.append("v0:").append(timestamp).append(":").append(raw_body);
  return "v0=" + crypto::hmac_sha256_hex(signing_secret, base);
}

SignatureCheck verify_signature(std::string_view signing_secret, std::string_view timestamp_header,
                                std::string_view signature_header, std::string_view raw_body,
                                std::chrono::system_clock::time_point now, std::chrono::seconds window) {
  if (timestamp_header.empty() || signature_header.empty()) {
    return SignatureCheck::missing_header;
  }
  std::int64_t timestamp = 0;
  const auto [end, ec] = std::from_chars(timestamp_header.data(), timestamp_header.data() + timestamp_header.size(), timestamp);
  if (ec != std::errc() || end != timestamp_header.data() + timestamp_header.size()) {
    return SignatureCheck::bad_timestamp;
  }
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Compared as bounds around now: `now - timestamp` overflows for a hostile
  // timestamp such as -9223372036854775808 (undefined behaviour, and a wrapped
  // difference that would pass the window).
  if (timestamp < now_s - window.count() || timestamp > now_s + window.count()) {
    return SignatureCheck::stale_timestamp;
  }
  if (signature_header.size() != 67 || signature_header.substr(0, 3) != "v0=") {
    return SignatureCheck::bad_version;
  }
  const std::string expected = sign(signing_secret, timestamp_header, raw_body);
  // Constant time: how much of the signature matched must not show in timing.
  if (!crypto::constant_time_equal(expected, signature_header)) {
    return SignatureCheck::mismatch;
  }
  return SignatureCheck::ok;
}

}  // namespace opsgate::adapters::slack
