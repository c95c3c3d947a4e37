#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "actions/prometheus/prometheus_actions.hpp"
#include "src/net/backend_connection.hpp"
#include "tests/actions/prometheus_test_support.hpp"

using opsgate::Errc;
using opsgate::Secret;
using opsgate::test_prometheus::config_for;
using opsgate::test_prometheus::fixture;
using opsgate::test_prometheus::PrometheusActions;
using opsgate::test_prometheus::PrometheusStandIn;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kCheckoutSelector = R"(app="checkout",namespace="shop-prod")";

json metric_params(const std::string& target, const std::string& metric, std::int64_t range_s = 3600) {
  return {{"target", target}, {"env", "prod"}, {"metric", metric}, {"range_s", range_s}};
}

std::string link(const std::string& base, const std::string& query, const std::string& range) {
  return base + "/graph?g0.expr=" + opsgate::net::url_encode(query) + "&g0.tab=0&g0.range_input=" + range;
}

std::uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::address_v4::loopback(), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

// A matrix of one series with these values, one minute apart.
std::string matrix(const std::vector<std::string>& values) {
  json series = {{"metric", json::object()}, {"values", json::array()}};
  std::int64_t t = 1795548620;
  for (const auto& v : values) {
    series["values"].push_back(json::array({t, v}));
    t += 60;
  }
  return json({{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", json::array({series})}}}}).dump();
}

}  // namespace

TEST_SUITE("actions/prometheus/metrics.query") {
  TEST_CASE("a named metric becomes a range query whose answer reads with units, sparkline and link") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query_range", 200, fixture("query_range_matrix.json"));
    PrometheusActions actions(config_for(prometheus.url()));

    const auto result = actions.run("metrics.query", metric_params("checkout", "rps"));
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    const std::string query = "sum(rate(http_requests_total{" + kCheckoutSelector + "}[5m]))";
    CHECK(result->summary == "checkout request rate in prod: 8 req/s (last 1h: min 0.5 req/s, max 8 req/s)\n"
                             "▁▁▁▁███\n"
                             "(the query returned 2 series; this is the first, {service=\"checkout\"})\n" +
                                 link(prometheus.url(), query, "1h"));
    CHECK(result->data["query"] == query);
    CHECK(result->data["current"] == 8.0);
    CHECK(result->data["min"] == 0.5);
    CHECK(result->data["max"] == 8.0);
    CHECK(result->data["unit"] == "req/s");
    CHECK(result->data["values"].size() == 7);
    CHECK(result->data["values"][0] == json::array({1795547915, 0.5}));

    const auto requests = prometheus.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].path == "/api/v1/query_range");
    const auto params = prometheus.last_params();
    CHECK(params.at("query") == query);
    CHECK(params.at("end") == "1795552220");
    CHECK(params.at("start") == "1795548620");
    CHECK(params.at("step") == "60");
    CHECK(params.at("timeout") == "5s");
  }

  TEST_CASE("the error rate shows the spike as a percentage, and suggests logs and alerts") {
    PrometheusStandIn prometheus;
    std::vector<std::string> values(50, "0.005");
    for (std::size_t i = 40; i < values.size(); ++i) {
      values[i] = "0.138";
    }
    prometheus.answer("/api/v1/query_range", 200, matrix(values));
    PrometheusActions actions(config_for(prometheus.url()));
    const auto result = actions.run("metrics.query", metric_params("checkout", "error_rate"));
    REQUIRE(result);
    CHECK(result->summary.rfind("checkout error rate in prod: 13.8 % (last 1h: min 0.5 %, max 13.8 %)\n", 0) == 0);
    CHECK(result->summary.find("▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁██████\n") != std::string::npos);
    CHECK(prometheus.last_params().at("query") ==
          "sum(rate(http_requests_total{" + kCheckoutSelector + ",code=~\"5..\"}[5m])) / sum(rate(http_requests_total{" +
              kCheckoutSelector + "}[5m]))");
    REQUIRE(result->suggestions.size() == 2);
    CHECK(result->suggestions[0].command == "!logs checkout prod level=error range=1h");
    CHECK(result->suggestions[1].command == "!alerts checkout prod");
  }

  TEST_CASE("NaN now and +Inf are answers, not errors") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query_range", 200, matrix({"0.01", "0.02", "NaN"}));
    PrometheusActions actions(config_for(prometheus.url()));
    const auto nan = actions.run("metrics.query", metric_params("checkout", "error_rate"));
    REQUIRE(nan);
    CHECK(nan->summary.rfind("checkout error rate in prod: no value now (NaN: no traffic to measure?); last 1h: min 1 %, "
                             "max 2 %\n▅█ \n",
                             0) == 0);
    CHECK(nan->data["current"].is_null());

    prometheus.answer("/api/v1/query_range", 200, matrix({"NaN", "NaN"}));
    const auto all_nan = actions.run("metrics.query", metric_params("checkout", "error_rate"));
    REQUIRE(all_nan);
    CHECK(all_nan->summary.rfind("checkout error rate in prod: no value over the last 1h (NaN: no traffic to measure?)", 0) ==
          0);

    prometheus.answer("/api/v1/query_range", 200, matrix({"0.2", "0.412", "+Inf"}));
    const auto inf = actions.run("metrics.query", metric_params("checkout", "latency_p99"));
    REQUIRE(inf);
    CHECK(inf->summary.rfind("checkout p99 latency in prod: +Inf (last 1h: min 200 ms, max 412 ms)\n", 0) == 0);
  }

  TEST_CASE("no series is a helpful answer that questions the selector") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query_range", 200, fixture("query_empty.json"));
    PrometheusActions actions(config_for(prometheus.url()));
    const auto result = actions.run("metrics.query", metric_params("checkout", "error_rate", 900));
    REQUIRE(result);
    CHECK(result->summary.rfind("no data for checkout in prod over the last 15m: is the selector `" + kCheckoutSelector +
                                    "` right?\n",
                                0) == 0);
    CHECK(result->data["values"].empty());
    CHECK(prometheus.last_params().at("step") == "15");
  }

  TEST_CASE("restarts use the asked range, per-target and global overrides win over the defaults") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query_range", 200, matrix({"0", "1", "2.0165"}));
    auto config = config_for(prometheus.url());
    config.metrics["memory"] = "sum(container_memory_rss{$selector})";
    config.target_metrics["cart"]["memory"] = "sum(cart_memory_bytes{env=\"$env\",ns=\"$namespace\"})";
    PrometheusActions actions(config);

    const auto restarts = actions.run("metrics.query", metric_params("checkout", "restarts", 7200));
    REQUIRE(restarts);
    CHECK(prometheus.last_params().at("query") ==
          "sum(increase(kube_pod_container_status_restarts_total{" + kCheckoutSelector + "}[2h]))");
    CHECK(restarts->summary.rfind("checkout restarts in prod: 2 (last 2h: min 0, max 2)", 0) == 0);

    REQUIRE(actions.run("metrics.query", metric_params("checkout", "memory")));
    CHECK(prometheus.last_params().at("query") == "sum(container_memory_rss{" + kCheckoutSelector + "})");
    REQUIRE(actions.run("metrics.query", metric_params("cart", "memory")));
    CHECK(prometheus.last_params().at("query") == "sum(cart_memory_bytes{env=\"prod\",ns=\"shop-prod\"})");
  }
}

