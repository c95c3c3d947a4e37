#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "src/core/config_node.hpp"
#include "src/net/backend_connection.hpp"

namespace {

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::net::BackendConnection;
using opsgate::net::parse_backend_connection;

BackendConnection parse(const std::string& yaml) {
  const ConfigNode root = ConfigNode::parse(yaml, "test.yaml");
  const ConfigNode node = root.child("prometheus");
  auto connection = parse_backend_connection(node);
  node.finish();
  return connection;
}

std::string parse_error(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string header(const opsgate::net::HttpClientRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

}  // namespace

TEST_SUITE("net/backend_connection") {
  TEST_CASE("a bare url gives defaults: TLS verified, 10s timeout, no credentials") {
    const auto c = parse("prometheus:\n  url: http://127.0.0.1:9090/\n");
    CHECK(c.url == "http://127.0.0.1:9090");
    CHECK(c.verify_tls);
    CHECK(c.timeout == std::chrono::seconds(10));
    CHECK_FALSE(c.bearer_token);
    CHECK_FALSE(c.basic_user);
    const auto request = make_request(c, "GET", "/api/v1/query?query=up");
    CHECK(request.url == "http://127.0.0.1:9090/api/v1/query?query=up");
    CHECK(request.method == "GET");
    CHECK(request.headers.empty());
    CHECK(request.timeout == std::chrono::seconds(10));
  }

  TEST_CASE("a bearer token from the environment becomes an Authorization header") {
    ::setenv("OPSGATE_TEST_PROM_TOKEN", "tok-123", 1);
    const auto c = parse(
        "prometheus:\n"
        "  url: https://prom.example/prom\n"
        "  bearer_token: {env: OPSGATE_TEST_PROM_TOKEN}\n"
        "  headers: {X-Scope-OrgID: tenant-1}\n"
        "  ca_file: /etc/ssl/ca.pem\n"
        "  timeout: 30s\n");
    CHECK(c.bearer_token->source() == "env:OPSGATE_TEST_PROM_TOKEN");
    const auto request = make_request(c, "POST", "/api/v1/query");
    CHECK(request.url == "https://prom.example/prom/api/v1/query");
    CHECK(header(request, "Authorization") == "Bearer tok-123");
    CHECK(header(request, "X-Scope-OrgID") == "tenant-1");
    CHECK(request.ca_file == "/etc/ssl/ca.pem");
    CHECK(request.timeout == std::chrono::seconds(30));
  }

  TEST_CASE("basic auth is base64 of user:password, insecure_skip_verify turns verification off") {
    ::setenv("OPSGATE_TEST_PROM_PASSWORD", "open sesame", 1);
    const auto c = parse(
        "prometheus:\n"
        "  url: http://127.0.0.1:9090\n"
        "  basic_auth: {user: Aladdin, password: {env: OPSGATE_TEST_PROM_PASSWORD}}\n"
        "  insecure_skip_verify: true\n");
    CHECK_FALSE(c.verify_tls);
    const auto request = make_request(c, "GET", "/-/ready");
    CHECK(header(request, "Authorization") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    CHECK_FALSE(request.verify_tls);
  }

  TEST_CASE("config mistakes name file, line and key") {
    CHECK(parse_error("prometheus:\n  timeout: 5s\n") == "test.yaml:2: prometheus.url: is required but missing");
    CHECK(parse_error("prometheus:\n  url: ftp://x\n").find("test.yaml:2: prometheus.url: unsupported URL scheme") == 0);
    CHECK(parse_error("prometheus:\n  url: http://u:p@host:9090\n").find("credentials go in bearer_token") !=
          std::string::npos);
    CHECK(parse_error("prometheus:\n  url: http://host/?x=1\n").find("prometheus.url:") != std::string::npos);
    CHECK(parse_error("prometheus:\n  url: http://host\n  timeout: 10m\n") ==
          "test.yaml:3: prometheus.timeout: expected 1s to 5m");
    CHECK(parse_error("prometheus:\n  url: http://host\n  headers: {\"Bad Name\": x}\n")
              .find("prometheus.headers.Bad Name:") != std::string::npos);
    CHECK(parse_error("prometheus:\n  url: http://host\n  bearer_token: abc\n  basic_auth: {user: a, password: b}\n")
              .find("give bearer_token or basic_auth, not both") != std::string::npos);
    CHECK(parse_error("prometheus:\n  url: http://host\n  tiemout: 5s\n").find("prometheus.tiemout: unknown key") !=
          std::string::npos);
  }

  TEST_CASE("url_encode keeps unreserved characters and encodes every other byte") {
    using opsgate::net::form_encode;
    using opsgate::net::url_encode;
    CHECK(url_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(url_encode("sum(rate(x{a=\"b\"}[5m]))") == "sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29");
    CHECK(url_encode("a b+c/\xc3\xa9") == "a%20b%2Bc%2F%C3%A9");
    CHECK(form_encode({{"query", "up == 1"}, {"step", "15s"}}) == "query=up%20%3D%3D%201&step=15s");
  }
}
