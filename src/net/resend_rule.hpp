#pragma once
// The one rule for sending an outbound call again after an attempt failed,
// shared by the chat platforms' API clients (Slack Web API, Teams connector).
//
//  - HttpClient's Errc::unavailable: the request never reached the server
//    (connection refused, DNS, connect timeout, TLS): always safe to resend.
//  - Errc::timeout: the request was sent and no complete answer came (no
//    answer in time, or the connection dropped mid-response). The server may
//    have done the work: resend only an idempotent call. A non-idempotent one
//    (post a message) fails, and the caller says the outcome is unknown.
//  - An answer: which statuses mean "not processed, try again" (429, some 5xx)
//    is the platform's documented contract, decided by the caller.

#include <chrono>
#include <optional>
#include <string_view>

#include "src/core/error.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::net {

// After HttpClient::send failed with `error`: may the call be sent again?
bool may_resend(const Error& error, Idempotent idempotent);

// True when `error` means the request went out but its fate is unknown.
bool outcome_unknown(const Error& error);

// The pause a 429 asks for: Azure OpenAI's `retry-after-ms` when present and a
// whole number, else the Retry-After header in seconds (delay-seconds form);
// nullopt when neither is a non-negative integer. HttpClient honours it on its
// own retries.
std::optional<std::chrono::milliseconds> retry_after(const HttpClientResponse& response);

}  // namespace opsgate::net
