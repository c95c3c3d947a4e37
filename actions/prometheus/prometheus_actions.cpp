#include "actions/prometheus/prometheus_actions.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "actions/prometheus/prometheus_answers.hpp"
#include "actions/prometheus/prometheus_api.hpp"
#include "actions/prometheus/prometheus_format.hpp"
#include "actions/prometheus/promql_template.hpp"
#include "src/core/duration.hpp"
#include "src/net/outbound_url.hpp"
#include "src/core/json_get.hpp"
#include <fmt/format.h>

namespace opsgate::actions::prometheus {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

constexpr std::int64_t kDefaultRange = 3600;

// The template of `metric` for `target`: the target's override, the
// configured one, or the default.
const std::string& metric_template(const PrometheusConfig& config, const std::string& target,
                                   const std::string& metric) {
  if (const auto t = config.target_metrics.find(target); t != config.target_metrics.end()) {
    if (const auto m = t->second.find(metric); m != t->second.end()) {
      return m->second;
    }
  }
  if (const auto m = config.metrics.find(metric); m != config.metrics.end()) {
    return m->second;
  }
  return default_metric_templates().at(metric);
}

// Everything the three actions share: built once, read-only afterwards.
struct Shared {
  PrometheusConfig config;
  std::shared_ptr<const Inventory> inventory;
  std::shared_ptr<const Clock> clock;
  std::unique_ptr<PrometheusApi> api;
  std::unique_ptr<AlertmanagerApi> alertmanager;  // null: none configured
  std::string graph_base;

  const std::string& template_for(const std::string& target, const std::string& metric) const {
    return metric_template(config, target, metric);
  }

  std::int64_t now_s() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock->now().time_since_epoch()).count();
  }
};

std::int64_t range_param(const json& params) {
  const auto found = params.find("range_s");
  if (found != params.end() && found->is_number_integer() && found->get<std::int64_t>() > 0) {
    return found->get<std::int64_t>();
  }
  if (found != params.end() && found->is_string()) {
    return parse_duration_seconds(found->get<std::string>()).value_or(kDefaultRange);
  }
  return kDefaultRange;
}

bool known_metric(const std::string& name) { return std::find(kMetrics.begin(), kMetrics.end(), name) != kMetrics.end(); }

std::string metric_list() {
  return fmt::to_string(fmt::join(kMetrics, ", "));
}

// A `metrics:` mapping of metric name -> template.
std::map<std::string, std::string> parse_templates(const ConfigNode& node, bool needs_selector) {
  if (!node.is_map()) {
    node.fail_here("expected a mapping of metric names to PromQL templates, e.g. "
                   "error_rate: 'sum(rate(http_requests_total{$selector,code=~\"5..\"}[5m])) / ...'");
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : node.entries()) {
    if (!known_metric(name)) {
      node.fail(name, "unknown metric (the metrics are: " + metric_list() + ")");
    }
    const std::string text = value.as_string();
    if (auto problem = template_problem(text, needs_selector)) {
      node.fail(name, *problem);
    }
    out[name] = text;
  }
  node.finish();
  return out;
}

// metrics.query: one named metric of one target over a range.
// Built by make_prometheus_actions, owned by the registry; execute() may run
// concurrently on any strand (it only reads shared_).
class MetricsQueryAction final : public opsgate::Action {
 public:
  explicit MetricsQueryAction(std::shared_ptr<const Shared> shared)
      : spec_(*find_action("metrics.query")), shared_(std::move(shared)) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    const Shared& s = *shared_;
    MetricQuery q;
    q.target = json_get::string_at(request.params, "target");
    q.env = json_get::string_at(request.params, "env");
    q.metric = json_get::string_at(request.params, "metric");
    q.range_s = range_param(request.params);
    if (q.env.empty()) {
      q.env = s.inventory->default_env();
    }
    if (!known_metric(q.metric)) {
      co_return fail(Errc::invalid_input, "unknown metric '" + q.metric + "' (known: " + metric_list() + ")");
    }
    const TargetPlacement* placement = s.inventory->placement(q.target, q.env);
    if (placement == nullptr) {
      co_return fail(Errc::not_found, q.target + " does not run in " + q.env + " (per the inventory)");
    }
    q.selector = placement->prometheus_selector;
    const TemplateValues values{placement->prometheus_selector, format_duration(q.range_s), q.target, q.env,
                                placement->namespace_name};
    q.query = render_template(s.template_for(q.target, q.metric), values);
    q.step_s = step_for_range(q.range_s);
    q.graph_url = graph_link(s.graph_base, q.query, q.range_s);
    const std::int64_t end = s.now_s();
    const std::int64_t start = end - q.range_s;
    const std::int64_t step = q.step_s;
    std::string promql = q.query;
    auto answer = co_await s.api->query_range(std::move(promql), start, end, step);
    if (!answer) {
      co_return tl::unexpected(answer.error());
    }
    co_return summarise_metric(q, *answer);
  }

 private:
  const ActionSpec& spec_;
  std::shared_ptr<const Shared> shared_;
};

