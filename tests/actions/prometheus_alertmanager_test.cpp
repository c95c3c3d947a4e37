#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "actions/prometheus/prometheus_actions.hpp"
#include "src/core/config_node.hpp"
#include "tests/actions/prometheus_test_support.hpp"

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Errc;
using opsgate::actions::prometheus::parse_prometheus_config;
using opsgate::actions::prometheus::PrometheusConfig;
using opsgate::test_prometheus::config_for;
using opsgate::test_prometheus::fixture;
using opsgate::test_prometheus::PrometheusActions;
using opsgate::test_prometheus::PrometheusStandIn;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Prometheus at `prometheus`, Alertmanager at `alertmanager`.
PrometheusConfig with_alertmanager(const std::string& prometheus, const std::string& alertmanager) {
  auto config = config_for(prometheus);
  opsgate::net::BackendConnection connection;
  connection.url = alertmanager;
  connection.timeout = 5s;
  config.alertmanager = connection;
  return config;
}

std::string closed_url() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::address_v4::loopback(), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return "http://127.0.0.1:" + std::to_string(port);
}

// An Alertmanager v2 alert.
json am_alert(const json& labels, const std::string& summary, const std::string& starts_at,
              const std::string& state = "active") {
  return {{"labels", labels},
          {"annotations", {{"summary", summary}}},
          {"startsAt", starts_at},
          {"endsAt", "2026-11-24T20:45:00.000Z"},
          {"updatedAt", "2026-11-24T20:30:00.000Z"},
          {"generatorURL", "http://prometheus:9090/graph"},
          {"status", {{"state", state}, {"silencedBy", json::array()}, {"inhibitedBy", json::array()}}},
          {"fingerprint", "0123456789abcdef"},
          {"receivers", json::array({{{"name", "oncall"}}})}};
}

// The captured Prometheus alert as Alertmanager has it (same labels), plus one
// that only Alertmanager knows (from another Prometheus) for payments-api in prod.
std::string am_payload() {
  const json alerts = json::array(
      {am_alert({{"alertname", "HighErrorRate"}, {"env", "prod"}, {"service", "checkout"}, {"severity", "page"}},
                "checkout error rate above 5%", "2026-11-24T20:18:20.568Z"),
       am_alert({{"alertname", "PaymentsDown"}, {"app", "payments-api"}, {"namespace", "payments-prod"},
                 {"severity", "page"}},
                "payments-api has no ready pods", "2026-11-24T20:25:20.000Z"),
       am_alert({{"alertname", "DiskFull"}, {"app", "checkout"}, {"namespace", "shop-prod"}}, "silenced",
                "2026-11-24T19:00:00.000Z", "suppressed")});
  return alerts.dump();
}

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

