#pragma once
// The HTTP request and response as handlers see them: plain structs, no Beast,
// so adapters (Slack, Teams, Discord, Alertmanager) never compile Beast.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

namespace opsgate::net {

// One request, fully read (header and body) before the handler runs.
// Owned by the handler it is passed to; touched only by that handler's coroutine.
struct HttpRequest {
  std::string method;  // as sent, case-sensitive ("GET", "POST")
  std::string target;  // as sent: path and query ("/slack/events?x=1")
  std::string path;    // target before '?', not percent-decoded
  std::string query;   // target after '?', without it; empty if none
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, names as sent
  std::string body;            // the raw bytes, unmodified, for signature (HMAC) checks
  std::string remote_address;  // the peer's IP address, without port

  // Case-insensitive; the first header of that name, nullopt if absent.
  std::optional<std::string_view> header(std::string_view name) const;
  // Same, but "" when absent.
  std::string_view header_or_empty(std::string_view name) const;
};

// What a handler answers. The server sets Content-Length and Connection itself.
// Built and returned by a handler; the server takes ownership when the handler returns.
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers. Content-Length, Transfer-Encoding and Content-Type here are
  // ignored (the server owns them); "Connection: close" closes after replying.
  // A header whose name or value holds CR, LF or NUL is dropped and logged.
  std::vector<std::pair<std::string, std::string>> headers;

  // A JSON body, dumped with error_handler_t::replace: chat text can be invalid UTF-8.
  static HttpResponse json(int status, const nlohmann::json& body);
  static HttpResponse text(int status, std::string body);
};

// A route's handler. It runs on the connection's strand; it must bound its own
// work (timeouts on outbound calls): the server only bounds it at shutdown.
using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

// Case-insensitive ASCII comparison, as HTTP header names need.
bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace opsgate::net
