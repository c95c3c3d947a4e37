#pragma once
// The one outbound HTTP client: libcurl's multi interface driven by one worker
// thread; any coroutine queues a request and awaits its completion, which is
// posted back to the awaiting coroutine's executor. Many requests in flight
// need no extra threads. Owned by the daemon; send() may be called from any strand.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"

namespace opsgate::net {

// Whether doing a call twice has the effect of doing it once.
enum class Idempotent { yes, no };

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // may carry secrets: never logged
  std::string body;
  std::chrono::milliseconds timeout{10000};         // whole request
  std::chrono::milliseconds connect_timeout{3000};
  std::size_t max_response_bytes = 8 * 1024 * 1024;  // larger bodies fail with Errc::upstream
  // Retries happen only where the caller asks (max_retries > 0), after the
  // rule of resend_rule.hpp: a request that never left (connection refused,
  // DNS) is sent again whatever its method; one that left and got no answer
  // only when idempotent; an answer only when it means "not processed":
  // 429 always (waiting its Retry-After), and the statuses `retry_status`
  // accepts (empty: 5xx, for idempotent calls only). Pauses: net::Backoff
  // (full jitter, retry_base doubling up to retry_cap), or the Retry-After
  // when longer; a Retry-After above max_retry_after returns the 429 as is.
  int max_retries = 0;
  std::optional<Idempotent> idempotent;      // empty: yes for GET and HEAD, no for the rest
  std::function<bool(int status)> retry_status;  // called on the HTTP client's worker thread
  std::chrono::milliseconds retry_base{200};
  std::chrono::milliseconds retry_cap{5000};
  std::chrono::milliseconds max_retry_after{60000};
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CA bundle
  // A TLS client certificate and its key (PEM files), e.g. for a Kubernetes
  // API server that authenticates opsgate by certificate. Both or neither.
  std::string client_cert_file;
  std::string client_key_file;
};

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const;  // case-insensitive
};

struct HttpClientOptions {
  std::size_t max_in_flight = 256;  // running or waiting to retry; beyond it a request is held
  std::size_t max_held = 4096;      // held beyond max_in_flight, oldest first; beyond both: Errc::unavailable at once
  std::string user_agent = "opsgate/0.1";
  std::string curl_library = {};  // loaded on the first request; empty: net::kCurlLibrary (curl_library.hpp)
};

class HttpClientImpl;

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();  // stops the worker; pending requests complete with Errc::unavailable
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a response; errors are: Errc::timeout (sent, and no
  // answer in time or the connection dropped before one: it may have been
  // processed), Errc::unavailable (never sent: DNS, connection refused or
  // timed out, TLS failure), Errc::upstream (response too large, malformed),
  // Errc::invalid_input (bad URL). net::may_resend (resend_rule.hpp) decides retries.
  boost::asio::awaitable<Result<HttpClientResponse>> send(HttpClientRequest request);

 private:
  std::shared_ptr<HttpClientImpl> impl_;
};

}  // namespace opsgate::net