TEST_SUITE("actions/prometheus/metrics.promql") {
  TEST_CASE("an instant vector lists its series, capped at max_series") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query", 200, fixture("query_vector.json"));
    auto config = config_for(prometheus.url());
    PrometheusActions actions(config);
    const std::string query = "sum by (service) (rate(http_requests_total{code=\"500\"}[5m])) / sum by (service) "
                              "(rate(http_requests_total[5m]))";
    const auto result = actions.run("metrics.promql", {{"query", query}, {"range_s", 3600}});
    REQUIRE(result);
    CHECK(result->summary == "`" + query + "`: 2 series\n{service=\"checkout\"} 0.1379\n{service=\"payments-api\"} 0.009901\n" +
                                 link(prometheus.url(), query, "1h"));
    CHECK(result->data["total_series"] == 2);
    CHECK(result->data["series"][0]["metric"] == json({{"service", "checkout"}}));
    const auto params = prometheus.last_params();
    CHECK(params.at("query") == query);
    CHECK(params.at("time") == "1795552220");

    config.max_series = 1;
    PrometheusActions capped(config);
    const auto one = capped.run("metrics.promql", {{"query", query}});
    REQUIRE(one);
    CHECK(one->summary.find("{service=\"checkout\"} 0.1379\n… and 1 more\n") != std::string::npos);
    CHECK(one->summary.find("payments-api") == std::string::npos);
  }

  TEST_CASE("scalar, string, matrix and empty results each read naturally") {
    PrometheusStandIn prometheus;
    PrometheusActions actions(config_for(prometheus.url()));
    prometheus.answer("/api/v1/query", 200, fixture("query_scalar.json"));
    const auto scalar = actions.run("metrics.promql", {{"query", "scalar(sum(up)) * 108.5"}});
    REQUIRE(scalar);
    CHECK(scalar->summary.rfind("`scalar(sum(up)) * 108.5` = 108.5\n", 0) == 0);
    CHECK(scalar->data["value"] == 108.5);

    prometheus.answer("/api/v1/query", 200,
                      R"({"status":"success","data":{"resultType":"string","result":[1795551515.3,"hello"]}})");
    const auto text = actions.run("metrics.promql", {{"query", "\"hello\""}});
    REQUIRE(text);
    CHECK(text->summary.rfind("`\"hello\"` = \"hello\"\n", 0) == 0);

    prometheus.answer("/api/v1/query", 200, fixture("query_range_matrix.json"));
    const auto range = actions.run("metrics.promql", {{"query", "x[1h]"}});
    REQUIRE(range);
    CHECK(range->summary.rfind("`x[1h]`: 2 series\n{service=\"checkout\"} 8 (last of 7 samples)\n"
                               "{service=\"payments-api\"} 0.5 (last of 7 samples)\n",
                               0) == 0);

    prometheus.answer("/api/v1/query", 200, fixture("query_empty.json"));
    const auto empty = actions.run("metrics.promql", {{"query", "nothing_here"}});
    REQUIRE(empty);
    CHECK(empty->summary.rfind("no series match `nothing_here`\n", 0) == 0);
  }

  TEST_CASE("a query Prometheus rejects with 400 bad_data is invalid_input quoting Prometheus") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query", 400, fixture("error_bad_data.json"));
    PrometheusActions actions(config_for(prometheus.url()));
    const auto result = actions.run("metrics.promql", {{"query", "rate(x[5])"}});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::invalid_input);
    CHECK(result.error().message == "Prometheus rejected the query (bad_data): invalid parameter \"query\": 1:10: parse "
                                    "error: missing unit character in duration");
  }

  TEST_CASE("a query over max_query_length is refused without asking, a long one goes as POST") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query", 200, fixture("query_empty.json"));
    auto config = config_for(prometheus.url());
    config.max_query_length = 3000;
    PrometheusActions actions(config);
    const std::string too_long(3001, 'x');
    const auto refused = actions.run("metrics.promql", {{"query", too_long}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::invalid_input);
    CHECK(refused.error().message == "the query is 3001 characters long; metrics.promql accepts at most 3000");
    CHECK(prometheus.requests().empty());

    std::string long_query = "sum(";
    while (long_query.size() < 2500) {
      long_query += "up{job=\"a\"} + ";
    }
    long_query += "0)";
    const auto posted = actions.run("metrics.promql", {{"query", long_query}});
    REQUIRE(posted);
    const auto requests = prometheus.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].header_or_empty("Content-Type") == "application/x-www-form-urlencoded");
    CHECK(prometheus.last_params().at("query") == long_query);
  }
}

