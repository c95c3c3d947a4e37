// Triage against a real Prometheus (Debian's package) holding the demo's
// stories (scripts/demo-metrics --day-before: checkout's error spike two
// minutes after a deploy marker, cart's CPU saturation, search's latency
// creep, payments-api healthy) with the demo's alert rules, and the Loki
// stand-in for the error lines. One Prometheus per test process.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "actions/loki/logs_action.hpp"
#include "actions/prometheus/prometheus_actions.hpp"
#include "actions/triage/triage_action.hpp"
#include "tests/actions/prometheus_test_support.hpp"
#include "tests/support/loki_stand_in.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus_server.hpp"

using nlohmann::json;
using opsgate::test::LokiReply;
using opsgate::test::LokiStandIn;
using opsgate::test::PrometheusServer;
using opsgate::test_prometheus::config_for;
using opsgate::test_prometheus::demo_inventory;
using opsgate::test_prometheus::read_text;
using opsgate::test_prometheus::run_to_completion;
namespace triage = opsgate::actions::triage;
namespace prometheus = opsgate::actions::prometheus;
namespace loki = opsgate::actions::loki;
using namespace std::chrono_literals;

namespace {

PrometheusServer& real_prometheus() {
  static std::unique_ptr<PrometheusServer> server = [] {
    if (auto why = PrometheusServer::missing()) {
      FAIL("cannot run the triage integration tests: " << *why);
    }
    const auto generated =
        opsgate::test::run_command(OPSGATE_SOURCE_DIR "/scripts/demo-metrics --hours 1 --step 15 --day-before", 60);
    REQUIRE(generated.exit_code == 0);
    PrometheusServer::Options options;
    options.openmetrics = generated.out;
    options.rules = read_text(OPSGATE_SOURCE_DIR "/config/demo-prometheus/rules.yml");
    return std::make_unique<PrometheusServer>(options);
  }();
  return *server;
}

std::uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Loki's answer with checkout's error lines of the last minutes, newest first.
std::string checkout_errors() {
  json values = json::array();
  const std::int64_t now = now_s();
  for (int i = 0; i < 12; ++i) {
    const std::int64_t t = now - 30 - i * 60;
    const std::string ns = std::to_string(t) + "000000000";
    const std::string line =
        i % 3 == 0 ? "ts=x level=error msg=\"POST /api/checkout 500\" status=500 trace_id=" + std::to_string(1000 + i)
                   : "ts=x level=error msg=\"upstream payments-api timeout\" timeout_ms=2000";
    values.push_back(json::array({ns, line}));
  }
  json result = json::array({{{"stream", {{"app", "checkout"}, {"level", "error"}}}, {"values", values}}});
  return json{{"status", "success"}, {"data", {{"resultType", "streams"}, {"result", result}}}}.dump();
}

std::string no_lines() {
  return json{{"status", "success"}, {"data", {{"resultType", "streams"}, {"result", json::array()}}}}.dump();
}

// Triage over the real Prometheus and the stand-in Loki, wired as the daemon wires it.
class Harness {
 public:
  Harness(const std::string& prometheus_url, const std::string& loki_url, triage::TriageConfig config = {}) {
    const auto inventory = demo_inventory();
    auto prometheus_config = config_for(prometheus_url);
    prometheus_actions_ =
        prometheus::make_prometheus_actions(prometheus_config, inventory, http_, std::make_shared<opsgate::SystemClock>());
    loki::LokiConfig loki_config;
    loki_config.connection.url = loki_url;
    loki_config.connection.timeout = 10s;
    loki_config.level_counts = false;
    logs_ = loki::make_loki_logs_action(loki_config, inventory, http_, clock_);
    triage::TriageSources sources;
    sources.prometheus = std::make_shared<prometheus::PrometheusReader>(prometheus_config, inventory, http_);
    for (const auto& action : prometheus_actions_) {
      if (action->spec().name == "alerts.list") {
        sources.alerts = action.get();
      }
    }
    sources.logs = logs_.get();
    sources.logs_backend = "Loki";
    sources.clock = std::make_shared<opsgate::SystemClock>();
    if (config.deploy_marker.empty()) {
      config.deploy_marker = "app_build_info{$selector}";
    }
    triage_ = triage::make_triage_action(config, inventory, std::move(sources));
  }

  opsgate::Result<opsgate::ActionResult> run(const std::string& target) {
    return run_to_completion(triage_->execute(opsgate::ActionRequest{
        "triage", json{{"target", target}, {"env", "prod"}, {"range_s", 3600}}}));
  }

