#pragma once
// Slack's request signing (HTTP mode): "v0=" + hex(HMAC-SHA256(signing_secret,
// "v0:" + timestamp + ":" + raw_body)), compared in constant time, with a
// replay window. Pure functions; any thread.

#include <chrono>
#include <string>
#include <string_view>

namespace opsgate::adapters::slack {

enum class SignatureCheck { ok, missing_header, bad_timestamp, stale_timestamp, bad_version, mismatch };

// Why a check failed, for the log line (never the body or the secret).
std::string_view describe(SignatureCheck check);

SignatureCheck verify_signature(std::string_view signing_secret, std::string_view timestamp_header,
                                std::string_view signature_header, std::string_view raw_body,
                                std::chrono::system_clock::time_point now,
                                std::chrono::seconds window = std::chrono::seconds(300));

// "v0=<64 lowercase hex>": what Slack sends (tests and the stand-in use it too).
std::string sign(std::string_view signing_secret, std::string_view timestamp, std::string_view raw_body);

}  // namespace opsgate::adapters::slack