TEST_SUITE("actions/prometheus/alerts.list") {
  TEST_CASE("the captured firing alert is listed for its target and env, with state, summary and age") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/alerts", 200, fixture("alerts.json"));
    PrometheusActions actions(config_for(prometheus.url()));
    const auto result = actions.run("alerts.list", {{"target", "checkout"}, {"env", "prod"}});
    REQUIRE(result);
    CHECK(result->summary == "1 alert firing for checkout in prod:\n"
                             "• HighErrorRate [firing, page]: checkout error rate above 5% — since 20:18 UTC (12m ago)");
    CHECK(result->data["firing"] == 1);
    CHECK(result->data["alerts"][0]["name"] == "HighErrorRate");
    REQUIRE(result->suggestions.size() == 1);
    CHECK(result->suggestions[0].command == "!triage checkout prod");

    const auto all = actions.run("alerts.list", json::object());
    REQUIRE(all);
    CHECK(all->summary == "1 alert firing:\n• HighErrorRate [firing, page] service=checkout env=prod: checkout error rate "
                          "above 5% — since 20:18 UTC (12m ago)");
  }

  TEST_CASE("none firing for the asked target says so, and counts the others") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/alerts", 200, fixture("alerts.json"));
    PrometheusActions actions(config_for(prometheus.url()));
    const auto cart = actions.run("alerts.list", {{"target", "cart"}, {"env", "prod"}});
    REQUIRE(cart);
    CHECK(cart->summary == "no alerts firing for cart in prod (1 firing elsewhere: !alerts lists all)");
    const auto staging = actions.run("alerts.list", {{"env", "staging"}});
    REQUIRE(staging);
    CHECK(staging->summary == "no alerts firing in staging (1 firing elsewhere: !alerts lists all)");

    prometheus.answer("/api/v1/alerts", 200, R"({"status":"success","data":{"alerts":[]}})");
    const auto none = actions.run("alerts.list", json::object());
    REQUIRE(none);
    CHECK(none->summary == "no alerts firing");
  }

  TEST_CASE("namespaces stand for environments, firing comes before pending") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/alerts", 200, R"({"status":"success","data":{"alerts":[
      {"labels":{"alertname":"SlowCheckout","app":"checkout","namespace":"shop-prod"},"annotations":{},
       "state":"pending","activeAt":"2026-11-24T20:29:20Z","value":"1.2e+00"},
      {"labels":{"alertname":"HighErrorRate","app":"checkout","namespace":"shop-prod","severity":"page"},
       "annotations":{"description":"5xx above 5%"},"state":"firing","activeAt":"2026-11-24T18:30:20Z","value":"0.14"},
      {"labels":{"alertname":"HighErrorRate","app":"checkout","namespace":"shop-staging"},"annotations":{},
       "state":"firing","activeAt":"2026-11-24T20:00:00Z","value":"0.2"}]}})");
    PrometheusActions actions(config_for(prometheus.url()));
    const auto result = actions.run("alerts.list", {{"target", "checkout"}, {"env", "prod"}});
    REQUIRE(result);
    CHECK(result->summary == "1 alert firing and 1 pending for checkout in prod (1 firing elsewhere: !alerts lists all):\n"
                             "• HighErrorRate [firing, page]: 5xx above 5% — since 18:30 UTC (2h ago)\n"
                             "• SlowCheckout [pending]: value 1.2 — since 20:29 UTC (1m ago)");
  }
}

