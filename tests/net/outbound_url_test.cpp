// The one rule for outbound URLs: https (wss), or plain http (ws) only to a
// loopback host when a credential or signing keys travel; parsed, not prefix-matched.

#include <doctest/doctest.h>

#include "src/net/outbound_url.hpp"

using opsgate::net::check_outbound_url;
using opsgate::net::is_loopback_host;
using opsgate::net::UrlSecrecy;
using opsgate::net::UrlTransport;

TEST_SUITE("net/outbound_url") {
  TEST_CASE("loopback is 127.0.0.0/8, ::1 and localhost exactly") {
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.200.3.4"));
    CHECK(is_loopback_host("[::1]"));
    CHECK(is_loopback_host("::1"));
    CHECK(is_loopback_host("localhost"));
    CHECK(is_loopback_host("LocalHost"));
    CHECK_FALSE(is_loopback_host("localhost.evil.com"));
    CHECK_FALSE(is_loopback_host("127.0.0.1.nip.io"));
    CHECK_FALSE(is_loopback_host("128.0.0.1"));
    CHECK_FALSE(is_loopback_host("[::2]"));
    CHECK_FALSE(is_loopback_host("10.0.0.1"));
    CHECK_FALSE(is_loopback_host(""));
  }

  TEST_CASE("a sensitive URL must be https unless its host is loopback") {
    CHECK(check_outbound_url("https://discord.com/api/v10", UrlSecrecy::sensitive));
    CHECK(check_outbound_url("http://127.0.0.1:8080/api", UrlSecrecy::sensitive));
    CHECK(check_outbound_url("http://localhost:8080", UrlSecrecy::sensitive));
    CHECK(check_outbound_url("http://[::1]:8080/x", UrlSecrecy::sensitive));
    const auto remote = check_outbound_url("http://login.example.invalid/token", UrlSecrecy::sensitive);
    REQUIRE_FALSE(remote);
    CHECK(remote.error().message.find("use https://") != std::string::npos);
    CHECK(remote.error().message.find("login.example.invalid") != std::string::npos);
    // A prefix test would take these for loopback.
    CHECK_FALSE(check_outbound_url("http://localhost.evil.com/api", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("http://127.0.0.1.evil.com/api", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("http://127.0.0.1@evil.com/api", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("http://127.0.0.1.nip.io/api", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("http://localhost@evil.com/api", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("http://localhost:80@evil.com/api", UrlSecrecy::sensitive));
    CHECK(check_outbound_url("http://[::1]:9090", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("HTTP://evil.com/api", UrlSecrecy::sensitive));
  }

  TEST_CASE("a credential-less URL may use plain http anywhere, but userinfo makes it sensitive") {
    CHECK(check_outbound_url("http://prometheus.monitoring:9090", UrlSecrecy::plain));
    CHECK_FALSE(check_outbound_url("http://user:pass@prometheus.monitoring:9090", UrlSecrecy::plain));
    CHECK(check_outbound_url("https://user:pass@prometheus.monitoring:9090", UrlSecrecy::plain));
  }

  TEST_CASE("the scheme belongs to the transport, garbage is refused with a hint") {
    CHECK_FALSE(check_outbound_url("ftp://example.com/x", UrlSecrecy::plain));
    CHECK_FALSE(check_outbound_url("file:///etc/passwd", UrlSecrecy::plain));
    CHECK_FALSE(check_outbound_url("discord.com/api", UrlSecrecy::plain));
    CHECK_FALSE(check_outbound_url("", UrlSecrecy::plain));
    CHECK_FALSE(check_outbound_url("wss://gateway.discord.gg", UrlSecrecy::sensitive));
    CHECK(check_outbound_url("wss://gateway.discord.gg", UrlSecrecy::sensitive, UrlTransport::websocket));
    CHECK(check_outbound_url("ws://127.0.0.1:9000", UrlSecrecy::sensitive, UrlTransport::websocket));
    CHECK_FALSE(check_outbound_url("ws://gateway.example.com", UrlSecrecy::sensitive, UrlTransport::websocket));
    CHECK_FALSE(check_outbound_url("https://gateway.discord.gg", UrlSecrecy::sensitive, UrlTransport::websocket));
    const auto bad = check_outbound_url("not a url", UrlSecrecy::plain);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("e.g. https://") != std::string::npos);
  }

  // Parsed without libcurl (which is loaded only for the first request), so
  // the parser refuses what it and libcurl could read differently.
  TEST_CASE("hosts libcurl would read differently, bad ports and no host are refused with the reason") {
    const auto delimiters = check_outbound_url("http://localhost&evil.com/x", UrlSecrecy::plain);
    REQUIRE_FALSE(delimiters);
    CHECK(delimiters.error().message.find("not a plain name or IP address") != std::string::npos);
    CHECK_FALSE(check_outbound_url("http://%6cocalhost:9090", UrlSecrecy::sensitive));
    CHECK_FALSE(check_outbound_url("http://127.0.0.1\\@evil.com/", UrlSecrecy::sensitive));
    const auto port = check_outbound_url("https://api.example.com:99999/", UrlSecrecy::plain);
    REQUIRE_FALSE(port);
    CHECK(port.error().message.find("between 1 and 65535") != std::string::npos);
    const auto hostless = check_outbound_url("https:///path", UrlSecrecy::plain);
    REQUIRE_FALSE(hostless);
    CHECK(hostless.error().message.find("no host") != std::string::npos);
    CHECK(check_outbound_url("https://api.example.com:443/v1", UrlSecrecy::sensitive));
    CHECK(check_outbound_url("http://[::1]:9090/x", UrlSecrecy::sensitive)->host == "[::1]");
    CHECK(check_outbound_url("http://prom_1.monitoring.svc:9090", UrlSecrecy::plain));
  }
}
