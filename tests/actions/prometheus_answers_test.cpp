#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "actions/prometheus/prometheus_answers.hpp"
#include "tests/actions/prometheus_test_support.hpp"

using namespace opsgate::actions::prometheus;
using opsgate::Errc;
using nlohmann::json;

namespace {

ApiAnswer answer_of(const std::string& data, std::vector<std::string> warnings = {}) {
  return ApiAnswer{json::parse(data), std::move(warnings)};
}

MetricQuery error_rate_query() {
  MetricQuery q;
  q.target = "checkout";
  q.env = "prod";
  q.metric = "error_rate";
  q.selector = R"(app="checkout",namespace="shop-prod")";
  q.query = "sum(rate(http_requests_total{code=~\"5..\"}[5m]))";
  q.range_s = 3600;
  q.step_s = 60;
  q.graph_url = "http://prometheus.example/graph?g0.expr=x";
  return q;
}

// A matrix with one series per entry of `series`, each a list of [t, "value"] pairs.
std::string matrix(const std::vector<std::pair<std::string, std::vector<std::string>>>& series) {
  json result = json::array();
  for (const auto& [name, values] : series) {
    json pairs = json::array();
    std::int64_t t = 1767225600;
    for (const auto& v : values) {
      pairs.push_back(json::array({t, v}));
      t += 60;
    }
    result.push_back({{"metric", {{"instance", name}}}, {"values", pairs}});
  }
  return json{{"resultType", "matrix"}, {"result", result}}.dump();
}

}  // namespace

