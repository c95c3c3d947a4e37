#include <doctest/doctest.h>

#include <string>

#include "actions/prometheus/prometheus_actions.hpp"
#include "src/core/config_node.hpp"
#include "tests/actions/prometheus_test_support.hpp"

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::actions::prometheus::default_metric_templates;
using opsgate::actions::prometheus::make_prometheus_actions;
using opsgate::actions::prometheus::parse_prometheus_config;
using opsgate::actions::prometheus::PrometheusConfig;

namespace {

PrometheusConfig config_from(const std::string& yaml) {
  const ConfigNode root = ConfigNode::parse(yaml, "test.yaml");
  const ConfigNode actions = root.child("actions");
  return parse_prometheus_config(actions.child("prometheus"));
}

std::string config_error(const std::string& yaml) {
  try {
    config_from(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("actions/prometheus/config") {
  TEST_CASE("a url alone gives the default templates, limits and alert labels") {
    const auto config = config_from("actions:\n  prometheus:\n    url: http://127.0.0.1:9091\n");
    CHECK(config.connection.url == "http://127.0.0.1:9091");
    CHECK(config.metrics.empty());
    CHECK(config.max_series == 10);
    CHECK(config.max_query_length == 2000);
    CHECK(config.max_retries == 2);
    CHECK(config.graph_url.empty());
    CHECK(config.alert_labels.target == std::vector<std::string>{"service", "app"});
    CHECK(config.alert_labels.env == std::vector<std::string>{"env", "namespace"});
    CHECK(default_metric_templates().size() == opsgate::kMetrics.size());
    for (const auto& name : opsgate::kMetrics) {
      CHECK(default_metric_templates().count(name) == 1);
    }
  }

  TEST_CASE("every option is read: overrides, per-target templates, limits, labels") {
    const auto config = config_from(R"(actions:
  prometheus:
    url: http://prom:9090
    timeout: 20s
    graph_url: https://grafana.example/prom/
    max_series: 5
    max_query_length: 500
    max_retries: 0
    metrics:
      latency_p99: 'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{$selector}[1m])))'
    targets:
      checkout:
        metrics:
          rps: 'sum(rate(checkout_orders_total[5m]))'
    alert_labels:
      target: [service]
      env: [environment]
)");
    CHECK(config.connection.timeout == std::chrono::seconds(20));
    CHECK(config.graph_url == "https://grafana.example/prom");
    CHECK(config.max_series == 5);
    CHECK(config.max_query_length == 500);
    CHECK(config.max_retries == 0);
    CHECK(config.metrics.at("latency_p99").find("latency_bucket{$selector}") != std::string::npos);
    CHECK(config.target_metrics.at("checkout").at("rps") == "sum(rate(checkout_orders_total[5m]))");
    CHECK(config.alert_labels.target == std::vector<std::string>{"service"});
    CHECK(config.alert_labels.env == std::vector<std::string>{"environment"});
  }

  TEST_CASE("mistakes name file, line and key") {
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    metrics:\n      errors: 'x{$selector}'\n")
              .find("test.yaml:5: actions.prometheus.metrics.errors: unknown metric") == 0);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    metrics:\n      rps: 'sum(rate(x[5m]))'\n")
              .find("test.yaml:5: actions.prometheus.metrics.rps: the template does not use $selector") == 0);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    metrics:\n      rps: 'x{$selector}[$rnage]'\n")
              .find("unknown placeholder $rnage") != std::string::npos);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    max_series: 0\n") ==
          "test.yaml:4: actions.prometheus.max_series: expected a number from 1 to 100, got 0");
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    graph_url: prom:9090\n")
              .find("test.yaml:4: actions.prometheus.graph_url: not a valid URL") == 0);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    max_seires: 3\n")
              .find("test.yaml:4: actions.prometheus.max_seires: unknown key") == 0);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    targets:\n      checkout: {metric: {}}\n")
              .find("actions.prometheus.targets.checkout.metrics: is required but missing") != std::string::npos);
  }

  TEST_CASE("a per-target override for a target the inventory does not know is refused at start-up") {
    auto config = config_from("actions:\n  prometheus:\n    url: http://127.0.0.1:1\n");
    config.target_metrics["chekout"]["rps"] = "sum(rate(x[5m]))";
    opsgate::net::HttpClient http;
    try {
      make_prometheus_actions(config, opsgate::test_prometheus::demo_inventory(), http);
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "actions.prometheus.targets.chekout: not a target of the inventory");
    }
  }

  TEST_CASE("the factory makes the three catalogue actions") {
    const auto config = config_from("actions:\n  prometheus:\n    url: http://127.0.0.1:1\n");
    opsgate::net::HttpClient http;
    const auto actions = make_prometheus_actions(config, opsgate::test_prometheus::demo_inventory(), http);
    REQUIRE(actions.size() == 3);
    CHECK(actions[0]->spec().name == "metrics.query");
    CHECK(actions[1]->spec().name == "metrics.promql");
    CHECK(actions[1]->spec().privileged);
    CHECK(actions[2]->spec().name == "alerts.list");
  }
}
