#include "actions/kubernetes/kube_client.hpp"

#include <fstream>
#include <sstream>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/text.hpp"
#include "src/core/rfc3339.hpp"

namespace opsgate::actions::kubernetes {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

Error map_error(int status, const std::string& body, const KubeCall& call, const ClusterConfig& cluster) {
  const std::string message = status_message(status, body);
  const std::string where = call.namespace_name.empty() ? "" : " in " + call.namespace_name;
  if (status == 401) {
    return {Errc::denied, "the API server of " + cluster.env + " (" + cluster.api_server +
                              ") did not accept opsgate's credentials: " + message +
                              " — check token_file / client certificate under actions.kubernetes.clusters." +
                              cluster.env};
  }
  if (status == 403) {
    return {Errc::denied, "forbidden: opsgate's service account may not " + call.verb + " " + call.resource + where +
                              " (" + message + ") — grant it the Role in `config/k8s/rbac.yaml`"};
  }
  if (status == 404) {
    return {Errc::not_found, "not found: " + message + " — check the target's namespace and deployment in the "
                                                       "inventory (" + cluster.env + ")"};
  }
  if (status == 409) {
    return {Errc::conflict, "conflict: " + message};
  }
  if (status == 422) {
    return {Errc::invalid_input, "the API server refused the change: " + message};
  }
  return {Errc::upstream, "the API server of " + cluster.env + " answered " + std::to_string(status) + " to " +
                              call.verb + " " + call.resource + where + ": " + message};
}

}  // namespace

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  return format_rfc3339_utc(std::chrono::floor<std::chrono::seconds>(t));
}

KubeClient::KubeClient(ClusterConfig config, net::HttpClient& http) : config_(std::move(config)), http_(http) {}

Result<std::string> KubeClient::bearer_token(bool force_reread) {
  if (config_.token) {
    return config_.token->reveal();
  }
  if (config_.token_file.empty()) {
    return std::string{};  // client certificate only
  }
  std::lock_guard lock(token_mutex_);
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(config_.token_file, ec);
  const auto size = ec ? 0 : std::filesystem::file_size(config_.token_file, ec);
  const auto now = std::chrono::steady_clock::now();
  const bool changed = !token_mtime_ || ec || *token_mtime_ != mtime || token_size_ != size;
  if (!force_reread && !changed && !token_.empty() && now - token_read_at_ < config_.token_max_age) {
    return token_;
  }
  std::ifstream in(config_.token_file, std::ios::binary);
  if (!in) {
    return fail(Errc::unavailable, "cannot read the Kubernetes token file " + config_.token_file + " (" + config_.env +
                                       "): check actions.kubernetes.clusters." + config_.env + ".token_file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string token(text::trim(text.str()));
  if (token.empty()) {
    return fail(Errc::unavailable, "the Kubernetes token file " + config_.token_file + " is empty");
  }
  token_ = std::move(token);
  token_mtime_ = ec ? std::nullopt : std::optional(mtime);
  token_size_ = size;
  token_read_at_ = now;
  return token_;
}

net::HttpClientRequest KubeClient::make(const std::string& method, const std::string& path_and_query,
                                        const std::string& content_type, const std::string& body,
                                        const std::string& token) const {
  net::HttpClientRequest request;
  request.method = method;
  request.url = config_.api_server + path_and_query;
  request.headers.emplace_back("Accept", "application/json");
  if (!content_type.empty()) {
    request.headers.emplace_back("Content-Type", content_type);
  }
  if (!token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + token);
  }
  request.body = body;
  request.timeout = config_.timeout;
  request.verify_tls = config_.verify_tls;
  request.ca_file = config_.ca_file;
  request.client_cert_file = config_.client_cert_file;
  request.client_key_file = config_.client_key_file;
  request.max_retries = method == "GET" ? 1 : 0;
  return request;
}

asio::awaitable<Result<json>> KubeClient::send(std::string method, std::string path_and_query,
                                               std::string content_type, std::string body, KubeCall call) {
  bool reread = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = bearer_token(reread);
    if (!token) {
      co_return tl::unexpected(token.error());
    }
    net::HttpClientRequest request = make(method, path_and_query, content_type, body, *token);
    auto response = co_await http_.send(std::move(request));
    if (!response) {
      Error error = response.error();
      error.message = "Kubernetes API of " + config_.env + ": " + error.message;
      co_return tl::unexpected(error);
    }
    if (response->status == 401 && attempt == 0 && !config_.token_file.empty()) {
      reread = true;  // the kubelet may have rotated the token since we read it
      continue;
    }
    if (response->status < 200 || response->status > 299) {
      co_return tl::unexpected(map_error(response->status, response->body, call, config_));
    }
    json parsed = json::parse(response->body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      co_return fail(Errc::upstream, "the API server of " + config_.env + " answered " + call.verb + " " +
                                         call.resource + " with something that is not a JSON object");
    }
    co_return parsed;
  }
  co_return fail(Errc::denied, "the API server of " + config_.env + " refused opsgate's token twice");
}

}  // namespace opsgate::actions::kubernetes