TEST_SUITE("actions/prometheus/answers") {
  TEST_CASE("the step is a sixtieth of the range, never under 15 s") {
    CHECK(step_for_range(3600) == 60);
    CHECK(step_for_range(86400) == 1440);
    CHECK(step_for_range(600) == 15);
    CHECK(step_for_range(0) == 15);
  }

  TEST_CASE("read_matrix keeps NaN samples, refuses a vector and a malformed sample, and takes an empty answer") {
    const auto read = read_matrix(answer_of(matrix({{"a", {"0.5", "NaN", "0.25"}}, {"b", {}}})));
    REQUIRE(read);
    REQUIRE(read->size() == 2);
    REQUIRE((*read)[0].points.size() == 3);
    CHECK((*read)[0].labels == json{{"instance", "a"}});
    CHECK((*read)[0].points[0] == std::pair<std::int64_t, double>{1767225600, 0.5});
    CHECK(std::isnan((*read)[0].points[1].second));
    CHECK((*read)[1].points.empty());

    const auto empty = read_matrix(answer_of(R"({"resultType":"vector","result":[]})"));
    REQUIRE(empty);
    CHECK(empty->empty());

    const auto vector = read_matrix(answer_of(R"({"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]})"));
    REQUIRE_FALSE(vector);
    CHECK(vector.error().code == Errc::upstream);
    CHECK(vector.error().message == "Prometheus answered the range query with a 'vector' result instead of a matrix");

    const auto malformed = read_matrix(answer_of(R"({"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]})"));
    REQUIRE_FALSE(malformed);
    CHECK(malformed.error().message.rfind("Prometheus answered the range query with a malformed sample: [1]", 0) == 0);

    const auto none = read_matrix(answer_of(R"({"resultType":"matrix"})"));
    REQUIRE_FALSE(none);
    CHECK(none.error().message == "Prometheus answered the range query without a result");
  }

  TEST_CASE("a metric answer gives current, min and max in the metric's unit, and names extra series") {
    const auto q = error_rate_query();
    const auto out = summarise_metric(q, answer_of(matrix({{"a", {"0.004", "0.149", "0.138"}}, {"b", {"1"}}}), {"slow"}));
    REQUIRE(out);
    CHECK(out->data["current"] == 0.138);
    CHECK(out->data["min"] == 0.004);
    CHECK(out->data["max"] == 0.149);
    CHECK(out->data["unit"] == "ratio");
    CHECK(out->data["series"] == 2);
    CHECK(out->data["values"].size() == 3);
    CHECK(out->summary.rfind("checkout error rate in prod: 13.8 % (last 1h: min 0.4 %, max 14.9 %)\n", 0) == 0);
    CHECK(out->summary.find("(the query returned 2 series; this is the first, ") != std::string::npos);
    CHECK(out->summary.find("\n" + q.graph_url + "\nPrometheus warns: slow") != std::string::npos);
    REQUIRE(out->suggestions.size() == 2);
    CHECK(out->suggestions[0].command == "!logs checkout prod level=error range=1h");
    CHECK(out->suggestions[1].command == "!alerts checkout prod");
  }

  TEST_CASE("no series, or no samples, is an answer that questions the selector") {
    const auto q = error_rate_query();
    const std::vector<std::string> answers{R"({"resultType":"matrix","result":[]})", R"({"resultType":"vector","result":[]})",
                                           matrix({{"a", {}}})};
    for (const auto& data : answers) {
      const auto out = summarise_metric(q, answer_of(data));
      REQUIRE(out);
      CHECK(out->summary.rfind("no data for checkout in prod over the last 1h: is the selector `" + q.selector +
                                   "` right?\n" + q.graph_url, 0) == 0);
      CHECK(out->data["current"].is_null());
    }
  }

  TEST_CASE("NaN now, or NaN throughout, is said as no traffic, not as a number") {
    const auto q = error_rate_query();
    const auto now = summarise_metric(q, answer_of(matrix({{"a", {"0.01", "0.02", "NaN"}}})));
    REQUIRE(now);
    CHECK(now->summary.rfind("checkout error rate in prod: no value now (NaN: no traffic to measure?); last 1h: min 1 %, max 2 %",
                             0) == 0);
    CHECK(now->data["current"].is_null());
    CHECK(now->data["min"] == 0.01);
    const auto never = summarise_metric(q, answer_of(matrix({{"a", {"NaN", "NaN"}}})));
    REQUIRE(never);
    CHECK(never->summary.rfind("checkout error rate in prod: no value over the last 1h (NaN: no traffic to measure?)", 0) == 0);
    CHECK(never->data["min"].is_null());
    CHECK(never->data["max"].is_null());
  }

  TEST_CASE("a metric answer of the wrong shape is an upstream error") {
    const auto q = error_rate_query();
    const auto vector = summarise_metric(q, answer_of(R"({"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]})"));
    REQUIRE_FALSE(vector);
    CHECK(vector.error().code == Errc::upstream);
    const auto no_values = summarise_metric(q, answer_of(R"({"resultType":"matrix","result":[{"metric":{}}]})"));
    REQUIRE_FALSE(no_values);
    CHECK(no_values.error().message == "Prometheus answered the range query with a series without values");
    const auto bad_sample = summarise_metric(q, answer_of(R"({"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]})"));
    REQUIRE_FALSE(bad_sample);
    CHECK(bad_sample.error().code == Errc::upstream);
  }

  TEST_CASE("an instant query lists at most max_series series and says how many more") {
    json result = json::array();
    for (int i = 0; i < 5; ++i) {
      result.push_back({{"metric", {{"pod", "cart-" + std::to_string(i)}}}, {"value", json::array({1767225600, std::to_string(i)})}});
    }
    const auto out = summarise_promql("up", ApiAnswer{json{{"resultType", "vector"}, {"result", result}}, {}}, 3, "http://g");
    REQUIRE(out);
    CHECK(out->data["total_series"] == 5);
    REQUIRE(out->data["series"].size() == 3);
    CHECK(out->data["series"][2]["metric"] == json{{"pod", "cart-2"}});
    CHECK(out->data["series"][2]["value"] == 2.0);
    CHECK(out->summary.rfind("`up`: 5 series\n", 0) == 0);
    CHECK(out->summary.find("\n… and 2 more\nhttp://g") != std::string::npos);
    CHECK(out->summary.find("cart-3") == std::string::npos);
  }

  TEST_CASE("an instant query reads scalars, strings, matrices and nothing, and refuses unknown shapes") {
    const auto scalar = summarise_promql("1+1", answer_of(R"({"resultType":"scalar","result":[1767225600,"2"]})"), 10, "g");
    REQUIRE(scalar);
    CHECK(scalar->data["value"] == 2.0);
    CHECK(scalar->data["result_type"] == "scalar");
    const auto text = summarise_promql("\"hi\"", answer_of(R"({"resultType":"string","result":[1767225600,"hi"]})"), 10, "g");
    REQUIRE(text);
    CHECK(text->data["value"] == "hi");
    CHECK(text->summary.rfind("`\"hi\"` = \"hi\"\ng", 0) == 0);
    const auto ranged = summarise_promql("up[3m]", answer_of(matrix({{"a", {"1", "0", "1"}}})), 10, "g");
    REQUIRE(ranged);
    CHECK(ranged->data["series"][0]["samples"] == 3);
    CHECK(ranged->summary.find("(last of 3 samples)") != std::string::npos);
    const auto nothing = summarise_promql("absent_metric", answer_of(R"({"resultType":"vector","result":[]})"), 10, "g");
    REQUIRE(nothing);
    CHECK(nothing->summary.rfind("no series match `absent_metric`\ng", 0) == 0);
    CHECK(nothing->data["series"].empty());

    const auto unknown = summarise_promql("x", answer_of(R"({"resultType":"streams","result":[]})"), 10, "g");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message == "Prometheus answered with an unknown result type 'streams'");
    const auto bad_scalar = summarise_promql("x", answer_of(R"({"resultType":"scalar","result":[1]})"), 10, "g");
    REQUIRE_FALSE(bad_scalar);
    CHECK(bad_scalar.error().message == "Prometheus answered with a malformed scalar");
    const auto missing = summarise_promql("x", answer_of(R"({"resultType":"vector"})"), 10, "g");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::upstream);
  }

  TEST_CASE("an alert's labels name a target by its name and an env by its name or the target's namespace") {
    const auto inventory = opsgate::test_prometheus::demo_inventory();
    const AlertLabels names;
    const auto by_service = alert_target(json{{"service", "checkout"}, {"env", "prod"}}, names, *inventory);
    REQUIRE(by_service.first != nullptr);
    CHECK(by_service.first->name == "checkout");
    CHECK(by_service.second == "prod");
    const auto by_namespace = alert_target(json{{"app", "cart"}, {"namespace", "shop-staging"}}, names, *inventory);
    REQUIRE(by_namespace.first != nullptr);
    CHECK(by_namespace.first->name == "cart");
    CHECK(by_namespace.second == "staging");
    const auto without_env = alert_target(json{{"service", "PAYMENTS-API"}}, names, *inventory);  // case-insensitive
    REQUIRE(without_env.first != nullptr);
    CHECK(without_env.first->name == "payments-api");
    CHECK(without_env.second.empty());
    // A chat alias is not a label value: alerts carry the service or deployment name.
    CHECK(alert_target(json{{"service", "payments"}}, names, *inventory).first == nullptr);
    // Another target's namespace does not place this one.
    CHECK(alert_target(json{{"app", "cart"}, {"namespace", "payments-prod"}}, names, *inventory).second.empty());
    CHECK(alert_target(json{{"service", "nobody"}, {"env", "prod"}}, names, *inventory).first == nullptr);
    // Only the configured label names count.
    CHECK(alert_target(json{{"job", "checkout"}}, names, *inventory).first == nullptr);
  }
}