TEST_SUITE("actions/prometheus/failures") {
  TEST_CASE("every failure of the server is an error answer, never a crash or a hang") {
    PrometheusStandIn prometheus;
    PrometheusActions actions(config_for(prometheus.url()));
    const auto query = [&actions] { return actions.run("metrics.query", metric_params("checkout", "error_rate")); };

    prometheus.answer("/api/v1/query_range", 503, "upstream connect error or disconnect/reset before headers");
    auto result = query();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::unavailable);
    CHECK(result.error().message ==
          "Prometheus answered /api/v1/query_range with HTTP 503: upstream connect error or disconnect/reset before headers");

    prometheus.answer("/api/v1/query_range", 503, R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})");
    result = query();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::timeout);
    CHECK(result.error().message == "Prometheus gave up on the query (timeout): query timed out in expression evaluation");

    prometheus.answer("/api/v1/query_range", 422,
                      R"({"status":"error","errorType":"execution","error":"found duplicate series for the match group"})");
    result = query();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::upstream);
    CHECK(result.error().message == "Prometheus could not answer /api/v1/query_range (execution, HTTP 422): found "
                                    "duplicate series for the match group");

    prometheus.answer("/api/v1/query_range", 200, "<html>proxy login</html>");
    result = query();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::upstream);
    CHECK(result.error().message ==
          "Prometheus answered /api/v1/query_range with something that is not JSON: <html>proxy login</html>");

    prometheus.answer("/api/v1/query_range", 200, R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}})");
    result = query();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::upstream);

    prometheus.answer("/api/v1/query_range", 401, "Unauthorized");
    result = query();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::denied);

    prometheus.answer("/api/v1/alerts", 200, R"({"status":"success","data":{"alerts":"nope"}})");
    const auto alerts = actions.run("alerts.list", json::object());
    REQUIRE_FALSE(alerts);
    CHECK(alerts.error().code == Errc::upstream);
  }

  TEST_CASE("a server that does not answer in time is a timeout") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/query_range", 200, fixture("query_empty.json"), 3000ms);
    auto config = config_for(prometheus.url());
    config.connection.timeout = 500ms;
    PrometheusActions actions(config);
    // Prometheus would answer after 3 s: an error can only come from the timeout.
    const auto result = actions.run("metrics.query", metric_params("checkout", "error_rate"));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::timeout);
    CHECK(result.error().message == prometheus.url() + "/api/v1/query_range did not answer within 500ms");
  }

  TEST_CASE("a server that is not there is unavailable, named without the query") {
    const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
    PrometheusActions actions(config_for(url));
    const auto result = actions.run("metrics.query", metric_params("checkout", "error_rate"));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::unavailable);
    CHECK(result.error().message == "cannot connect to " + url + "/api/v1/query_range: Connection refused");
  }

  TEST_CASE("GETs are retried on 5xx up to max_retries, the bearer token is sent and never shown") {
    PrometheusStandIn prometheus;
    prometheus.answer("/api/v1/alerts", 502, "Bad Gateway");
    auto config = config_for(prometheus.url());
    config.max_retries = 2;
    config.connection.bearer_token = Secret("s3cret-token", "test");
    PrometheusActions actions(config);
    const auto result = actions.run("alerts.list", json::object());
    REQUIRE_FALSE(result);
    CHECK(result.error().message == "Prometheus answered /api/v1/alerts with HTTP 502: Bad Gateway");
    CHECK(result.error().message.find("s3cret") == std::string::npos);
    const auto requests = prometheus.requests();
    CHECK(requests.size() == 3);
    CHECK(requests[0].header_or_empty("Authorization") == "Bearer s3cret-token");
  }
}
