#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "src/intent/eval.hpp"

using namespace opsgate;
using nlohmann::json;

namespace {

// Answers from a table, so the scoring rules are tested on their own.
class TableParser final : public IntentParser {
 public:
  std::map<std::string, ParseResult> answers;
  std::string_view name() const override { return "table"; }
  ParseResult parse(std::string_view text) const override {
    const auto it = answers.find(std::string(text));
    return it == answers.end() ? ParseResult::none("table") : it->second;
  }
};

ParseResult req(std::string action, json params) {
  ParseResult r;
  r.kind = ParseKind::request;
  r.request = {std::move(action), std::move(params)};
  r.confidence = 0.9;
  return r;
}

}  // namespace

TEST_SUITE("intent/eval") {
  TEST_CASE("expected params are a subset, clarify and none match by kind, wrong values are listed") {
    TableParser p;
    p.answers["a"] = req("restart", {{"target", "cart"}, {"env", "prod"}});
    p.answers["b"] = req("logs.search", {{"target", "cart"}, {"env", "prod"}, {"limit", 20}});
    p.answers["c"] = ParseResult::clarify("table", "which?");
    p.answers["e"] = req("scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 3}});
    std::istringstream in(
        R"({"text": "a", "expect": {"action": "restart", "params": {"target": "cart", "env": "prod"}}})" "\n"
        R"({"text": "b", "expect": {"action": "logs.search", "params": {"target": "cart"}}})" "\n"
        R"({"text": "c", "expect": {"action": "clarify", "params": {}}})" "\n"
        R"({"text": "d", "expect": {"action": "none", "params": {}}})" "\n"
        "\n# a comment\n"
        R"({"text": "e", "expect": {"action": "scale", "params": {"replicas": 30}}})" "\n"
        R"({"text": "f", "expect": {"action": "restart", "params": {}}})" "\n"
        "not json\n"
        R"({"text": 1})" "\n");
    const auto report = intent::evaluate(p, in);
    CHECK(report.total == 6);
    CHECK(report.exact == 4);
    CHECK(report.accuracy() == doctest::Approx(4.0 / 6.0));
    REQUIRE(report.mismatches.size() == 2);
    CHECK(report.mismatches[0].line == 7);
    CHECK(report.mismatches[0].why == "param replicas: expected 30, got 3");
    CHECK(report.mismatches[1].why == "action: expected restart, got none");
    CHECK(report.invalid_lines.size() == 2);

    std::map<std::string, intent::ActionScore> by_name;
    for (const auto& s : report.per_action) {
      by_name[s.action] = s;
    }
    CHECK(by_name["restart"].expected == 2);
    CHECK(by_name["restart"].correct == 1);
    CHECK(by_name["restart"].recall() == doctest::Approx(0.5));
    CHECK(by_name["none"].predicted == 2);
    CHECK(by_name["none"].precision() == doctest::Approx(0.5));
    CHECK(by_name["scale"].correct == 1);  // right action, wrong value: counted for the action, not exact

    const std::string table = intent::format_report(report);
    CHECK(table.find("exact match: 4/6") != std::string::npos);
    CHECK(table.find("precision") != std::string::npos);
    CHECK(table.find("line 7") != std::string::npos);
    const json j = intent::to_json(report);
    CHECK(j["exact"] == 4);
    CHECK(j["per_action"]["restart"]["recall"] == 0.5);
    CHECK(j["mismatches"].size() == 2);
  }

  TEST_CASE("an empty input scores nothing and still formats") {
    TableParser p;
    std::istringstream in("");
    const auto report = intent::evaluate(p, in);
    CHECK(report.total == 0);
    CHECK(report.accuracy() == 0.0);
    CHECK_FALSE(intent::format_report(report).empty());
  }

  TEST_CASE("invalid UTF-8 in a line or in a parser's answer does not break the report") {
    // "caf\xC3" ends in half a two-byte sequence: not UTF-8 (strict JSON refuses to dump it).
    const std::string broken = "caf\xC3";
    CHECK_THROWS((void)json(broken).dump());
    TableParser p;
    p.answers["restart cafe"] = req("restart", {{"target", broken}, {"env", "prod"}});
    std::istringstream in(
        "{\"text\": \"" + broken + "\", \"expect\": {\"action\": \"help\", \"params\": {}}}\n"
        R"({"text": "restart cafe", "expect": {"action": "restart", "params": {"target": "cafe"}}})" "\n");
    const auto report = intent::evaluate(p, in);
    // The raw bytes make line 1 unreadable JSON: reported by number, the next line still counts.
    REQUIRE(report.invalid_lines.size() == 1);
    CHECK(report.invalid_lines[0] == "line 1: not a JSON object");
    CHECK(report.total == 1);
    REQUIRE(report.mismatches.size() == 1);
    CHECK(report.mismatches[0].line == 2);
    CHECK(report.mismatches[0].why.rfind("param target: expected \"cafe\", got ", 0) == 0);
    std::string dumped;
    CHECK_NOTHROW(dumped = intent::to_json(report).dump(-1, ' ', false, json::error_handler_t::replace));
    CHECK(dumped.find("caf\xEF\xBF\xBD") != std::string::npos);  // U+FFFD in place of the broken byte
    std::ostringstream csv;
    CHECK_NOTHROW(intent::write_csv({{"table", "invalid UTF-8", report}}, csv));
    CHECK(csv.str().find("restart") != std::string::npos);
  }

  TEST_CASE("Wilson 95% interval: known values, honest at 0/n and n/n, empty is 0..1") {
    // 8/10: 0.4902..0.9433 (Wilson 1927; the usual textbook example).
    const auto a = intent::wilson_interval(8, 10);
    CHECK(a.low == doctest::Approx(0.4902).epsilon(0.001));
    CHECK(a.high == doctest::Approx(0.9433).epsilon(0.001));
    const auto full = intent::wilson_interval(60, 60);
    CHECK(full.high == doctest::Approx(1.0));
    CHECK(full.low == doctest::Approx(0.9398).epsilon(0.001));
    const auto zero = intent::wilson_interval(0, 20);
    CHECK(zero.low == doctest::Approx(0.0));
    CHECK(zero.high == doctest::Approx(0.1611).epsilon(0.001));
    const auto empty = intent::wilson_interval(0, 0);
    CHECK(empty.low == 0.0);
    CHECK(empty.high == 1.0);
  }

  TEST_CASE("a write answered where the label is a read, none, clarify or another write is counted") {
    TableParser parser;
    parser.answers["error rate of cart"] = req("restart", {{"target", "cart"}, {"env", "prod"}});
    parser.answers["I'll restart my laptop"] = req("restart", {{"target", "cart"}, {"env", "prod"}});
    parser.answers["restart it"] = req("rollout.undo", {{"target", "cart"}, {"env", "prod"}});
    parser.answers["deny request 42"] = req("deny", {{"id", "request"}});
    parser.answers["scale cart to 3 in prod"] = req("scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 3}});
    parser.answers["restart cart in prod"] = req("metrics.query", {{"target", "cart"}});
    std::istringstream in(
        R"({"text": "error rate of cart", "expect": {"action": "metrics.query", "params": {"target": "cart"}}})" "\n"
        R"({"text": "I'll restart my laptop", "expect": {"action": "none"}})" "\n"
        R"({"text": "restart it", "expect": {"action": "clarify"}})" "\n"
        R"({"text": "deny request 42", "expect": {"action": "deny", "params": {"id": "42"}}})" "\n"
        R"({"text": "scale cart to 3 in prod", "expect": {"action": "scale", "params": {"target": "cart", "replicas": 3}}})" "\n"
        R"({"text": "restart cart in prod", "expect": {"action": "restart", "params": {"target": "cart"}}})" "\n");
    const auto report = intent::evaluate(parser, in);
    CHECK(report.total == 6);
    CHECK(report.exact == 1);
    // The read answered for a write is a miss but not a write nobody asked for.
    CHECK(report.unasked_writes == 4);
    CHECK(report.confusion.at("none").at("restart") == 1);
    CHECK(report.confusion.at("clarify").at("rollout.undo") == 1);
    CHECK(report.confusion.at("scale").at("scale") == 1);
    CHECK(report.confusion.at("restart").at("metrics.query") == 1);
    CHECK(intent::format_report(report).find("writes not asked for: 4") != std::string::npos);
    CHECK(intent::format_report(report).find("[WRITE NOT ASKED FOR]") != std::string::npos);
    const json j = intent::to_json(report);
    CHECK(j["unasked_writes"] == 4);
    CHECK(j["confusion"]["none"]["restart"] == 1);
    CHECK(j["accuracy_ci95"].size() == 2);
    CHECK(j["per_action"]["scale"]["exact_ci95"][0].get<double>() > 0.0);
  }
}

