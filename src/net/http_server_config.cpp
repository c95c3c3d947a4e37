#include "src/net/http_server_config.hpp"

#include "src/net/outbound_url.hpp"

#include <charconv>

#include <boost/asio/ip/address.hpp>

namespace opsgate::net {

namespace {

constexpr std::int64_t kMaxBodyLimit = 64LL * 1024 * 1024;  // webhooks are small; this bounds memory per request
constexpr std::int64_t kMaxConnectionsCeiling = 100000;
constexpr std::chrono::seconds kMaxTimeout{3600};

std::chrono::seconds bounded_duration(const ConfigNode& node, const std::string& key, std::chrono::seconds fallback) {
  const auto value = node.duration_or(key, fallback);
  if (value > kMaxTimeout) {
    node.fail(key, "expected at most 1h, got " + std::to_string(value.count()) + "s");
  }
  return value;
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) {
      return std::nullopt;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    boost::system::error_code ec;
    boost::asio::ip::make_address_v4(std::string(host), ec);
    if (ec) {
      return std::nullopt;
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return std::nullopt;
  }
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(value)};
}

HttpServerConfig parse_http_server_config(const ConfigNode& node) {
  HttpServerConfig config;
  config.listen = node.str_or("listen", config.listen);
  if (!parse_listen_address(config.listen)) {
    node.fail("listen", "expected host:port with an IP address, such as 127.0.0.1:8088, 0.0.0.0:8088 or [::1]:8088, got '" +
                            config.listen + "'");
  }
  config.body_limit = static_cast<std::size_t>(
      node.integer_or("body_limit", static_cast<std::int64_t>(config.body_limit), 1, kMaxBodyLimit));
  config.request_timeout = bounded_duration(node, "request_timeout", config.request_timeout);
  config.idle_timeout = bounded_duration(node, "idle_timeout", config.idle_timeout);
  config.drain_timeout = bounded_duration(node, "drain_timeout", config.drain_timeout);
  config.max_connections = static_cast<std::size_t>(node.integer_or(
      "max_connections", static_cast<std::int64_t>(config.max_connections), 1, kMaxConnectionsCeiling));
  config.metrics_token = node.optional_secret("metrics_token");
  if (config.metrics_token && config.metrics_token->reveal().size() < 16) {
    node.fail("metrics_token", "is shorter than 16 characters: use a long random token (openssl rand -hex 32)");
  }
  config.metrics_public = node.boolean_or("metrics_public", false);
  // Metrics name teams, actions and models: on an address other hosts reach,
  // only a scraper with the token reads them, unless the operator says otherwise.
  if (!config.metrics_token && !config.metrics_public && !is_loopback_host(parse_listen_address(config.listen)->host)) {
    node.fail("metrics_token", "is required when listen (" + config.listen + ") is not a loopback address: give "
                               "metrics_token: {env: OPSGATE_METRICS_TOKEN} (Prometheus sends it with "
                               "authorization: {credentials_file: ...}), or metrics_public: true to serve /metrics to anyone");
  }
  node.finish();
  return config;
}

}  // namespace opsgate::net