TEST_SUITE("actions/prometheus/alertmanager") {
  TEST_CASE("Alertmanager's v2 alerts are listed with Prometheus', each naming its source") {
    PrometheusStandIn prometheus;
    PrometheusStandIn alertmanager;
    prometheus.answer("/api/v1/alerts", 200, R"({"status":"success","data":{"alerts":[]}})");
    alertmanager.answer("/api/v2/alerts", 200, am_payload());
    PrometheusActions actions(with_alertmanager(prometheus.url(), alertmanager.url()));

    const auto result = actions.run("alerts.list", {{"env", "prod"}});
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    CHECK(result->summary ==
          "2 alerts firing in prod:\n"
          "• HighErrorRate [firing, page] (Alertmanager) service=checkout env=prod: checkout error rate above 5% — since 20:18 "
          "UTC (12m ago)\n"
          "• PaymentsDown [firing, page] (Alertmanager) app=payments-api namespace=payments-prod: payments-api has no "
          "ready pods — since 20:25 UTC (5m ago)");
    CHECK(result->data["firing"] == 2);
    CHECK(result->data["alerts"][1]["source"] == "alertmanager");
    CHECK(result->data["alerts"][1]["active_at"] == "2026-11-24T20:25:20.000Z");
    REQUIRE(result->suggestions.size() == 1);
    CHECK(result->suggestions[0].command == "!triage checkout prod");

    const auto requests = alertmanager.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].path == "/api/v2/alerts");
    CHECK(alertmanager.last_params() ==
          std::map<std::string, std::string>{{"active", "true"}, {"silenced", "false"}, {"inhibited", "false"}});

    // The target/env mapping applies as to Prometheus' alerts.
    const auto payments = actions.run("alerts.list", {{"target", "payments"}, {"env", "prod"}});
    REQUIRE(payments);
    CHECK(payments->summary ==
          "1 alert firing for payments in prod (1 firing elsewhere: !alerts lists all):\n"
          "• PaymentsDown [firing, page] (Alertmanager): payments-api has no ready pods — since 20:25 UTC (5m ago)");
    const auto staging = actions.run("alerts.list", {{"env", "staging"}});
    REQUIRE(staging);
    CHECK(staging->summary == "no alerts firing in staging (2 firing elsewhere: !alerts lists all)");
  }

  TEST_CASE("an alert in both, same name and labels, is listed once as from both") {
    PrometheusStandIn prometheus;
    PrometheusStandIn alertmanager;
    prometheus.answer("/api/v1/alerts", 200, fixture("alerts.json"));
    alertmanager.answer("/api/v2/alerts", 200, am_payload());
    PrometheusActions actions(with_alertmanager(prometheus.url(), alertmanager.url()));

    const auto result = actions.run("alerts.list", {{"env", "prod"}});
    REQUIRE(result);
    CHECK(result->summary ==
          "2 alerts firing in prod:\n"
          "• HighErrorRate [firing, page] (Prometheus, Alertmanager) service=checkout env=prod: checkout error rate above 5% — "
          "since 20:18 UTC (12m ago)\n"
          "• PaymentsDown [firing, page] (Alertmanager) app=payments-api namespace=payments-prod: payments-api has no "
          "ready pods — since 20:25 UTC (5m ago)");
    CHECK(result->data["alerts"].size() == 2);
    CHECK(result->data["alerts"][0]["source"] == "both");
    CHECK(result->data["alerts"][0]["value"] == "1.3793103448275862e-01");

    // Another label set is another alert, even under the same name.
    json other = json::parse(am_payload());
    other[0]["labels"]["severity"] = "ticket";
    alertmanager.answer("/api/v2/alerts", 200, other.dump());
    const auto checkout = actions.run("alerts.list", {{"target", "checkout"}, {"env", "prod"}});
    REQUIRE(checkout);
    CHECK(checkout->summary ==
          "2 alerts firing for checkout in prod (1 firing elsewhere: !alerts lists all):\n"
          "• HighErrorRate [firing, page] (Prometheus): checkout error rate above 5% — since 20:18 UTC (12m ago)\n"
          "• HighErrorRate [firing, ticket] (Alertmanager): checkout error rate above 5% — since 20:18 UTC (12m ago)");
  }

  TEST_CASE("Alertmanager failing leaves Prometheus' alerts with a one-line note, and vice versa") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/alerts", 200, fixture("alerts.json"));
    const std::string down = closed_url();
    PrometheusActions refused(with_alertmanager(prometheus.url(), down));
    const auto result = refused.run("alerts.list", {{"target", "checkout"}, {"env", "prod"}});
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    CHECK(result->summary ==
          "1 alert firing for checkout in prod:\n"
          "• HighErrorRate [firing, page] (Prometheus): checkout error rate above 5% — since 20:18 UTC (12m ago)\n"
          "Alertmanager: cannot connect to " + down + "/api/v2/alerts: Connection refused");
    CHECK(result->data["alertmanager_error"] == "cannot connect to " + down + "/api/v2/alerts: Connection refused");

    PrometheusStandIn alertmanager;
    PrometheusActions actions(with_alertmanager(prometheus.url(), alertmanager.url()));
    alertmanager.answer("/api/v2/alerts", 503, "upstream connect error\nor disconnect");
    auto answer = actions.run("alerts.list", json::object());
    REQUIRE(answer);
    CHECK(answer->data["firing"] == 1);
    CHECK(answer->summary.substr(answer->summary.rfind('\n')) ==
          "\nAlertmanager: Alertmanager answered /api/v2/alerts with HTTP 503: upstream connect error or disconnect");

    alertmanager.answer("/api/v2/alerts", 200, R"({"status":"success"})");
    answer = actions.run("alerts.list", json::object());
    REQUIRE(answer);
    CHECK(answer->data["firing"] == 1);
    CHECK(answer->summary.find("\nAlertmanager: Alertmanager answered /api/v2/alerts with something that is not a "
                               "JSON list") != std::string::npos);

    alertmanager.answer("/api/v2/alerts", 200, am_payload(), 3000ms);
    auto slow = with_alertmanager(prometheus.url(), alertmanager.url());
    slow.alertmanager->timeout = 500ms;
    PrometheusActions impatient(slow);
    answer = impatient.run("alerts.list", json::object());
    REQUIRE(answer);
    CHECK(answer->data["firing"] == 1);
    CHECK(answer->summary.find("\nAlertmanager: " + alertmanager.url() + "/api/v2/alerts did not answer within 500ms") !=
          std::string::npos);

    // Vice versa: Prometheus down, Alertmanager's alerts still shown.
    alertmanager.answer("/api/v2/alerts", 200, am_payload());
    prometheus.answer("/api/v1/alerts", 502, "Bad Gateway");
    answer = actions.run("alerts.list", {{"target", "payments"}});
    REQUIRE(answer);
    CHECK(answer->summary ==
          "1 alert firing for payments (1 firing elsewhere: !alerts lists all):\n"
          "• PaymentsDown [firing, page] (Alertmanager) app=payments-api namespace=payments-prod: payments-api has no "
          "ready pods — since 20:25 UTC (5m ago)\n"
          "Prometheus: Prometheus answered /api/v1/alerts with HTTP 502: Bad Gateway");

    // Both down: an error naming both.
    alertmanager.answer("/api/v2/alerts", 401, "Unauthorized");
    const auto both = actions.run("alerts.list", json::object());
    REQUIRE_FALSE(both);
    CHECK(both.error().code == Errc::unavailable);
    CHECK(both.error().message ==
          "Prometheus answered /api/v1/alerts with HTTP 502: Bad Gateway; Alertmanager: Alertmanager refused our "
          "credentials for /api/v2/alerts (HTTP 401): check alertmanager.bearer_token or basic_auth");
  }

  TEST_CASE("the alertmanager section is read like the connection, and its mistakes name file, line and key") {
    const auto config = config_from(
        "actions:\n  prometheus:\n    url: http://p:9090\n    alertmanager:\n      url: http://am:9093/\n"
        "      timeout: 3s\n");
    REQUIRE(config.alertmanager);
    CHECK(config.alertmanager->url == "http://am:9093");
    CHECK(config.alertmanager->timeout == 3s);
    CHECK_FALSE(config_from("actions:\n  prometheus:\n    url: http://p:9090\n").alertmanager);

    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    alertmanager:\n      url: http://am:9093\n"
                       "      bearer_tokn: {env: AM_TOKEN}\n")
              .find("test.yaml:6: actions.prometheus.alertmanager.bearer_tokn: unknown key") == 0);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    alertmanager:\n      timeout: 3s\n")
              .find("actions.prometheus.alertmanager.url") != std::string::npos);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    alertmanager: http://am:9093\n")
              .find("test.yaml:4: actions.prometheus.alertmanager: expected a mapping") == 0);
    CHECK(config_error("actions:\n  prometheus:\n    url: http://p\n    alertmanager: [http://am:9093]\n")
              .find("test.yaml:4: actions.prometheus.alertmanager: expected {url:") == 0);
  }
}
