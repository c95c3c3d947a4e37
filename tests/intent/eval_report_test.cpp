#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "src/intent/eval.hpp"
#include "tests/intent/nlu_test_support.hpp"

using namespace opsgate;

namespace {

intent::EvalReport run_dev_set(double threshold) {
  auto inventory = test::nlu_demo_inventory();
  std::vector<std::unique_ptr<IntentParser>> parsers;
  parsers.push_back(std::make_unique<intent::CommandParser>(inventory));
  parsers.push_back(std::make_unique<intent::NluParser>(inventory));
  const intent::IntentCascade cascade(std::move(parsers), inventory, threshold);
  std::ifstream in(std::string(OPSGATE_SHARED_DIR) + "/eval/intents-dev.jsonl");
  REQUIRE(in);
  return intent::evaluate(cascade, in);
}

}  // namespace

TEST_SUITE("intent/eval report") {
  TEST_CASE("dev set: CSV rows per variant and action, HTML with table, charts and misses") {
    std::vector<intent::VariantReport> variants{{"builtin", "intent.parsers=command,nlu", run_dev_set(0.6)},
                                                {"strict", "intent.min_confidence=0.99", run_dev_set(0.99)}};
    const auto& builtin = variants[0].report;
    CHECK(builtin.accuracy() >= 0.95);
    CHECK(builtin.param_accuracy() >= 0.95);
    CHECK(builtin.p50_us > 0);
    CHECK(builtin.p95_us >= builtin.p50_us);
    CHECK(builtin.llm_calls == 0);
    // A threshold above every nlu confidence turns its answers into questions.
    CHECK(variants[1].report.accuracy() < builtin.accuracy());
    CHECK_FALSE(variants[1].report.mismatches.empty());

    std::ostringstream csv;
    intent::write_csv(variants, csv);
    const std::string table = csv.str();
    CHECK(table.rfind("variant,description,action,expected,predicted,correct,exact,exact_accuracy,param_accuracy,"
                      "precision,recall,latency_p50_us,latency_p95_us,llm_calls,tokens_in,tokens_out,cost_usd,misses,"
                      "exact_ci95_low,exact_ci95_high,unasked_writes\r\n",
                      0) == 0);
    CHECK(table.find("builtin,\"intent.parsers=command,nlu\",(all)," + std::to_string(builtin.total)) != std::string::npos);
    CHECK(table.find("builtin,\"intent.parsers=command,nlu\",restart,") != std::string::npos);
    CHECK(table.find("strict,intent.min_confidence=0.99,clarify,") != std::string::npos);
    CHECK(table.find("builtin,\"intent.parsers=command,nlu\",none,") != std::string::npos);

    const std::string page = intent::render_html(variants, "intents-dev.jsonl");
    CHECK(page.rfind("<!doctype html>", 0) == 0);
    CHECK(page.find("<style>") != std::string::npos);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("src=\"http") == std::string::npos);  // self-contained
    CHECK(page.find("href=\"http") == std::string::npos);
    CHECK(page.find("<h2 id=\"builtin\">builtin</h2>") != std::string::npos);
    CHECK(page.find("<h2 id=\"strict\">strict</h2>") != std::string::npos);
    CHECK(page.find("Exact match by variant") != std::string::npos);
    CHECK(page.find("<svg") != std::string::npos);
    CHECK(page.find("clarify P / R") != std::string::npos);
    CHECK(page.find("latency p50") != std::string::npos);
    CHECK(page.find("tokens in / out") != std::string::npos);
    CHECK(page.find("class=\"best\"") != std::string::npos);
    CHECK(page.find(std::to_string(variants[1].report.mismatches.size()) + " misses") != std::string::npos);
    // Wilson intervals overall and per action, and a confusion matrix per variant.
    CHECK(page.find("95% CI (Wilson)") != std::string::npos);
    CHECK(page.find("writes not asked for") != std::string::npos);
    CHECK(page.find("<table class=\"confusion\">") != std::string::npos);
    CHECK(page.find("<th><span>restart</span></th>") != std::string::npos);
    // Every CSV row has as many fields as the header.
    std::istringstream rows(table);
    std::string row;
    std::getline(rows, row);
    const auto fields = std::count(row.begin(), row.end(), ',');
    while (std::getline(rows, row)) {
      std::string plain;
      bool quoted = false;
      for (char c : row) {
        quoted = c == '"' ? !quoted : quoted;
        plain += quoted && c == ',' ? ';' : c;
      }
      CHECK(std::count(plain.begin(), plain.end(), ',') == fields);
    }
    // A miss shows its text, escaped.
    const auto& miss = variants[1].report.mismatches.front();
    CHECK(page.find("<td>" + std::to_string(miss.line) + "</td>") != std::string::npos);
  }

  TEST_CASE("the confusion matrix marks a write answered for a label that did not ask for it") {
    intent::EvalReport r;
    r.total = 3;
    r.exact = 1;
    r.confusion["none"]["restart"] = 1;
    r.confusion["none"]["none"] = 1;
    r.confusion["metrics.query"]["triage"] = 1;
    r.unasked_writes = 1;
    const std::string page = intent::render_html({{"v", "d", r}}, "x.jsonl");
    CHECK(page.find("<td class=\"unasked\">1</td>") != std::string::npos);
    CHECK(page.find("<td class=\"diag\">1</td>") != std::string::npos);
    CHECK(page.find("<td class=\"off\">1</td>") != std::string::npos);
    CHECK(page.find("<span class=\"bad\">1</span>") != std::string::npos);
  }

  TEST_CASE("chat text in a miss is HTML-escaped") {
    intent::EvalReport r;
    r.total = 1;
    r.mismatches.push_back({1, "<script>alert(1)</script> & \"x\"", {{"action", "none"}}, {{"action", "help"}}, "action: expected none, got help"});
    const std::string page = intent::render_html({{"v", "d", r}}, "x.jsonl");
    CHECK(page.find("<script>alert") == std::string::npos);
    CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;") != std::string::npos);
  }
}