 private:
  opsgate::net::HttpClient http_;
  opsgate::SystemClock clock_;
  std::vector<std::unique_ptr<opsgate::Action>> prometheus_actions_;
  std::unique_ptr<opsgate::Action> logs_;
  std::unique_ptr<opsgate::Action> triage_;
};

bool flagged(const opsgate::ActionResult& r, const std::string& metric) {
  for (const auto& m : r.data["flagged"]) {
    if (m == metric) {
      return true;
    }
  }
  return false;
}

bool suggests(const opsgate::ActionResult& r, const std::string& command) {
  for (const auto& s : r.suggestions) {
    if (s.command == command) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_SUITE("actions/triage/integration") {
  TEST_CASE("an error spike after a deploy: error rate flagged, the deploy pointed out, a rollback suggested") {
    PrometheusServer& server = real_prometheus();
    server.wait_for("/api/v1/alerts", "\"HighErrorRate\"", 20s);
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", checkout_errors(), 0ms});
    Harness harness(server.url(), loki.url());

    const auto report = harness.run("checkout");
    REQUIRE_MESSAGE(report, (report ? "" : report.error().message));
    MESSAGE(report->summary);
    CHECK(flagged(*report, "error_rate"));
    CHECK(flagged(*report, "restarts"));
    CHECK_FALSE(flagged(*report, "memory"));
    const std::string headline = report->data["headline"];
    CHECK(headline.find("checkout in prod, last 1h: error rate went up from 0.") == 0);
    CHECK(headline.find("checkout 2.4.1 was deployed at ") != std::string::npos);
    CHECK(report->data["cause"] == "checkout 2.4.1 was deployed");
    CHECK(suggests(*report, "!rollback checkout prod"));
    CHECK(report->suggestions.front().command == "!rollback checkout prod");
    CHECK(report->summary.find("HighErrorRate [firing, page]") != std::string::npos);
    CHECK(report->summary.find("8× upstream payments-api timeout") != std::string::npos);
    CHECK(report->summary.find("4× POST /api/checkout 500") != std::string::npos);
    CHECK(report->data["unavailable"].empty());
    // The error rate is compared with yesterday too (the data holds a healthy day before).
    for (const auto& signal : report->data["signals"]) {
      if (signal["metric"] == "error_rate") {
        CHECK(signal["yesterday"].get<double>() < 0.01);
        CHECK(signal["after"].get<double>() > 0.1);
      }
    }
  }

  TEST_CASE("CPU saturation: cpu flagged, a scale by two replicas suggested, no rollback") {
    PrometheusServer& server = real_prometheus();
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", no_lines(), 0ms});
    Harness harness(server.url(), loki.url());
    const auto report = harness.run("cart");
    REQUIRE_MESSAGE(report, (report ? "" : report.error().message));
    MESSAGE(report->summary);
    CHECK(flagged(*report, "cpu"));
    CHECK_FALSE(flagged(*report, "error_rate"));
    CHECK(suggests(*report, "!scale cart 5 prod"));
    CHECK_FALSE(suggests(*report, "!rollback cart prod"));
    CHECK(report->data["headline"].get<std::string>().find("CPU") != std::string::npos);
  }

  TEST_CASE("latency creep: latency flagged without a deploy, so no rollback") {
    PrometheusServer& server = real_prometheus();
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", no_lines(), 0ms});
    Harness harness(server.url(), loki.url());
    const auto report = harness.run("search");
    REQUIRE_MESSAGE(report, (report ? "" : report.error().message));
    MESSAGE(report->summary);
    CHECK(flagged(*report, "latency_p99"));
    CHECK_FALSE(flagged(*report, "error_rate"));
    CHECK_FALSE(flagged(*report, "cpu"));
    CHECK(report->data["cause"].is_null());
    CHECK_FALSE(suggests(*report, "!rollback search prod"));
  }

  TEST_CASE("a healthy service: nothing flagged, its numbers shown, dependencies suggested") {
    PrometheusServer& server = real_prometheus();
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", no_lines(), 0ms});
    Harness harness(server.url(), loki.url());
    const auto report = harness.run("payments-api");
    REQUIRE_MESSAGE(report, (report ? "" : report.error().message));
    MESSAGE(report->summary);
    CHECK(report->data["flagged"].empty());
    CHECK(report->summary.find("nothing abnormal") != std::string::npos);
    CHECK(report->summary.find("Signals: error rate 0.") != std::string::npos);
    CHECK(report->summary.find("Alerts: none firing.") != std::string::npos);
    REQUIRE(report->suggestions.size() == 1);
    CHECK(report->suggestions[0].command == "!alerts prod");
  }

  TEST_CASE("Loki not answering in time leaves the rest of the report intact") {
    PrometheusServer& server = real_prometheus();
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", checkout_errors(), 4000ms});
    triage::TriageConfig config;
    config.logs_timeout = 1000ms;
    Harness harness(server.url(), loki.url(), config);
    const auto report = harness.run("checkout");
    REQUIRE_MESSAGE(report, (report ? "" : report.error().message));
    MESSAGE(report->summary);
    CHECK(report->summary.find("⚠ logs: Loki did not answer in 1 s") != std::string::npos);
    CHECK(flagged(*report, "error_rate"));
    CHECK(suggests(*report, "!rollback checkout prod"));
    CHECK(report->data["logs"]["read"] == false);
  }

  TEST_CASE("Prometheus unreachable: every signal says so, the logs still come") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", checkout_errors(), 0ms});
    Harness harness("http://127.0.0.1:" + std::to_string(closed_port()), loki.url());
    const auto report = harness.run("checkout");
    REQUIRE_MESSAGE(report, (report ? "" : report.error().message));
    MESSAGE(report->summary);
    CHECK(report->data["flagged"].empty());
    CHECK(report->data["headline"] == "checkout in prod, last 1h: I could not read its signals (see below).");
    CHECK(report->summary.find("⚠ error rate: ") != std::string::npos);
    CHECK(report->suggestions.empty());
    CHECK(report->summary.find("8× upstream payments-api timeout") != std::string::npos);
  }
}
