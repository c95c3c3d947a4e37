// The Prometheus actions against a real Prometheus (Debian's package): the
// demo's metrics (scripts/demo-metrics, the last hour at 15s) backfilled with
// promtool, the demo's rule file, the server on a free loopback port. One
// server is shared by the cases of this file (started on first use, stopped at
// exit); each ctest process starts its own.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actions/prometheus/prometheus_actions.hpp"
#include "tests/actions/prometheus_test_support.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus_server.hpp"

using opsgate::Errc;
using opsgate::test::PrometheusServer;
using opsgate::test_prometheus::config_for;
using opsgate::test_prometheus::PrometheusActions;
using opsgate::test_prometheus::read_text;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

PrometheusServer& real_prometheus() {
  static std::unique_ptr<PrometheusServer> server = [] {
    if (auto why = PrometheusServer::missing()) {
      FAIL("cannot run the Prometheus integration tests: " << *why);
    }
    const auto generated = opsgate::test::run_command(OPSGATE_SOURCE_DIR "/scripts/demo-metrics --hours 1 --step 15", 60);
    REQUIRE(generated.exit_code == 0);
    REQUIRE(generated.out.ends_with("# EOF\n"));
    PrometheusServer::Options options;
    options.openmetrics = generated.out;
    options.rules = read_text(OPSGATE_SOURCE_DIR "/config/demo-prometheus/rules.yml");
    auto started = std::make_unique<PrometheusServer>(options);
    MESSAGE("prometheus: backfill " << started->backfill_time().count() << " ms, ready after "
                                    << started->start_time().count() << " ms, on " << started->url());
    return started;
  }();
  return *server;
}

json query(const std::string& target, const std::string& metric, std::int64_t range_s = 3600) {
  return {{"target", target}, {"env", "prod"}, {"metric", metric}, {"range_s", range_s}};
}

}  // namespace

