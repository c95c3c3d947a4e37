#include "src/net/outbound_url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include <curl/curl.h>

#include "src/core/text.hpp"

namespace opsgate::net {

namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// A part libcurl allocated; empty when the URL has no such part.
std::string url_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr) {
    return {};
  }
  std::string out(text);
  curl_free(text);
  return out;
}

}  // namespace

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
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed) {
    return fail(Errc::internal, "out of memory parsing a URL");
  }
  const std::string text(url);
  // NON_SUPPORT_SCHEME: ws/wss parse even where libcurl was built without WebSockets.
  const CURLUcode set = curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (set != CURLUE_OK) {
    return fail(Errc::invalid_input,
                std::string("not a valid URL (") + curl_url_strerror(set) + "); expected e.g. " + example);
  }
  OutboundUrl out;
  out.scheme = text::to_lower(url_part(parsed.get(), CURLUPART_SCHEME));
  out.host = url_part(parsed.get(), CURLUPART_HOST);
  out.has_userinfo = !url_part(parsed.get(), CURLUPART_USER).empty() || !url_part(parsed.get(), CURLUPART_PASSWORD).empty();
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
