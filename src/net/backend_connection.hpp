#pragma once
// How opsgate reaches one HTTP backend (Prometheus, Loki, ...): base URL,
// credentials, extra headers, TLS and timeout, read once from config; and the
// helpers that turn it into HttpClient requests.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/core/config_node.hpp"
#include "src/core/secret.hpp"
#include "src/net/http_client.hpp"
#include "src/net/url_encoding.hpp"  // url_encode/form_encode for paths and queries

namespace opsgate::net {

// One backend's connection settings; immutable after start-up, copied into the
// actions that use it. Secrets stay in Secret until make_request() builds headers.
struct BackendConnection {
  std::string url;  // base URL without trailing '/', e.g. http://127.0.0.1:9090 or https://host/prometheus
  std::optional<Secret> bearer_token;
  std::optional<std::string> basic_user;
  std::optional<Secret> basic_password;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request (e.g. X-Scope-OrgID)
  std::string ca_file;  // empty: the system's CA bundle
  bool verify_tls = true;
  std::chrono::milliseconds timeout{10000};
};

// Reads these keys of `node` (the backend's section) and leaves the others to
// the caller, which calls node.finish():
//   url: http(s)://host:port[/prefix]       (required; no credentials, query or fragment)
//   bearer_token: {env: NAME} | {file: PATH} (Authorization: Bearer ...)
//   basic_auth: {user: NAME, password: {env: NAME} | {file: PATH}}
//   headers: {Name: value, ...}
//   ca_file: PATH
//   insecure_skip_verify: false             (true turns TLS verification off)
//   timeout: 10s                            (1s to 5m, per request)
// Throws ConfigError naming file:line:key.
BackendConnection parse_backend_connection(const ConfigNode& node);

// A request to `connection.url + path_and_query` (which starts with '/') with
// the connection's headers, credentials, TLS settings and timeout.
HttpClientRequest make_request(const BackendConnection& connection, std::string method, std::string path_and_query);

}  // namespace opsgate::net
