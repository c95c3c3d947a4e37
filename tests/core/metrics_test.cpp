#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "src/core/metrics.hpp"

using namespace opsgate;

TEST_SUITE("core/metrics") {
  TEST_CASE("counters and histograms render in the Prometheus text format 0.0.4") {
    MetricsRegistry m;
    m.declare_counter("opsgate_test_total", "Things counted");
    m.declare_histogram("opsgate_test_seconds", "How long", {0.1, 1.0});
    m.add("opsgate_test_total", {{"team", "shop"}, {"user", "a\"b\\c\nd"}}, 2);
    m.add("opsgate_test_total", {{"team", "shop"}, {"user", "a\"b\\c\nd"}});
    m.observe("opsgate_test_seconds", {{"model", "gpt"}}, 0.05);
    m.observe("opsgate_test_seconds", {{"model", "gpt"}}, 0.5);
    m.observe("opsgate_test_seconds", {{"model", "gpt"}}, 5);
    m.add("opsgate_undeclared_total", {}, 1);  // ignored, not a crash
    m.add("opsgate_test_total", {{"team", "web"}}, -1);  // counters never go down
    const std::string text = m.render();
    CHECK(text.find("# HELP opsgate_test_total Things counted\n# TYPE opsgate_test_total counter\n") != std::string::npos);
    CHECK(text.find("opsgate_test_total{team=\"shop\",user=\"a\\\"b\\\\c\\nd\"} 3\n") != std::string::npos);
    CHECK(text.find("# TYPE opsgate_test_seconds histogram\n") != std::string::npos);
    CHECK(text.find("opsgate_test_seconds_bucket{model=\"gpt\",le=\"0.1\"} 1\n") != std::string::npos);
    CHECK(text.find("opsgate_test_seconds_bucket{model=\"gpt\",le=\"1\"} 2\n") != std::string::npos);
    CHECK(text.find("opsgate_test_seconds_bucket{model=\"gpt\",le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("opsgate_test_seconds_sum{model=\"gpt\"} 5.55\n") != std::string::npos);
    CHECK(text.find("opsgate_test_seconds_count{model=\"gpt\"} 3\n") != std::string::npos);
    CHECK(text.find("undeclared") == std::string::npos);
    CHECK(text.find("team=\"web\"") == std::string::npos);
    CHECK(m.counter_value("opsgate_test_total", {{"team", "shop"}, {"user", "a\"b\\c\nd"}}) == 3);
  }

  TEST_CASE("a family keeps at most 1000 label sets, later new ones are counted as other") {
    MetricsRegistry m;
    m.declare_counter("opsgate_test_total", "Things counted");
    m.declare_histogram("opsgate_test_seconds", "How long", {1.0});
    for (int i = 0; i < 5000; ++i) {
      m.add("opsgate_test_total", {{"team", "t" + std::to_string(i)}});
      m.observe("opsgate_test_seconds", {{"team", "t" + std::to_string(i)}}, 0.5);
    }
    m.add("opsgate_test_total", {{"team", "t1"}}, 2);  // a known label set keeps counting
    const std::string text = m.render();
    std::size_t series = 0;
    for (std::size_t at = text.find("\nopsgate_test_total{"); at != std::string::npos;
         at = text.find("\nopsgate_test_total{", at + 1)) {
      ++series;
    }
    CHECK(series == 1001);
    CHECK(m.counter_value("opsgate_test_total", {{"team", "other"}}) == 4000);
    CHECK(m.counter_value("opsgate_test_total", {{"team", "t1"}}) == 3);
    CHECK(m.counter_value("opsgate_test_seconds", {{"team", "other"}}) == 4000);
    CHECK(text.find("team=\"t4999\"") == std::string::npos);
  }

  TEST_CASE("updates from several threads are all counted") {
    MetricsRegistry m;
    m.declare_counter("opsgate_hits_total", "hits");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&m] {
        for (int i = 0; i < 1000; ++i) {
          m.add("opsgate_hits_total", {{"k", "v"}});
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(m.counter_value("opsgate_hits_total", {{"k", "v"}}) == 4000);
  }
}
