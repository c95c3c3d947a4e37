#pragma once
// `triage`: what an on-call SRE looks at first, in one answer. It composes the
// other backends (never changes anything): the target's golden signals from
// Prometheus over the range and the same range a day earlier, the firing
// alerts (alerts.list), the newest and most frequent error lines
// (logs.search), the rollout status (rollout.status) and recent deploys
// (a PromQL deploy marker and opsgate's own audit log), each in parallel with
// its own timeout. Signals that moved beyond a factor of their baseline are
// flagged, a deploy shortly before the change is pointed out, and a rule
// table turns the flags into suggested commands (buttons) that go through the
// normal policy and approval path. This is the folder's one public header.
//
//   actions:
//     triage:
//       factor: 2                 # flagged when a signal moved this many times its baseline
//       factors: {latency_p99: 1.5, latency_p50: 1.5}   # per signal
//       min_change: {error_rate: 0.01}   # absolute floors (ratio, seconds, req/s, cores, bytes)
//       min_restarts: 2           # restarts in the range that count as a crash loop
//       compare_day_before: true  # also read the same range one day earlier
//       deploy_window: 30m        # a deploy this long before a change is pointed out
//       deploy_marker: 'app_build_info{$selector}'   # PromQL template; empty: none
//       replicas_query: 'max(kube_deployment_spec_replicas{$selector})'
//       timeouts: {metrics: 5s, alerts: 5s, logs: 5s, rollout: 5s, deploys: 5s, summary: 10s}
//       error_lines: 200          # error lines read to group (logs.search limit)
//       top_errors: 5             # most frequent error messages shown
//       newest_errors: 3          # newest error lines shown
//       suggestions:              # the rule table, see TriageRule
//         - {when: [deploy, error_rate], label: "Roll back {target}", command: "!rollback {target} {env}"}

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "actions/prometheus/prometheus_actions.hpp"
#include "src/core/action.hpp"
#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/error.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::actions::triage {

// One row of the suggestion table. Every condition of `when` must hold; a
// condition is a signal name (flagged: error_rate, latency_p99, latency_p50,
// rps, cpu, memory, restarts), `deploy` (a deploy or restart within
// deploy_window before a flagged change), `alert` (a firing alert), `any`
// (something flagged), `none` (nothing flagged, no alert firing);
// alternatives are written `cpu|memory`. label and command take {target},
// {env}, {range}, {replicas} and {replicas+N} (the replicas_query's value
// plus N; a rule whose replicas are unknown is skipped).
struct TriageRule {
  std::vector<std::vector<std::string>> when;  // all of (any of)
  std::string label;
  std::string command;
};

// The `actions.triage` section, validated once at start-up and immutable after.
struct TriageConfig {
  double factor = 2.0;
  std::map<std::string, double> factors{{"latency_p99", 1.5}, {"latency_p50", 1.5}};
  std::map<std::string, double> min_change{{"error_rate", 0.01}, {"latency_p99", 0.05}, {"latency_p50", 0.02},
                                           {"rps", 1.0},         {"cpu", 0.1},          {"memory", 64.0 * 1048576}};
  double min_restarts = 2;
  bool compare_day_before = true;
  std::chrono::seconds deploy_window{1800};
  std::string deploy_marker;  // PromQL template; empty: no PromQL deploy marker
  std::string replicas_query = "max(kube_deployment_spec_replicas{$selector})";
  std::chrono::milliseconds metrics_timeout{5000};
  std::chrono::milliseconds alerts_timeout{5000};
  std::chrono::milliseconds logs_timeout{5000};
  std::chrono::milliseconds rollout_timeout{5000};
  std::chrono::milliseconds deploys_timeout{5000};
  std::chrono::milliseconds summary_timeout{10000};
  std::int64_t error_lines = 200;
  std::size_t top_errors = 5;
  std::size_t newest_errors = 3;
  std::vector<TriageRule> rules = default_rules();

  double factor_for(const std::string& metric) const;
  double min_change_for(const std::string& metric) const;
  static std::vector<TriageRule> default_rules();
};

// Reads `actions.triage`. Throws ConfigError naming file:line:key for an
// unknown key or signal, a bad template, or a rule whose command is not a
// `!verb` of the catalogue or uses an unknown placeholder.
TriageConfig parse_triage_config(const ConfigNode& node);

// A deploy (or restart, rollback, scale) of the target, from wherever it is known.
struct DeployEvent {
  std::int64_t at_s = 0;
  std::string text;    // "checkout 2.4.1 deployed", "restart by shell:bob"
  std::string source;  // "Prometheus app_build_info", "opsgate audit log"
};

// Extension point: where deploys are recorded (opsgate's audit log, a
// Kubernetes backend). Implementations may run concurrently on any strand.
class DeployHistory {
 public:
  virtual ~DeployHistory() = default;
  virtual std::string name() const = 0;  // "the audit log", for "deploys: <name> did not answer in 5s"
  virtual boost::asio::awaitable<Result<std::vector<DeployEvent>>> deploys(std::string target, std::string env,
                                                                           std::int64_t since_s,
                                                                           std::int64_t until_s) = 0;
};

// Extension point: a plain-language summary of the evidence (an LLM). It gets
// the report's data (numbers, flags, redacted and truncated log lines, as
// JSON) and returns a few sentences; the report marks them as generated and
// keeps the evidence and suggestions deterministic underneath. A failure or
// timeout leaves the report without a summary.
class TriageSummariser {
 public:
  virtual ~TriageSummariser() = default;
  virtual boost::asio::awaitable<Result<std::string>> summarise(nlohmann::json evidence) = 0;
};

// What triage reads from. Everything but the clock is optional: a missing
// source is one line in the report ("metrics: no Prometheus configured").
struct TriageSources {
  std::shared_ptr<prometheus::PrometheusReader> prometheus;
  // The registered alerts.list, logs.search and rollout.status actions (owned
  // by the registry, which outlives triage); null: not configured.
  opsgate::Action* alerts = nullptr;
  opsgate::Action* logs = nullptr;
  opsgate::Action* rollout = nullptr;
  std::string logs_backend = "the log backend";  // "Loki", "the log files": for timeout lines
  std::vector<std::shared_ptr<DeployHistory>> deploy_histories;
  std::shared_ptr<TriageSummariser> summariser;  // null: the headline is built from the flags
  std::shared_ptr<const Clock> clock;
};

std::unique_ptr<opsgate::Action> make_triage_action(const TriageConfig& config,
                                                    std::shared_ptr<const Inventory> inventory,
                                                    TriageSources sources);

}  // namespace opsgate::actions::triage
