#pragma once
// Private helpers of http_client.cpp, in their own file so they can be tested
// without a network: how a URL is shown in messages, which requests may be
// retried and after how long, and which headers may be sent.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "src/core/error.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::net::detail {

// scheme://host[:port]/path of an http(s) URL: no credentials, no query string,
// no fragment, so messages and logs never carry tokens passed in URLs.
// invalid_input for anything libcurl cannot parse or that is not http(s).
Result<std::string> display_url(const std::string& url);

// GET and HEAD only: repeating anything else could do the thing twice.
bool retryable_method(std::string_view method);

// Whether an answer with `status` is sent again (429 aside, which always is):
// what the caller's `accepts` says, else 5xx for idempotent calls.
bool retry_status(const std::function<bool(int)>& accepts, Idempotent idempotent, int status);

// Why a header cannot be sent (a name that is not an HTTP token, a value with
// CR, LF or NUL that would inject headers), or nullopt. Never quotes the value:
// it may be a credential.
std::optional<std::string> header_problem(std::string_view name, std::string_view value);

// "10s", "1.5s", "250ms": timeouts as people read them.
std::string format_timeout(std::chrono::milliseconds timeout);

}  // namespace opsgate::net::detail
