#include "src/net/http_client_support.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "src/net/http_types.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::net::detail {

namespace {


// RFC 9110 token characters.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

Result<std::string> display_url(const std::string& url) {
  // The URL itself is not quoted in the error: it may hold credentials.
  auto parts = split_url(url);
  if (!parts) {
    return fail(Errc::invalid_input, "invalid URL: " + parts.error().message);
  }
  if (parts->host.empty()) {
    return fail(Errc::invalid_input, "invalid URL: it needs a scheme and a host, e.g. http://127.0.0.1:9090");
  }
  if (parts->scheme != "http" && parts->scheme != "https") {
    return fail(Errc::invalid_input, "unsupported URL scheme '" + parts->scheme.substr(0, 16) + "' (only http and https)");
  }
  std::string out = parts->scheme + "://" + parts->host;
  if (!parts->port.empty()) {
    out += ":" + parts->port;
  }
  return out + parts->path;
}

bool retryable_method(std::string_view method) { return method == "GET" || method == "HEAD"; }

bool retry_status(const std::function<bool(int)>& accepts, Idempotent idempotent, int status) {
  if (accepts) {
    return accepts(status);
  }
  return idempotent == Idempotent::yes && status >= 500 && status <= 599;
}

std::optional<std::string> header_problem(std::string_view name, std::string_view value) {
  if (name.empty()) {
    return "a header has an empty name";
  }
  if (!std::all_of(name.begin(), name.end(), is_token_char)) {
    return "the header name '" + std::string(name.substr(0, 64)) + "' has characters HTTP does not allow";
  }
  const bool injects = std::any_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
  if (injects) {
    return "the value of header '" + std::string(name) + "' contains a line break or NUL";
  }
  return std::nullopt;
}

std::string format_timeout(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms < 1000) {
    return std::to_string(ms) + "ms";
  }
  if (ms % 1000 == 0) {
    return std::to_string(ms / 1000) + "s";
  }
  std::string fraction = std::to_string(ms % 1000);
  fraction.insert(0, 3 - fraction.size(), '0');
  while (fraction.back() == '0') {
    fraction.pop_back();
  }
  const std::string text = std::to_string(ms / 1000) + "." + fraction;
  return text + "s";
}

}  // namespace opsgate::net::detail
