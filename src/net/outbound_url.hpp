#pragma once
// The one rule for every URL opsgate sends to: which schemes, and when plain
// (unencrypted) transport is allowed. Config parsers and the request paths
// that learn a URL at run time (Teams' serviceUrl, the JWKS address) call it.

#include <optional>
#include <string>
#include <string_view>

#include "src/core/config_node.hpp"
#include "src/core/error.hpp"

namespace opsgate::net {

// What travels to the URL.
enum class UrlSecrecy {
  sensitive,  // a credential goes there (token, API key, password, URL userinfo) or signing keys come from it
  plain,      // nothing secret: plain http is fine anywhere (an in-cluster Prometheus without auth)
};

// The protocol family the caller speaks: http(s) or WebSocket (ws/wss).
enum class UrlTransport { http, websocket };

// The parts of a URL the rule looks at. Parsed here, strictly, not by libcurl:
// checking config then needs no libcurl loaded (it is loaded on the first
// request: curl_library.hpp), and what split_url accepts libcurl (which sends
// the request) splits the same way.
struct OutboundUrl {
  std::string scheme;  // lowercase: http, https, ws, wss
  std::string host;    // as written: IPv6 in brackets ("[::1]")
  bool encrypted = false;
  bool has_userinfo = false;
};

// Every part of an absolute URL with a host; what check_outbound_url and
// display_url (http_client_support.hpp) read.
struct UrlParts {
  std::string scheme;  // lowercase
  std::string host;    // IPv6 in brackets
  std::string port;    // empty: none written
  std::string path;    // "/" when none written
  bool has_userinfo = false;
};

// Splits `url` (host empty when it has none); the error says what is wrong without quoting the URL.
Result<UrlParts> split_url(std::string_view url);

// 127.0.0.0/8, ::1 and the name `localhost` exactly (any case). Not
// `localhost.example.com`, not `127.0.0.1.nip.io`. Brackets around IPv6 allowed.
bool is_loopback_host(std::string_view host);

// Parses `url` and applies the rule: the scheme belongs to `transport`; a
// sensitive URL (or one carrying userinfo) is encrypted (https, wss) unless its
// host is loopback. The error says what is wrong and how to fix it, without
// quoting the URL (it may hold credentials).
Result<OutboundUrl> check_outbound_url(std::string_view url, UrlSecrecy secrecy,
                                       UrlTransport transport = UrlTransport::http);

// check_outbound_url for a config value: throws ConfigError naming file:line and `key`.
void require_outbound_url(const ConfigNode& node, const std::string& key, std::string_view url, UrlSecrecy secrecy,
                          UrlTransport transport = UrlTransport::http);

}  // namespace opsgate::net
