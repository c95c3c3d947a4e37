#include "actions/prometheus/prometheus_api.hpp"

#include <algorithm>
#include <chrono>

#include "actions/prometheus/prometheus_format.hpp"
#include "src/core/json_get.hpp"

namespace opsgate::actions::prometheus {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

// Longer URLs go as a form-encoded POST: proxies commonly cap request lines
// at 4-8 KiB, and a 2000-character query can triple when percent-encoded.
constexpr std::size_t kMaxGetUrl = 3000;

Errc code_for_status(int status, const std::string& error_type) {
  if (status == 400 || error_type == "bad_data") {
    return Errc::invalid_input;
  }
  if (status == 401 || status == 403) {
    return Errc::denied;
  }
  if (status == 404) {
    return Errc::not_found;
  }
  if (error_type == "timeout") {
    return Errc::timeout;
  }
  if (status == 502 || status == 503 || status == 504) {
    return error_type.empty() ? Errc::unavailable : Errc::upstream;
  }
  return Errc::upstream;
}

std::vector<std::string> warnings_of(const json& body) {
  std::vector<std::string> out;
  const auto found = body.find("warnings");
  if (found == body.end() || !found->is_array()) {
    return out;
  }
  for (const auto& warning : *found) {
    if (warning.is_string()) {
      out.push_back(snippet(warning.get<std::string>(), 300));
    }
  }
  return out;
}

}  // namespace

PrometheusApi::PrometheusApi(net::BackendConnection connection, net::HttpClient& http, int max_retries)
    : connection_(std::move(connection)), http_(http), max_retries_(max_retries) {}

asio::awaitable<Result<ApiAnswer>> PrometheusApi::query(std::string promql, std::int64_t time_s) {
  std::vector<std::pair<std::string, std::string>> params{{"query", std::move(promql)},
                                                          {"time", std::to_string(time_s)}};
  std::string path = "/api/v1/query";
  auto answer = co_await call(std::move(path), std::move(params));
  co_return answer;
}

asio::awaitable<Result<ApiAnswer>> PrometheusApi::query_range(std::string promql, std::int64_t start_s,
                                                              std::int64_t end_s, std::int64_t step_s) {
  std::vector<std::pair<std::string, std::string>> params{{"query", std::move(promql)},
                                                          {"start", std::to_string(start_s)},
                                                          {"end", std::to_string(end_s)},
                                                          {"step", std::to_string(step_s)}};
  std::string path = "/api/v1/query_range";
  auto answer = co_await call(std::move(path), std::move(params));
  co_return answer;
}

asio::awaitable<Result<ApiAnswer>> PrometheusApi::alerts() {
  std::string path = "/api/v1/alerts";
  std::vector<std::pair<std::string, std::string>> params;
  auto answer = co_await call(std::move(path), std::move(params));
  co_return answer;
}

asio::awaitable<Result<ApiAnswer>> PrometheusApi::call(std::string path,
                                                       std::vector<std::pair<std::string, std::string>> params) {
  if (path != "/api/v1/alerts") {
    // Prometheus stops evaluating when we stop waiting, instead of burning CPU on an answer nobody reads.
    const auto seconds = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(connection_.timeout).count());
    params.emplace_back("timeout", std::to_string(seconds) + "s");
  }
  const std::string form = net::form_encode(params);
  net::HttpClientRequest request;
  if (connection_.url.size() + path.size() + form.size() + 1 > kMaxGetUrl) {
    request = net::make_request(connection_, "POST", path);
    request.body = form;
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    request = net::make_request(connection_, "GET", form.empty() ? path : path + "?" + form);
    request.max_retries = max_retries_;
  }
  request.headers.emplace_back("Accept", "application/json");
  auto response = co_await http_.send(std::move(request));
  if (!response) {
    co_return tl::unexpected(response.error());
  }
  co_return read_api_response(*response, path);
}

