#include <doctest/doctest.h>

#include <string>

#include "src/core/config_node.hpp"
#include "src/net/http_server_config.hpp"

namespace {

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::net::parse_http_server_config;
using opsgate::net::parse_listen_address;

// The ConfigError text for the `server` mapping of `yaml`, or "" if it parsed.
std::string config_error(const std::string& yaml) {
  try {
    const ConfigNode root = ConfigNode::parse(yaml, "opsgate.yaml");
    parse_http_server_config(root.child("server"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("net/http_server_config") {
  TEST_CASE("every key is read with its unit") {
    const ConfigNode root = ConfigNode::parse(
        "server:\n"
        "  listen: \"[::1]:9000\"\n"
        "  body_limit: 2048\n"
        "  request_timeout: 10s\n"
        "  idle_timeout: 2m\n"
        "  drain_timeout: 3s\n"
        "  max_connections: 10\n",
        "opsgate.yaml");
    const auto config = parse_http_server_config(root.child("server"));
    CHECK(config.listen == "[::1]:9000");
    CHECK(config.body_limit == 2048);
    CHECK(config.request_timeout == std::chrono::seconds(10));
    CHECK(config.idle_timeout == std::chrono::seconds(120));
    CHECK(config.drain_timeout == std::chrono::seconds(3));
    CHECK(config.max_connections == 10);
  }

  TEST_CASE("an empty server mapping keeps the defaults") {
    const ConfigNode root = ConfigNode::parse("server: {}\n", "opsgate.yaml");
    const auto config = parse_http_server_config(root.child("server"));
    CHECK(config.listen == "127.0.0.1:8088");
    CHECK(config.body_limit == 1024 * 1024);
    CHECK(config.max_connections == 256);
  }

  TEST_CASE("a bad listen value names file, line and key") {
    const std::string error = config_error("server:\n  listen: nonsense\n");
    CHECK(error.find("opsgate.yaml:2: server.listen: expected host:port") == 0);
    CHECK(error.find("'nonsense'") != std::string::npos);
  }

  TEST_CASE("server: an unknown key names file, line and key") {
    const std::string error = config_error("server:\n  listen: 127.0.0.1:8088\n  listne: 0.0.0.0:80\n");
    CHECK(error.find("opsgate.yaml:3: server.listne: unknown key") == 0);
  }

  TEST_CASE("body_limit is a whole number of bytes and timeouts are durations") {
    CHECK(config_error("server:\n  body_limit: 1MiB\n").find("opsgate.yaml:2: server.body_limit:") == 0);
    CHECK(config_error("server:\n  body_limit: 0\n").find("opsgate.yaml:2: server.body_limit:") == 0);
    CHECK(config_error("server:\n  request_timeout: 30\n").find("opsgate.yaml:2: server.request_timeout:") == 0);
    CHECK(config_error("server:\n  idle_timeout: 2d\n").find("opsgate.yaml:2: server.idle_timeout:") == 0);
    CHECK(config_error("server:\n  max_connections: 0\n").find("opsgate.yaml:2: server.max_connections:") == 0);
  }

  TEST_CASE("listen addresses are IP literals with a port") {
    CHECK(parse_listen_address("127.0.0.1:8088").has_value());
    CHECK(parse_listen_address("0.0.0.0:0").has_value());
    CHECK(parse_listen_address("[::1]:8088").has_value());
    CHECK(parse_listen_address("[::]:80")->host == "::");
    CHECK(parse_listen_address("[::1]:8088")->port == 8088);
    CHECK_FALSE(parse_listen_address("localhost:8088"));
    CHECK_FALSE(parse_listen_address("127.0.0.1"));
    CHECK_FALSE(parse_listen_address("127.0.0.1:"));
    CHECK_FALSE(parse_listen_address("127.0.0.1:65536"));
    CHECK_FALSE(parse_listen_address("127.0.0.1:80x"));
    CHECK_FALSE(parse_listen_address("::1:8088"));
    CHECK_FALSE(parse_listen_address("[::1]8088"));
    CHECK_FALSE(parse_listen_address(":8088"));
  }
}
