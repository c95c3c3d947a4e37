#include "src/net/backend_connection.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "src/core/encoding.hpp"
#include "src/net/http_client_support.hpp"
#include "src/net/http_types.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::net {

namespace {

constexpr std::chrono::seconds kMinTimeout{1};
constexpr std::chrono::seconds kMaxTimeout{300};

void check_url(const ConfigNode& node, const std::string& url) {
  auto shown = detail::display_url(url);
  if (!shown) {
    node.fail("url", shown.error().message + " (expected e.g. http://127.0.0.1:9090)");
  }
  // display_url drops credentials, query and fragment: anything it dropped
  // would be silently ignored or leaked into logs, so refuse it.
  std::string normal = *shown;
  while (!normal.empty() && normal.back() == '/') {
    normal.pop_back();
  }
  if (!iequals_ascii(normal, url)) {
    node.fail("url", "give only scheme, host, port and path (e.g. https://prometheus.example:9090/prom); "
                     "credentials go in bearer_token or basic_auth");
  }
}

}  // namespace

BackendConnection parse_backend_connection(const ConfigNode& node) {
  BackendConnection c;
  std::string url = node.str("url");
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  check_url(node, url);
  c.url = url;
  // Checked once the credentials are known: see the end of this function.

  c.bearer_token = node.optional_secret("bearer_token");
  if (c.bearer_token && c.bearer_token->empty()) {
    node.fail("bearer_token", "is empty");
  }
  if (const auto basic = node.optional_child("basic_auth")) {
    if (c.bearer_token) {
      node.fail("basic_auth", "give bearer_token or basic_auth, not both");
    }
    if (!basic->is_map()) {
      node.fail("basic_auth", "expected {user: NAME, password: {env: NAME}}");
    }
    c.basic_user = basic->str("user");
    if (c.basic_user->find(':') != std::string::npos) {
      basic->fail("user", "a basic auth user name cannot contain ':'");
    }
    c.basic_password = basic->secret("password");
    basic->finish();
  }
  if (const auto headers = node.optional_child("headers")) {
    if (!headers->is_map()) {
      node.fail("headers", "expected a mapping of header names to values, e.g. {X-Scope-OrgID: tenant-1}");
    }
    for (const auto& [name, value] : headers->entries()) {
      const std::string text = value.as_string();
      if (auto problem = detail::header_problem(name, text)) {
        headers->fail(name, *problem);
      }
      if (iequals_ascii(name, "Authorization") && (c.bearer_token || c.basic_user)) {
        headers->fail(name, "Authorization is set by bearer_token or basic_auth; give one way only");
      }
      c.headers.emplace_back(name, text);
    }
    headers->finish();
  }
  c.ca_file = node.str_or("ca_file", "");
  c.verify_tls = !node.boolean_or("insecure_skip_verify", false);
  const auto timeout = node.duration_or("timeout", std::chrono::duration_cast<std::chrono::seconds>(c.timeout));
  if (timeout < kMinTimeout || timeout > kMaxTimeout) {
    node.fail("timeout", "expected 1s to 5m");
  }
  c.timeout = timeout;
  const bool authorization_header = std::any_of(c.headers.begin(), c.headers.end(), [](const auto& header) {
    return iequals_ascii(header.first, "Authorization");
  });
  const bool sensitive = c.bearer_token || c.basic_user || authorization_header;
  require_outbound_url(node, "url", c.url, sensitive ? UrlSecrecy::sensitive : UrlSecrecy::plain);
  return c;
}

HttpClientRequest make_request(const BackendConnection& connection, std::string method, std::string path_and_query) {
  HttpClientRequest request;
  request.method = std::move(method);
  request.url = connection.url + path_and_query;
  request.headers = connection.headers;
  if (connection.bearer_token) {
    request.headers.emplace_back("Authorization", "Bearer " + connection.bearer_token->reveal());
  } else if (connection.basic_user) {
    const std::string password = connection.basic_password ? connection.basic_password->reveal() : "";
    request.headers.emplace_back("Authorization", "Basic " + encoding::base64_encode(*connection.basic_user + ":" + password));
  }
  request.timeout = connection.timeout;
  request.verify_tls = connection.verify_tls;
  request.ca_file = connection.ca_file;
  return request;
}

}  // namespace opsgate::net
