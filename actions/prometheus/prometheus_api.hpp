#pragma once
// Prometheus' HTTP API as the actions need it: instant and range queries and
// the alert list, each returning the envelope's `data` or an Error a person
// can act on (Prometheus' errorType and error quoted, never the credentials).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/error.hpp"
#include "src/net/backend_connection.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::actions::prometheus {

// The `data` of a successful answer, and Prometheus' warnings, if any.
struct ApiAnswer {
  nlohmann::json data;
  std::vector<std::string> warnings;
};

// One Prometheus server. Built by make_prometheus_actions and shared by its
// actions; the HttpClient must outlive it. Calls may run concurrently on any strand.
class PrometheusApi {
 public:
  PrometheusApi(net::BackendConnection connection, net::HttpClient& http, int max_retries);

  // GET /api/v1/query (POST, form-encoded, when the URL would be too long).
  boost::asio::awaitable<Result<ApiAnswer>> query(std::string promql, std::int64_t time_s);
  // GET /api/v1/query_range; times in unix seconds, step in seconds.
  boost::asio::awaitable<Result<ApiAnswer>> query_range(std::string promql, std::int64_t start_s, std::int64_t end_s,
                                                        std::int64_t step_s);
  // GET /api/v1/alerts.
  boost::asio::awaitable<Result<ApiAnswer>> alerts();

  const std::string& url() const { return connection_.url; }

 private:
  boost::asio::awaitable<Result<ApiAnswer>> call(std::string path,
                                                 std::vector<std::pair<std::string, std::string>> params);

  net::BackendConnection connection_;
  net::HttpClient& http_;
  int max_retries_;
};

// One Alertmanager (API v2), for alerts.list. Same ownership and threading as PrometheusApi.
class AlertmanagerApi {
 public:
  AlertmanagerApi(net::BackendConnection connection, net::HttpClient& http, int max_retries);

  // GET /api/v2/alerts?active=true&silenced=false&inhibited=false: the JSON array of alerts.
  boost::asio::awaitable<Result<nlohmann::json>> active_alerts();

 private:
  net::BackendConnection connection_;
  net::HttpClient& http_;
  int max_retries_;
};

// Reads one HTTP answer of Alertmanager's /api/v2/alerts: the JSON array on
// 2xx; otherwise an Error (401/403 -> denied, 404 -> not_found, 502-504 ->
// unavailable, others and non-arrays -> upstream).
Result<nlohmann::json> read_alertmanager_response(const net::HttpClientResponse& response, const std::string& path);

// Reads one HTTP answer of Prometheus: the envelope on 2xx, errorType and
// error otherwise (400 bad_data -> invalid_input, 503 timeout -> timeout,
// 401/403 -> denied, 404 -> not_found, others -> upstream). `path` names the
// endpoint in messages.
Result<ApiAnswer> read_api_response(const net::HttpClientResponse& response, const std::string& path);

}  // namespace opsgate::actions::prometheus