TEST_SUITE("actions/prometheus/integration") {
  TEST_CASE("metrics.query on a real Prometheus: checkout's error rate shows the spike, the others are healthy") {
    PrometheusServer& prometheus = real_prometheus();
    PrometheusActions actions(config_for(prometheus.url()), std::make_shared<opsgate::SystemClock>());

    const auto checkout = actions.run("metrics.query", query("checkout", "error_rate"));
    REQUIRE_MESSAGE(checkout, (checkout ? "" : checkout.error().message));
    MESSAGE(checkout->summary);
    CHECK(checkout->summary.rfind("checkout error rate in prod: 1", 0) == 0);
    CHECK(checkout->data["current"].get<double>() > 0.12);
    CHECK(checkout->data["current"].get<double>() < 0.16);
    CHECK(checkout->data["min"].get<double>() < 0.01);
    CHECK(checkout->data["unit"] == "ratio");
    CHECK(checkout->data["values"].size() >= 55);
    const std::string sparkline = checkout->data["sparkline"];
    CHECK(sparkline.rfind("▁", 0) == 0);
    CHECK(sparkline.ends_with("█"));
    CHECK(checkout->summary.find(prometheus.url() + "/graph?g0.expr=sum%28rate%28http_requests_total") !=
          std::string::npos);

    const auto payments = actions.run("metrics.query", query("payments-api", "error_rate"));
    REQUIRE(payments);
    CHECK(payments->data["current"].get<double>() < 0.01);
    CHECK(payments->data["max"].get<double>() < 0.01);

    const auto latency = actions.run("metrics.query", query("checkout", "latency_p99"));
    REQUIRE(latency);
    CHECK(latency->summary.rfind("checkout p99 latency in prod: ", 0) == 0);
    CHECK(latency->data["current"].get<double>() > 0.75);
    const auto cart_latency = actions.run("metrics.query", query("cart", "latency_p50"));
    REQUIRE(cart_latency);
    CHECK(cart_latency->summary.find(" ms (last 1h") != std::string::npos);

    const auto rps = actions.run("metrics.query", query("frontend", "rps"));
    REQUIRE(rps);
    CHECK(rps->summary.find("k req/s (last 1h") != std::string::npos);
    const auto memory = actions.run("metrics.query", query("search", "memory"));
    REQUIRE(memory);
    CHECK(memory->summary.rfind("search memory in prod: 1.", 0) == 0);
    CHECK(memory->summary.find(" GiB (last 1h") != std::string::npos);
    const auto cpu = actions.run("metrics.query", query("checkout", "cpu"));
    REQUIRE(cpu);
    CHECK(cpu->summary.find(" cores (last 1h") != std::string::npos);
    const auto restarts = actions.run("metrics.query", query("checkout", "restarts"));
    REQUIRE(restarts);
    CHECK(restarts->summary.rfind("checkout restarts in prod: 2 (last 1h: min 0, max 2)", 0) == 0);

    const auto ghost = actions.run("metrics.query", query("ghost", "rps", 900));
    REQUIRE(ghost);
    CHECK(ghost->summary.rfind("no data for ghost in prod over the last 15m: is the selector "
                               "`app=\"ghost\",namespace=\"nowhere-prod\"` right?",
                               0) == 0);
  }

  TEST_CASE("metrics.promql on a real Prometheus: vectors capped, scalars, and bad_data as invalid_input") {
    PrometheusServer& prometheus = real_prometheus();
    auto config = config_for(prometheus.url());
    config.max_series = 2;
    PrometheusActions actions(config, std::make_shared<opsgate::SystemClock>());

    const auto shop = actions.run(
        "metrics.promql", {{"query", "sort_desc(sum by (app) (rate(http_requests_total{namespace=\"shop-prod\"}[5m])))"}});
    REQUIRE_MESSAGE(shop, (shop ? "" : shop.error().message));
    MESSAGE(shop->summary);
    CHECK(shop->data["total_series"] == 3);
    CHECK(shop->summary.find(": 3 series\n{app=\"cart\"} ") != std::string::npos);
    CHECK(shop->summary.find("\n… and 1 more\n") != std::string::npos);

    const auto scalar = actions.run("metrics.promql", {{"query", "scalar(vector(108.5))"}});
    REQUIRE(scalar);
    CHECK(scalar->summary.rfind("`scalar(vector(108.5))` = 108.5\n", 0) == 0);

    const auto bad = actions.run("metrics.promql", {{"query", "rate(http_requests_total[5])"}});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::invalid_input);
    CHECK(bad.error().message.rfind("Prometheus rejected the query (bad_data): ", 0) == 0);
    CHECK(bad.error().message.find("missing unit character in duration") != std::string::npos);
  }

  TEST_CASE("alerts.list on a real Prometheus: the demo rules fire for checkout (and search's latency) in prod only") {
    PrometheusServer& prometheus = real_prometheus();
    // The rule group is evaluated every second from start-up; give it a few.
    const std::string alerts = prometheus.wait_for("/api/v1/alerts", "\"HighLatency\"", 20s);
    REQUIRE_MESSAGE(alerts.find("\"firing\"") != std::string::npos, alerts);
    PrometheusActions actions(config_for(prometheus.url()), std::make_shared<opsgate::SystemClock>());

    const auto checkout = actions.run("alerts.list", {{"target", "checkout"}, {"env", "prod"}});
    REQUIRE_MESSAGE(checkout, (checkout ? "" : checkout.error().message));
    MESSAGE(checkout->summary);
    CHECK(checkout->summary.rfind("2 alerts firing for checkout in prod (1 firing elsewhere: !alerts lists all):\n", 0) == 0);
    CHECK(checkout->summary.find("• HighErrorRate [firing, page]: checkout error rate is 1") != std::string::npos);
    CHECK(checkout->summary.find("• HighLatency [firing, ticket]: checkout p99 latency is ") != std::string::npos);
    CHECK(checkout->summary.find(" ago)") != std::string::npos);
    REQUIRE_FALSE(checkout->suggestions.empty());
    CHECK(checkout->suggestions[0].command == "!triage checkout prod");

    const auto cart = actions.run("alerts.list", {{"target", "cart"}, {"env", "prod"}});
    REQUIRE(cart);
    // checkout's two, and search's HighLatency at the end of its latency creep.
    CHECK(cart->summary == "no alerts firing for cart in prod (3 firing elsewhere: !alerts lists all)");
    const auto staging = actions.run("alerts.list", {{"env", "staging"}});
    REQUIRE(staging);
    CHECK(staging->summary.rfind("no alerts firing in staging", 0) == 0);
    const auto all = actions.run("alerts.list", json::object());
    REQUIRE(all);
    CHECK(all->summary.find("app=checkout namespace=shop-prod") != std::string::npos);
  }
}
