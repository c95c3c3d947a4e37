#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actions/prometheus/prometheus_format.hpp"
#include "actions/prometheus/promql_template.hpp"

using namespace opsgate::actions::prometheus;
using nlohmann::json;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_SUITE("actions/prometheus/format") {
  TEST_CASE("values read with their units") {
    CHECK(format_value(0.13793103448275862, Unit::ratio) == "13.8 %");
    CHECK(format_value(0.005, Unit::ratio) == "0.5 %");
    CHECK(format_value(1.0, Unit::ratio) == "100 %");
    CHECK(format_value(0.0, Unit::ratio) == "0 %");
    CHECK(format_value(0.412, Unit::seconds) == "412 ms");
    CHECK(format_value(0.0004, Unit::seconds) == "0.4 ms");
    CHECK(format_value(2.5, Unit::seconds) == "2.5 s");
    CHECK(format_value(1234, Unit::requests_per_second) == "1.23k req/s");
    CHECK(format_value(1200, Unit::requests_per_second) == "1.2k req/s");
    CHECK(format_value(2500000, Unit::requests_per_second) == "2.5M req/s");
    CHECK(format_value(12.345, Unit::requests_per_second) == "12.3 req/s");
    CHECK(format_value(0.35, Unit::cores) == "0.35 cores");
    CHECK(format_value(1.0, Unit::cores) == "1 core");
    CHECK(format_value(512.0 * 1024 * 1024, Unit::bytes) == "512 MiB");
    CHECK(format_value(1536.0 * 1024 * 1024, Unit::bytes) == "1.5 GiB");
    CHECK(format_value(2048, Unit::bytes) == "2 KiB");
    CHECK(format_value(100, Unit::bytes) == "100 B");
    CHECK(format_value(2.0165669467787115, Unit::count) == "2");
    CHECK(format_value(0.13793103448275862, Unit::none) == "0.1379");
    CHECK(format_value(108.5, Unit::none) == "108.5");
    CHECK(format_value(1795551515.325, Unit::none) == "1795551515");
  }

  TEST_CASE("NaN and infinities are spelled as Prometheus spells them") {
    CHECK(format_value(kNaN, Unit::ratio) == "NaN");
    CHECK(format_value(kInf, Unit::seconds) == "+Inf");
    CHECK(format_value(-kInf, Unit::none) == "-Inf");
    CHECK(std::isnan(*parse_sample_value(json("NaN"))));
    CHECK(*parse_sample_value(json("+Inf")) == kInf);
    CHECK(*parse_sample_value(json("-Inf")) == -kInf);
    CHECK(*parse_sample_value(json("1.3793103448275862e-01")) == doctest::Approx(0.13793));
    CHECK(*parse_sample_value(json("0.5")) == 0.5);
    CHECK_FALSE(parse_sample_value(json(0.5)));
    CHECK_FALSE(parse_sample_value(json("12abc")));
    CHECK_FALSE(parse_sample_value(json("")));
  }

  TEST_CASE("a sparkline scales from zero to the maximum and averages down to its width") {
    CHECK(sparkline({0, 1, 2, 3, 4, 5, 6, 7}) == "▁▂▃▄▅▆▇█");
    CHECK(sparkline({0.5, 0.5, 0.5, 0.5, 8, 8, 8}) == "▁▁▁▁███");
    CHECK(sparkline({0, 0, 0}) == "▁▁▁");
    CHECK(sparkline({}).empty());
    CHECK(sparkline({1, kNaN, 1}) == "█ █");
    CHECK(sparkline({1, kInf, 0}) == "█ ▁");
    std::vector<double> many(120, 0.005);
    for (std::size_t i = 100; i < many.size(); ++i) {
      many[i] = 0.14;
    }
    std::string expected;
    for (int i = 0; i < 25; ++i) {
      expected += "▁";
    }
    for (int i = 0; i < 5; ++i) {
      expected += "█";
    }
    CHECK(sparkline(many, 30) == expected);
  }

  TEST_CASE("labels print like PromQL, name first") {
    CHECK(format_labels(json::parse(R"({"service":"checkout"})")) == R"({service="checkout"})");
    CHECK(format_labels(json::parse(R"({"__name__":"up","job":"a\"b"})")) == R"(up{job="a\"b"})");
    CHECK(format_labels(json::parse(R"({"__name__":"up"})")) == "up");
    CHECK(format_labels(json::object()) == "{}");
  }

  TEST_CASE("the graph link carries the encoded query and the range") {
    CHECK(graph_link("http://127.0.0.1:9091/", "sum(up{a=\"b\"})", 3600) ==
          "http://127.0.0.1:9091/graph?g0.expr=sum%28up%7Ba%3D%22b%22%7D%29&g0.tab=0&g0.range_input=1h");
    CHECK(graph_link("https://prom", "up", 5400).ends_with("g0.range_input=1h30m"));
  }

  TEST_CASE("RFC 3339 times, ages and UTC clock times") {
    CHECK(parse_rfc3339("2026-11-24T20:18:20.568674523Z") == 1795551500);
    CHECK(parse_rfc3339("2026-11-24T21:18:20+01:00") == 1795551500);
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
    CHECK_FALSE(parse_rfc3339("2026-11-24 nonsense"));
    CHECK_FALSE(parse_rfc3339(""));
    CHECK(format_age(45) == "45s");
    CHECK(format_age(720) == "12m");
    CHECK(format_age(12000) == "3h20m");
    CHECK(format_age(200000) == "2d");
    CHECK(format_utc_time(1795551500, 1795552220) == "20:18 UTC");
    CHECK(format_utc_time(1795551500, 1795552220 + 86400) == "2026-11-24 20:18 UTC");
  }

  TEST_CASE("a snippet of what a server said is bounded, single-line and valid UTF-8") {
    CHECK(snippet("line one\nline two") == "line one line two");
    CHECK(snippet(std::string(300, 'x'), 10) == "xxxxxxxxxx...");
    CHECK(snippet("ab\xc3\xa9", 3) == "ab...");
  }
}

TEST_SUITE("actions/prometheus/template") {
  TEST_CASE("placeholders are filled and PromQL braces are left alone") {
    const TemplateValues values{R"(app="checkout",namespace="shop-prod")", "15m", "checkout", "prod", "shop-prod"};
    CHECK(render_template(R"(sum(rate(http_requests_total{$selector,code=~"5.."}[5m])))", values) ==
          R"(sum(rate(http_requests_total{app="checkout",namespace="shop-prod",code=~"5.."}[5m])))");
    CHECK(render_template("sum(increase(x{$selector}[$range]))", values) ==
          R"(sum(increase(x{app="checkout",namespace="shop-prod"}[15m])))");
    CHECK(render_template(R"(up{job="$target-$env",ns="$namespace"})", values) ==
          R"(up{job="checkout-prod",ns="shop-prod"})");
    CHECK(render_template(R"(up{path=~"/api$",x="$$selector"})", values) == R"(up{path=~"/api$",x="$selector"})");
  }

  TEST_CASE("unknown placeholders and templates without $selector are refused") {
    CHECK_FALSE(template_problem("sum(rate(x{$selector}[5m]))", true));
    CHECK(template_problem("sum(rate(x{$selectr}[5m]))", true).value().find("unknown placeholder $selectr") == 0);
    CHECK(template_problem("sum(rate(x[5m]))", true).value().find("does not use $selector") != std::string::npos);
    CHECK_FALSE(template_problem("sum(rate(x{job=\"checkout\"}[5m]))", false));
    CHECK(template_problem("", false).value() == "the template is empty");
  }
}
