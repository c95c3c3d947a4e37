#pragma once
// The HTTP server's settings (the `server:` mapping of the config file) and the
// parser that validates them once, at start-up.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/core/config_node.hpp"
#include "src/core/secret.hpp"

namespace opsgate::net {

// Immutable once parsed; copied into the HttpServer that uses it.
// Plain data: any thread may read a copy.
struct HttpServerConfig {
  std::string listen = "127.0.0.1:8088";  // host:port, IP literal; IPv6 as [::1]:8088; port 0 = any
  std::size_t body_limit = 1024 * 1024;   // bytes; a larger body gets 413
  std::chrono::seconds request_timeout{30};  // from a request's first byte to its last; also a response write
  std::chrono::seconds idle_timeout{60};     // between requests on a keep-alive connection
  std::size_t max_connections = 256;         // more get 503 and are closed
  std::chrono::seconds drain_timeout{5};     // stop(): how long in-flight requests may finish
  // GET /metrics needs `Authorization: Bearer <metrics_token>` when set. On a
  // non-loopback `listen` a token is required unless metrics_public is true.
  std::optional<Secret> metrics_token;
  bool metrics_public = false;
};

// The request header limit (request line plus headers); larger gets 431.
inline constexpr std::size_t kHttpHeaderLimit = 8 * 1024;

// A parsed `listen` value.
struct ListenAddress {
  std::string host;  // an IP literal, without brackets
  std::uint16_t port = 0;
};

// "127.0.0.1:8088", "0.0.0.0:80", "[::1]:8088", "[::]:0". nullopt for anything else
// (host names included: a daemon should say which address it binds).
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// Reads the `server` mapping: listen, body_limit (bytes), request_timeout,
// idle_timeout, drain_timeout (durations: 30s, 1m), max_connections,
// metrics_token ({env: NAME} | {file: PATH}), metrics_public.
// Throws ConfigError naming file:line and key; rejects unknown keys.
HttpServerConfig parse_http_server_config(const ConfigNode& node);

}  // namespace opsgate::net