// metrics.promql: a raw instant query, for people the policy trusts with it.
// Same ownership and threading as MetricsQueryAction.
class PromqlAction final : public opsgate::Action {
 public:
  explicit PromqlAction(std::shared_ptr<const Shared> shared)
      : spec_(*find_action("metrics.promql")), shared_(std::move(shared)) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    const Shared& s = *shared_;
    std::string query = json_get::string_at(request.params, "query");
    const auto first = query.find_first_not_of(" \t");
    if (first == std::string::npos) {
      co_return fail(Errc::invalid_input, "the query is empty");
    }
    if (query.size() > s.config.max_query_length) {
      co_return fail(Errc::invalid_input, "the query is " + std::to_string(query.size()) +
                                              " characters long; metrics.promql accepts at most " +
                                              std::to_string(s.config.max_query_length));
    }
    const std::string link = graph_link(s.graph_base, query, range_param(request.params));
    std::string promql = query;
    const std::int64_t now = s.now_s();
    auto answer = co_await s.api->query(std::move(promql), now);
    if (!answer) {
      co_return tl::unexpected(answer.error());
    }
    co_return summarise_promql(query, *answer, s.config.max_series, link);
  }

 private:
  const ActionSpec& spec_;
  std::shared_ptr<const Shared> shared_;
};

// alerts.list: pending and firing alerts, optionally for one target and/or env.
// Same ownership and threading as MetricsQueryAction.
class AlertsListAction final : public opsgate::Action {
 public:
  explicit AlertsListAction(std::shared_ptr<const Shared> shared)
      : spec_(*find_action("alerts.list")), shared_(std::move(shared)) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    const Shared& s = *shared_;
    const AlertFilter filter{json_get::string_at(request.params, "target"), json_get::string_at(request.params, "env")};
    auto answer = co_await s.api->alerts();
    AlertSources sources{std::move(answer), std::nullopt};
    if (s.alertmanager) {
      auto active = co_await s.alertmanager->active_alerts();
      sources.alertmanager = std::move(active);
    }
    co_return summarise_alerts(sources, filter, s.config.alert_labels, *s.inventory, s.config.max_series, s.now_s());
  }

 private:
  const ActionSpec& spec_;
  std::shared_ptr<const Shared> shared_;
};

}  // namespace

const std::map<std::string, std::string>& default_metric_templates() {
  static const std::map<std::string, std::string> templates{
      {"error_rate",
       R"(sum(rate(http_requests_total{$selector,code=~"5.."}[5m])) / sum(rate(http_requests_total{$selector}[5m])))"},
      {"latency_p99",
       "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{$selector}[5m])))"},
      {"latency_p50",
       "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{$selector}[5m])))"},
      {"rps", "sum(rate(http_requests_total{$selector}[5m]))"},
      {"cpu", "sum(rate(container_cpu_usage_seconds_total{$selector}[5m]))"},
      {"memory", "sum(container_memory_working_set_bytes{$selector})"},
      {"restarts", "sum(increase(kube_pod_container_status_restarts_total{$selector}[$range]))"},
  };
  return templates;
}

PrometheusConfig parse_prometheus_config(const ConfigNode& node) {
  PrometheusConfig config;
  config.connection = net::parse_backend_connection(node);
  if (const auto metrics = node.optional_child("metrics")) {
    config.metrics = parse_templates(*metrics, true);
  }
  if (const auto targets = node.optional_child("targets")) {
    if (!targets->is_map()) {
      node.fail("targets", "expected a mapping of target names to {metrics: {...}}");
    }
    for (const auto& [name, target] : targets->entries()) {
      if (!target.is_map()) {
        targets->fail(name, "expected {metrics: {metric: template}}");
      }
      // A per-target template may name its series directly, without $selector.
      config.target_metrics[name] = parse_templates(target.child("metrics"), false);
      target.finish();
    }
    targets->finish();
  }
  config.graph_url = node.str_or("graph_url", "");
  while (!config.graph_url.empty() && config.graph_url.back() == '/') {
    config.graph_url.pop_back();
  }
  if (!config.graph_url.empty()) {
    // Only shown as a link in chat: nothing is sent there.
    net::require_outbound_url(node, "graph_url", config.graph_url, net::UrlSecrecy::plain);
  }
  config.max_series = static_cast<std::size_t>(node.integer_or("max_series", 10, 1, 100));
  config.max_query_length = static_cast<std::size_t>(node.integer_or("max_query_length", 2000, 10, 10000));
  config.max_retries = static_cast<int>(node.integer_or("max_retries", 2, 0, 5));
  if (const auto labels = node.optional_child("alert_labels")) {
    if (!labels->is_map()) {
      node.fail("alert_labels", "expected {target: [service, app], env: [env, namespace]}");
    }
    config.alert_labels.target = labels->strings_or("target", config.alert_labels.target);
    config.alert_labels.env = labels->strings_or("env", config.alert_labels.env);
    labels->finish();
  }
  if (const auto alertmanager = node.optional_child("alertmanager")) {
    if (!alertmanager->is_map()) {
      node.fail("alertmanager", "expected {url: http://alertmanager:9093, bearer_token: ..., timeout: 10s}");
    }
    config.alertmanager = net::parse_backend_connection(*alertmanager);
    alertmanager->finish();
  }
  node.finish();
  return config;
}

