#pragma once
// One Kubernetes API server (one environment's cluster): where it is, how
// opsgate authenticates (a bearer token re-read from its file when the
// kubelet rotates it, or a client certificate) and the CA it trusts; and the
// JSON requests kubectl makes, with `Status` errors turned into answers.
// Private to actions/kubernetes; shared by that cluster's actions, any strand.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/error.hpp"
#include "src/core/secret.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::actions::kubernetes {

struct ClusterConfig {
  std::string env;
  std::string api_server;  // https://host:port, no trailing '/'
  std::string token_file;  // re-read when it changes (service account tokens rotate)
  std::optional<Secret> token;  // a fixed token instead of token_file
  std::string ca_file;          // empty: the system's CA bundle
  std::string client_cert_file;
  std::string client_key_file;
  bool verify_tls = true;
  bool in_cluster = false;
  std::chrono::milliseconds timeout{10000};
  std::chrono::seconds token_max_age{60};  // re-read at least this often even if the file looks unchanged
};

// What a request is, for error messages: "patch deployments in shop-prod".
struct KubeCall {
  std::string verb;       // get, list, patch
  std::string resource;   // deployments, deployments/scale, replicasets
  std::string namespace_name;
};

class KubeClient {
 public:
  KubeClient(ClusterConfig config, net::HttpClient& http);

  // Sends one request; a 2xx answer's JSON body, or an Error whose message is
  // the API server's Status message with what to do about it (Errc::denied
  // for 401/403, not_found 404, conflict 409, invalid_input 422, upstream
  // otherwise). A 401 re-reads the token file once and retries.
  boost::asio::awaitable<Result<nlohmann::json>> send(std::string method, std::string path_and_query,
                                                      std::string content_type, std::string body, KubeCall call);

  const ClusterConfig& config() const { return config_; }

 private:
  Result<std::string> bearer_token(bool force_reread);
  net::HttpClientRequest make(const std::string& method, const std::string& path_and_query,
                              const std::string& content_type, const std::string& body,
                              const std::string& token) const;

  ClusterConfig config_;
  net::HttpClient& http_;
  std::mutex token_mutex_;
  std::string token_;
  std::optional<std::filesystem::file_time_type> token_mtime_;
  std::uintmax_t token_size_ = 0;
  std::chrono::steady_clock::time_point token_read_at_{};
};

// "2026-01-01T00:00:00Z": RFC 3339 in UTC, second precision.
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

}  // namespace opsgate::actions::kubernetes
