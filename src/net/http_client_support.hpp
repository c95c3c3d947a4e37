#pragma once
// Private helpers of http_client.cpp, in their own file so they can be tested
// without a network: how a URL is shown in messages, which requests may be
// retried and after how long, and which headers may be sent.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "src/core/error.hpp"

namespace opsgate::net::detail {

// scheme://host[:port]/path of an http(s) URL: no credentials, no query string,
// no fragment, so messages and logs never carry tokens passed in URLs.
// invalid_input for anything libcurl cannot parse or that is not http(s).
Result<std::string> display_url(const std::string& url);

// GET and HEAD only: repeating anything else could do the thing twice.
bool retryable_method(std::string_view method);

// The pause before retry number `retry` (0-based): 200ms * 2^retry, at most
// 5s, times a jitter factor in [0.5, 1.5) chosen by `unit_random` in [0, 1).
std::chrono::milliseconds retry_delay(int retry, double unit_random);

// Why a header cannot be sent (a name that is not an HTTP token, a value with
// CR, LF or NUL that would inject headers), or nullopt. Never quotes the value:
// it may be a credential.
std::optional<std::string> header_problem(std::string_view name, std::string_view value);

// "10s", "1.5s", "250ms": timeouts as people read them.
std::string format_timeout(std::chrono::milliseconds timeout);

}  // namespace opsgate::net::detail