std::vector<std::unique_ptr<opsgate::Action>> make_prometheus_actions(const PrometheusConfig& config,
                                                                      std::shared_ptr<const Inventory> inventory,
                                                                      net::HttpClient& http,
                                                                      std::shared_ptr<const Clock> clock) {
  if (!inventory) {
    throw ConfigError("actions.prometheus: the Prometheus actions need the inventory");
  }
  for (const auto& [target, metrics] : config.target_metrics) {
    if (inventory->find_target(target) == nullptr || inventory->find_target(target)->name != target) {
      throw ConfigError("actions.prometheus.targets." + target + ": not a target of the inventory");
    }
    for (const auto& [metric, text] : metrics) {
      if (!known_metric(metric)) {
        throw ConfigError("actions.prometheus.targets." + target + ".metrics." + metric + ": unknown metric");
      }
      if (auto problem = template_problem(text, false)) {
        throw ConfigError("actions.prometheus.targets." + target + ".metrics." + metric + ": " + *problem);
      }
    }
  }
  for (const auto& [metric, text] : config.metrics) {
    if (!known_metric(metric)) {
      throw ConfigError("actions.prometheus.metrics." + metric + ": unknown metric");
    }
    if (auto problem = template_problem(text, true)) {
      throw ConfigError("actions.prometheus.metrics." + metric + ": " + *problem);
    }
  }
  auto shared = std::make_shared<Shared>();
  shared->config = config;
  shared->inventory = std::move(inventory);
  shared->clock = clock ? std::move(clock) : std::make_shared<const SystemClock>();
  shared->api = std::make_unique<PrometheusApi>(config.connection, http, config.max_retries);
  if (config.alertmanager) {
    shared->alertmanager = std::make_unique<AlertmanagerApi>(*config.alertmanager, http, config.max_retries);
  }
  shared->graph_base = config.graph_url.empty() ? config.connection.url : config.graph_url;

  std::shared_ptr<const Shared> frozen = std::move(shared);
  std::vector<std::unique_ptr<opsgate::Action>> actions;
  actions.push_back(std::make_unique<MetricsQueryAction>(frozen));
  actions.push_back(std::make_unique<PromqlAction>(frozen));
  actions.push_back(std::make_unique<AlertsListAction>(frozen));
  return actions;
}

struct PrometheusReader::State {
  PrometheusConfig config;
  std::shared_ptr<const Inventory> inventory;
  std::unique_ptr<PrometheusApi> api;
  std::string graph_base;
};

PrometheusReader::PrometheusReader(const PrometheusConfig& config, std::shared_ptr<const Inventory> inventory,
                                   net::HttpClient& http)
    : state_(std::make_unique<State>()) {
  state_->config = config;
  state_->inventory = std::move(inventory);
  state_->api = std::make_unique<PrometheusApi>(config.connection, http, config.max_retries);
  state_->graph_base = config.graph_url.empty() ? config.connection.url : config.graph_url;
}

PrometheusReader::~PrometheusReader() = default;

asio::awaitable<Result<RangeAnswer>> PrometheusReader::metric(std::string target, std::string env, std::string metric,
                                                              std::int64_t start_s, std::int64_t end_s,
                                                              std::int64_t step_s) {
  if (!known_metric(metric)) {
    co_return fail(Errc::invalid_input, "unknown metric '" + metric + "' (known: " + metric_list() + ")");
  }
  std::string text = metric_template(state_->config, target, metric);
  auto answer = co_await templated(std::move(text), std::move(target), std::move(env), start_s, end_s, step_s);
  co_return answer;
}

asio::awaitable<Result<RangeAnswer>> PrometheusReader::templated(std::string template_text, std::string target,
                                                                 std::string env, std::int64_t start_s,
                                                                 std::int64_t end_s, std::int64_t step_s) {
  const TargetPlacement* placement = state_->inventory->placement(target, env);
  if (placement == nullptr) {
    co_return fail(Errc::not_found, target + " does not run in " + env + " (per the inventory)");
  }
  const TemplateValues values{placement->prometheus_selector, format_duration(std::max<std::int64_t>(1, end_s - start_s)),
                              target, env, placement->namespace_name};
  RangeAnswer out;
  out.query = render_template(template_text, values);
  std::string promql = out.query;
  auto answer = co_await state_->api->query_range(std::move(promql), start_s, end_s, step_s);
  if (!answer) {
    co_return tl::unexpected(answer.error());
  }
  auto series = read_matrix(*answer);
  if (!series) {
    co_return tl::unexpected(series.error());
  }
  out.series = std::move(*series);
  co_return out;
}

std::string PrometheusReader::graph_link(const std::string& promql, std::int64_t range_s) const {
  return prometheus::graph_link(state_->graph_base, promql, range_s);
}

const std::string& PrometheusReader::url() const { return state_->config.connection.url; }

std::optional<std::string> extra_template_problem(std::string_view text) { return template_problem(text, false); }

}  // namespace opsgate::actions::prometheus
