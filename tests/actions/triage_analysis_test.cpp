// Triage without I/O: the flags on crafted series, the log digest, the rule
// table and the config reader's refusals.

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "actions/triage/triage_analysis.hpp"
#include "src/core/config_node.hpp"

using nlohmann::json;
namespace triage = opsgate::actions::triage;

namespace {

constexpr std::int64_t kNow = 1767268800;

// 60 samples a minute apart ending at kNow: `low` until `step_at`, then `high`.
triage::Points step(double low, double high, int step_at) {
  triage::Points points;
  for (int i = 0; i < 60; ++i) {
    points.emplace_back(kNow - 3600 + i * 60, i < step_at ? low : high);
  }
  return points;
}

std::string config_error(const std::string& yaml) {
  try {
    triage::parse_triage_config(opsgate::ConfigNode::parse(yaml, "test.yaml"));
  } catch (const opsgate::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("actions/triage/analysis") {
  TEST_CASE("a step up is flagged at the sample where it starts, a flat signal is not") {
    const triage::TriageConfig config;
    const auto spike = triage::analyse_signal({"error_rate", step(0.005, 0.14, 40), {}, "", "", "", ""}, config);
    CHECK(spike.flagged);
    CHECK(spike.went_up);
    CHECK(spike.change_at == kNow - 3600 + 40 * 60);
    CHECK(spike.before == doctest::Approx(0.005));
    CHECK(spike.after == doctest::Approx(0.14));

    const auto flat = triage::analyse_signal({"error_rate", step(0.005, 0.006, 40), {}, "", "", "", ""}, config);
    CHECK_FALSE(flat.flagged);  // 1.2x, and under the 1 point floor
    CHECK(flat.has_data);
  }

  TEST_CASE("a level that was always high is flagged against the same time yesterday") {
    const triage::TriageConfig config;
    const auto v = triage::analyse_signal({"cpu", step(2.0, 2.0, 30), step(0.5, 0.5, 30), "", "", "", ""}, config);
    CHECK(v.flagged);
    CHECK(v.reason.find("the same time yesterday") != std::string::npos);
    REQUIRE(v.yesterday);
    CHECK(*v.yesterday == doctest::Approx(0.5));
  }

  TEST_CASE("traffic is flagged when it drops, the floor keeps tiny signals quiet") {
    const triage::TriageConfig config;
    const auto drop = triage::analyse_signal({"rps", step(120, 20, 45), {}, "", "", "", ""}, config);
    CHECK(drop.flagged);
    CHECK_FALSE(drop.went_up);
    const auto tiny = triage::analyse_signal({"cpu", step(0.01, 0.05, 45), {}, "", "", "", ""}, config);
    CHECK_FALSE(tiny.flagged);  // 5x, but 0.04 cores is under the 0.1 floor
  }

  TEST_CASE("restarts are counted, not compared") {
    const triage::TriageConfig config;
    CHECK(triage::analyse_signal({"restarts", step(0, 2, 50), {}, "", "", "", ""}, config).flagged);
    CHECK_FALSE(triage::analyse_signal({"restarts", step(0, 1, 50), {}, "", "", "", ""}, config).flagged);
  }

  TEST_CASE("error lines are grouped by message, most frequent first, other lines by their text without ids") {
    json lines = json::array();
    for (int i = 0; i < 5; ++i) {
      lines.push_back({{"time", "2026-01-01T11:5" + std::to_string(i) + ":00Z"},
                       {"line", "ts=2026 level=error msg=\"upstream timeout\" trace_id=ab" + std::to_string(i)}});
    }
    lines.push_back({{"time", "2026-01-01T11:40:00Z"}, {"line", R"({"level":"error","message":"disk full"})"}});
    lines.push_back({{"time", "2026-01-01T11:39:00Z"}, {"line", "panic: request 123456 failed"}});
    lines.push_back({{"time", "2026-01-01T11:38:00Z"}, {"line", "panic: request 654321 failed"}});
    const auto digest = triage::digest_logs({{"lines", lines}}, 5, 2);
    REQUIRE(digest.top.size() == 3);
    CHECK(digest.top[0].message == "upstream timeout");
    CHECK(digest.top[0].count == 5);
    CHECK(digest.top[1].message == "panic: request … failed");
    CHECK(digest.top[1].count == 2);
    CHECK(digest.top[2].message == "disk full");
    REQUIRE(digest.newest.size() == 2);
    CHECK(digest.newest[0] == "11:50:00  level=error msg=\"upstream timeout\" trace_id=ab0");
    CHECK(digest.error_lines == 8);
  }

  TEST_CASE("the rule table: a deploy before an error spike suggests a rollback, replicas fill {replicas+N}") {
    triage::Evidence e;
    e.target = "checkout";
    e.env = "prod";
    e.now_s = kNow;
    e.signals.push_back({"error_rate", step(0.005, 0.14, 40), {}, "", "", "", ""});
    e.signals.push_back({"cpu", step(0.3, 1.2, 40), {}, "", "", "", ""});
    e.deploys.push_back({kNow - 3600 + 38 * 60, "checkout 2.4.1 was deployed", "test"});
    e.replicas = 3;
    e.alerts_read = true;
    const auto report = triage::build_report(e, triage::TriageConfig{});
    REQUIRE(report.suggestions.size() >= 2);
    CHECK(report.suggestions[0].command == "!rollback checkout prod");
    CHECK(report.suggestions[1].command == "!scale checkout 5 prod");
    CHECK(report.suggestions[1].label == "Scale checkout to 5");
    CHECK(report.data["headline"] ==
          "checkout in prod, last 1h: error rate went up from 0.5 % to 14 % at 11:40 UTC; checkout 2.4.1 was deployed "
          "at 11:38 UTC (also: CPU).");

    // Without a replica count the scale rule is skipped, not guessed.
    e.replicas.reset();
    const auto without = triage::build_report(e, triage::TriageConfig{});
    for (const auto& s : without.suggestions) {
      CHECK(s.command.find("!scale") == std::string::npos);
    }
  }

  TEST_CASE("the config reader names the key it refuses") {
    CHECK(config_error("factor: 2\nfactors: {latency_p99: 1.5}\nsuggestions:\n  - {when: [none], label: ok, command: '!alerts {env}'}\n") == "");
    CHECK(config_error("factors: {latncy: 2}\n").find("factors.latncy") != std::string::npos);
    CHECK(config_error("factor: 0.5\n").find("factor") != std::string::npos);
    CHECK(config_error("suggestions:\n  - {when: [deploy, eror_rate], label: x, command: '!rollback {target} {env}'}\n")
              .find("unknown condition 'eror_rate'") != std::string::npos);
    CHECK(config_error("suggestions:\n  - {when: [cpu], label: x, command: 'rm -rf /'}\n").find("command") !=
          std::string::npos);
    CHECK(config_error("suggestions:\n  - {when: [cpu], label: x, command: '!scale {target} {replcas} {env}'}\n")
              .find("unknown placeholder {replcas}") != std::string::npos);
    CHECK(config_error("deploy_marker: 'build_info{$selectr}'\n").find("deploy_marker") != std::string::npos);
    CHECK(config_error("timeouts: {logz: 5s}\n").find("logz") != std::string::npos);
  }
}