Result<ApiAnswer> read_api_response(const net::HttpClientResponse& response, const std::string& path) {
  const json body = json::parse(response.body, nullptr, false);
  const bool is_json = !body.is_discarded() && body.is_object();
  const std::string status = is_json ? json_get::string_at(body, "status") : "";
  const std::string error_type = is_json ? json_get::string_at(body, "errorType") : "";
  const std::string error = is_json ? json_get::string_at(body, "error") : "";

  if (response.status >= 200 && response.status < 300) {
    if (!is_json) {
      return fail(Errc::upstream, "Prometheus answered " + path + " with something that is not JSON: " +
                                      snippet(response.body, 120));
    }
    if (status != "success") {
      return fail(Errc::upstream, "Prometheus answered " + path + " with status '" + snippet(status, 40) + "'" +
                                      (error.empty() ? "" : ": " + snippet(error, 500)));
    }
    const auto data = body.find("data");
    if (data == body.end()) {
      return fail(Errc::upstream, "Prometheus answered " + path + " without data");
    }
    return ApiAnswer{*data, warnings_of(body)};
  }

  const Errc code = code_for_status(response.status, error_type);
  const std::string http_status = "HTTP " + std::to_string(response.status);
  if (!error.empty()) {
    const std::string kind = error_type.empty() ? http_status : error_type;
    if (code == Errc::invalid_input) {
      return fail(code, "Prometheus rejected the query (" + kind + "): " + snippet(error, 500));
    }
    if (code == Errc::timeout) {
      return fail(code, "Prometheus gave up on the query (" + kind + "): " + snippet(error, 500));
    }
    return fail(code, "Prometheus could not answer " + path + " (" + kind + ", " + http_status +
                          "): " + snippet(error, 500));
  }
  if (code == Errc::denied) {
    return fail(code, "Prometheus refused our credentials for " + path + " (" + http_status +
                          "): check bearer_token or basic_auth");
  }
  if (code == Errc::not_found) {
    return fail(code, "Prometheus has no " + path + " (" + http_status + "): is `url` the Prometheus base URL?");
  }
  const std::string said = snippet(response.body, 200);
  return fail(code, "Prometheus answered " + path + " with " + http_status + (said.empty() ? "" : ": " + said));
}

AlertmanagerApi::AlertmanagerApi(net::BackendConnection connection, net::HttpClient& http, int max_retries)
    : connection_(std::move(connection)), http_(http), max_retries_(max_retries) {}

asio::awaitable<Result<json>> AlertmanagerApi::active_alerts() {
  const std::string path = "/api/v2/alerts";
  const std::vector<std::pair<std::string, std::string>> params{
      {"active", "true"}, {"silenced", "false"}, {"inhibited", "false"}};
  net::HttpClientRequest request = net::make_request(connection_, "GET", path + "?" + net::form_encode(params));
  request.max_retries = max_retries_;
  request.headers.emplace_back("Accept", "application/json");
  auto response = co_await http_.send(std::move(request));
  if (!response) {
    co_return tl::unexpected(response.error());
  }
  co_return read_alertmanager_response(*response, path);
}

Result<json> read_alertmanager_response(const net::HttpClientResponse& response, const std::string& path) {
  const std::string http_status = "HTTP " + std::to_string(response.status);
  if (response.status >= 200 && response.status < 300) {
    json body = json::parse(response.body, nullptr, false);
    if (body.is_discarded() || !body.is_array()) {
      return fail(Errc::upstream, "Alertmanager answered " + path + " with something that is not a JSON list: " +
                                      snippet(response.body, 120));
    }
    return body;
  }
  if (response.status == 401 || response.status == 403) {
    return fail(Errc::denied, "Alertmanager refused our credentials for " + path + " (" + http_status +
                                  "): check alertmanager.bearer_token or basic_auth");
  }
  if (response.status == 404) {
    return fail(Errc::not_found,
                "Alertmanager has no " + path + " (" + http_status + "): is alertmanager.url its base URL?");
  }
  const Errc code = response.status >= 502 && response.status <= 504 ? Errc::unavailable : Errc::upstream;
  const std::string said = snippet(response.body, 200);
  return fail(code, "Alertmanager answered " + path + " with " + http_status + (said.empty() ? "" : ": " + said));
}

}  // namespace opsgate::actions::prometheus
