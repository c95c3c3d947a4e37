#pragma once
// The Prometheus backend: metrics.query (named metrics of a target as PromQL
// templates), metrics.promql (a raw query, privileged) and alerts.list. This
// is the folder's one public header: its config, the config reader and the factory.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/action.hpp"
#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/net/backend_connection.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::actions::prometheus {

// Which labels of an alert name its target and its environment. An env label
// matches the environment's name or the placement's namespace ("shop-prod").
struct AlertLabels {
  std::vector<std::string> target{"service", "app"};
  std::vector<std::string> env{"env", "namespace"};
};

// The `actions.prometheus` section, validated once at start-up and immutable after.
// Owned by whoever builds the actions; the actions keep their own copy.
struct PrometheusConfig {
  net::BackendConnection connection;
  // Metric name (one of kMetrics) -> PromQL template, overriding
  // default_metric_templates(). Placeholders: see promql_template.hpp
  // ($selector, $range, $target, $env, $namespace).
  std::map<std::string, std::string> metrics;
  // Target -> metric -> template, overriding both for that target only.
  std::map<std::string, std::map<std::string, std::string>> target_metrics;
  std::string graph_url;              // base of graph links; empty: connection.url
  std::size_t max_series = 10;        // series (and alerts) listed in one answer
  std::size_t max_query_length = 2000;  // metrics.promql refuses longer queries
  int max_retries = 2;                // GETs retried on connection errors and 5xx
  AlertLabels alert_labels;
  // When set, alerts.list also lists Alertmanager's active alerts (API v2).
  std::optional<net::BackendConnection> alertmanager;
};

// error_rate, latency_p99, latency_p50, rps, cpu, memory, restarts.
const std::map<std::string, std::string>& default_metric_templates();

// Reads the `actions.prometheus` mapping:
//   url, bearer_token, basic_auth, headers, ca_file, insecure_skip_verify, timeout
//     (net::parse_backend_connection)
//   metrics: {error_rate: 'sum(rate(...{$selector,...}[5m])) / ...'}
//   targets: {checkout: {metrics: {latency_p99: '...'}}}
//   graph_url, max_series (1-100), max_query_length (10-10000), max_retries (0-5),
//   alert_labels: {target: [service, app], env: [env, namespace]}
//   alertmanager: {url, bearer_token, basic_auth, headers, ca_file, insecure_skip_verify, timeout}
//     (net::parse_backend_connection; alerts.list then also asks Alertmanager)
// Throws ConfigError naming file:line:key for an unknown key or metric, or a
// template with an unknown placeholder (or, outside targets:, without $selector).
PrometheusConfig parse_prometheus_config(const ConfigNode& node);

// metrics.query, metrics.promql and alerts.list; each spec() is the
// catalogue's entry. `http` must outlive the actions; `clock` (default: the
// system clock) gives "now" for ranges and alert ages. Throws ConfigError for
// a target under `targets:` that the inventory does not know (start-up only).
std::vector<std::unique_ptr<opsgate::Action>> make_prometheus_actions(const PrometheusConfig& config,
                                                                      std::shared_ptr<const Inventory> inventory,
                                                                      net::HttpClient& http,
                                                                      std::shared_ptr<const Clock> clock = nullptr);

// One series of a range query: its labels and its samples (unix seconds, value).
struct SeriesSamples {
  nlohmann::json labels = nlohmann::json::object();
  std::vector<std::pair<std::int64_t, double>> points;
};

// A range query's answer as numbers: the PromQL it ran and every series.
struct RangeAnswer {
  std::string query;
  std::vector<SeriesSamples> series;
};

// The configured Prometheus as composite actions (triage) read it: the same
// templates (defaults, `metrics:`, `targets:`) and HTTP client as
// metrics.query, numbers instead of chat text. Built by make_prometheus_reader,
// shared by its users; the HttpClient must outlive it. Calls may run
// concurrently on any strand.
class PrometheusReader {
 public:
  PrometheusReader(const PrometheusConfig& config, std::shared_ptr<const Inventory> inventory, net::HttpClient& http);
  ~PrometheusReader();
  PrometheusReader(const PrometheusReader&) = delete;
  PrometheusReader& operator=(const PrometheusReader&) = delete;

  // A named metric (kMetrics) of `target` in `env` over [start_s, end_s];
  // $range is end_s - start_s.
  boost::asio::awaitable<Result<RangeAnswer>> metric(std::string target, std::string env, std::string metric,
                                                     std::int64_t start_s, std::int64_t end_s, std::int64_t step_s);
  // Any template (placeholders as in promql_template.hpp) for `target` in `env`.
  boost::asio::awaitable<Result<RangeAnswer>> templated(std::string template_text, std::string target,
                                                        std::string env, std::int64_t start_s, std::int64_t end_s,
                                                        std::int64_t step_s);
  // <graph_url or url>/graph?g0.expr=...: the query in Prometheus' UI.
  std::string graph_link(const std::string& promql, std::int64_t range_s) const;
  const std::string& url() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Why `text` cannot be a template of a composite action's query (an unknown
// placeholder), or nullopt. $selector is not required.
std::optional<std::string> extra_template_problem(std::string_view text);

}  // namespace opsgate::actions::prometheus
