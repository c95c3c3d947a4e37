#include "src/net/http_client_support.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include <curl/curl.h>

#include "src/net/http_types.hpp"

namespace opsgate::net::detail {

namespace {


struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

struct CurlString {
  char* text = nullptr;
  CurlString() = default;
  CurlString(const CurlString&) = delete;
  CurlString& operator=(const CurlString&) = delete;
  ~CurlString() { curl_free(text); }
};

// RFC 9110 token characters.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

Result<std::string> display_url(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed) {
    return fail(Errc::internal, "out of memory parsing a URL");
  }
  // The URL itself is not quoted in the error: it may hold credentials.
  const CURLUcode set = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0);
  if (set != CURLUE_OK) {
    return fail(Errc::invalid_input, std::string("invalid URL: ") + curl_url_strerror(set));
  }
  CurlString scheme;
  CurlString host;
  CurlString port;
  CurlString path;
  if (curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme.text, 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_HOST, &host.text, 0) != CURLUE_OK) {
    return fail(Errc::invalid_input, "invalid URL: it needs a scheme and a host, e.g. http://127.0.0.1:9090");
  }
  const std::string scheme_text = scheme.text;
  if (scheme_text != "http" && scheme_text != "https") {
    return fail(Errc::invalid_input, "unsupported URL scheme '" + scheme_text + "' (only http and https)");
  }
  std::string out = scheme_text + "://" + host.text;
  if (curl_url_get(parsed.get(), CURLUPART_PORT, &port.text, 0) == CURLUE_OK && port.text != nullptr) {
    out += std::string(":") + port.text;
  }
  if (curl_url_get(parsed.get(), CURLUPART_PATH, &path.text, 0) == CURLUE_OK && path.text != nullptr) {
    out += path.text;
  }
  return out;
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
