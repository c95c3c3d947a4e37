#include "src/net/outbound_url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include "src/core/text.hpp"

namespace opsgate::net {

namespace {

bool is_control_or_space(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }

bool is_scheme(std::string_view scheme) {
  return !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme.front())) != 0 &&
         std::all_of(scheme.begin(), scheme.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
         });
}

// Letters, digits, '.', '-', '_': a host name every URL parser reads alike.
// RFC 3986 also allows sub-delims (`!$&'()*+,;=`) and %-escapes, which
// parsers treat differently, so a host holding them is refused.
bool is_plain_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

// A strict subset of RFC 3986 on purpose, not a general parser: what is
// accepted here, libcurl (which sends the request, and is loaded only then)
// splits the same way; anything two parsers could split differently (two
// '@', a backslash, a space, an escaped or exotic host, a port beyond 65535)
// is refused. Boost.URL 1.81 was tried and splits "http://127.0.0.1.evil.com"
// as host 127.0.0.1 with path ".evil.com".
Result<UrlParts> split_url(std::string_view url) {
  if (std::any_of(url.begin(), url.end(), is_control_or_space)) {
    return fail(Errc::invalid_input, "not a valid URL (it contains a space or a control character)");
  }
  const auto colon = url.find("://");
  if (colon == std::string_view::npos || !is_scheme(url.substr(0, colon))) {
    return fail(Errc::invalid_input, "not a valid URL (it needs a scheme and a host, as in scheme://host/path)");
  }
  UrlParts out;
  out.scheme = text::to_lower(url.substr(0, colon));
  const std::string_view rest = url.substr(colon + 3);
  const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  const std::string_view tail = rest.substr(authority_end);
  if (authority.find('\\') != std::string_view::npos) {
    return fail(Errc::invalid_input, "not a valid URL (a backslash before the path)");
  }
  if (const auto at = authority.find('@'); at != std::string_view::npos) {
    if (authority.find('@', at + 1) != std::string_view::npos) {
      return fail(Errc::invalid_input, "not a valid URL (more than one '@': escape it as %40 in the user or password)");
    }
    out.has_userinfo = true;
    authority = authority.substr(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return fail(Errc::invalid_input, "not a valid URL (an IPv6 address without its closing ']')");
    }
    const std::string address(authority.substr(1, close - 1));
    in6_addr v6{};
    if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) {
      return fail(Errc::invalid_input, "the URL's host is not a valid IPv6 address");
    }
    out.host = std::string(authority.substr(0, close + 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return fail(Errc::invalid_input, "not a valid URL (text after the IPv6 address)");
    }
    port = after.empty() ? after : after.substr(1);
  } else {
    const auto port_colon = authority.find(':');
    out.host = std::string(authority.substr(0, port_colon));
    port = port_colon == std::string_view::npos ? std::string_view{} : authority.substr(port_colon + 1);
    if (!out.host.empty() && !is_plain_host_name(out.host)) {
      return fail(Errc::invalid_input, "the URL's host is not a plain name or IP address (letters, digits, '.', '-', '_')");
    }
  }
  if (!port.empty()) {
    const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
      return fail(Errc::invalid_input, "the URL's port is not between 1 and 65535");
    }
    out.port = std::string(port);
  }
  const auto path_end = std::min(tail.find_first_of("?#"), tail.size());
  out.path = path_end == 0 ? "/" : std::string(tail.substr(0, path_end));
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (text::iequals(host, "localhost")) {
    return true;
  }
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

Result<OutboundUrl> check_outbound_url(std::string_view url, UrlSecrecy secrecy, UrlTransport transport) {
  const bool websocket = transport == UrlTransport::websocket;
  const std::string example = websocket ? "wss://gateway.discord.gg" : "https://api.example.com";
  if (url.find('\0') != std::string_view::npos) {
    return fail(Errc::invalid_input, "the URL contains a NUL byte");
  }
  auto parts = split_url(url);
  if (!parts) {
    return fail(Errc::invalid_input, parts.error().message + "; expected e.g. " + example);
  }
  OutboundUrl out;
  out.scheme = std::move(parts->scheme);
  out.host = std::move(parts->host);
  out.has_userinfo = parts->has_userinfo;
  const std::string secure = websocket ? "wss" : "https";
  const std::string insecure = websocket ? "ws" : "http";
  if (out.scheme != secure && out.scheme != insecure) {
    return fail(Errc::invalid_input, "unsupported scheme '" + out.scheme.substr(0, 16) + "': expected " + secure + "://… (e.g. " +
                                         example + ")");
  }
  if (out.host.empty()) {
    return fail(Errc::invalid_input, "the URL has no host; expected e.g. " + example);
  }
  out.encrypted = out.scheme == secure;
  const bool sensitive = secrecy == UrlSecrecy::sensitive || out.has_userinfo;
  if (sensitive && !out.encrypted && !is_loopback_host(out.host)) {
    return fail(Errc::invalid_input, "plain " + insecure + ":// to '" + out.host.substr(0, 253) +
                                         "' would send credentials or fetch signing keys unencrypted: use " + secure +
                                         "://, or " + insecure + ":// only to a loopback host (127.0.0.0/8, ::1, localhost)");
  }
  return out;
}

void require_outbound_url(const ConfigNode& node, const std::string& key, std::string_view url, UrlSecrecy secrecy,
                          UrlTransport transport) {
  const auto checked = check_outbound_url(url, secrecy, transport);
  if (!checked) {
    node.fail(key, checked.error().message);
  }
}

}  // namespace opsgate::net
