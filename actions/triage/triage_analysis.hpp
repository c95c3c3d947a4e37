#pragma once
// Triage without I/O: the evidence the sources returned, the flags found in
// it, and the report made of both, so every story (a spike after a deploy,
// a creep, saturation, a healthy service, a source that timed out) is
// testable on its own.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actions/triage/triage_action.hpp"
#include "src/core/action_result.hpp"

namespace opsgate::actions::triage {

using Points = std::vector<std::pair<std::int64_t, double>>;

// One golden signal as read.
struct SignalEvidence {
  std::string metric;         // one of kMetrics
  Points window;              // the range
  Points day_before;          // the same range one day earlier (times as they were)
  std::string query;          // the PromQL, for the graph link
  std::string graph_url;
  std::string error;          // why the range could not be read; empty: read
  std::string day_before_error;
};

// What the analysis says about one signal.
struct SignalVerdict {
  std::string metric;
  bool flagged = false;
  bool has_data = false;
  bool went_up = true;
  double before = 0;      // mean before the change (the earlier part of the range)
  double after = 0;       // mean after it
  double current = 0;     // the last value
  std::optional<double> yesterday;  // mean of the same range a day earlier
  std::int64_t change_at = 0;        // first sample after the change
  std::string reason;     // "28x the earlier part of the range", "3.1x the same time yesterday"
  std::string sparkline;
};

// Compares a signal with its own baselines: the earlier part of the range
// (the split that best separates two levels) and the same range a day
// earlier. Flagged when the later level moved beyond the factor in the bad
// direction (down as well for rps) and by more than min_change; restarts are
// flagged at min_restarts in the range.
SignalVerdict analyse_signal(const SignalEvidence& signal, const TriageConfig& config);

// One log-derived digest: the most frequent error messages and the newest lines.
struct ErrorGroup {
  std::string message;
  std::int64_t count = 0;
};
struct LogEvidence {
  bool read = false;
  std::string error;                 // why not
  std::vector<ErrorGroup> top;       // most frequent first
  std::vector<std::string> newest;   // "14:02:01 msg=..." newest first
  std::int64_t error_lines = 0;      // lines grouped
  std::optional<std::int64_t> error_total;  // over the whole range, when the backend counted
};

// Groups logs.search's data.lines by message: logfmt msg=, JSON msg/message,
// else the line with its time and long numbers/ids blanked.
LogEvidence digest_logs(const nlohmann::json& logs_data, std::size_t top, std::size_t newest);

// A firing (or pending) alert for the target.
struct AlertEvidence {
  std::string name;
  std::string state;
  std::string severity;
  std::string summary;
  std::string since;  // RFC 3339
};

// Everything triage read, and what could not be read.
struct Evidence {
  std::string target;
  std::string env;
  std::int64_t range_s = 3600;
  std::int64_t now_s = 0;
  std::vector<SignalEvidence> signals;
  std::optional<double> replicas;
  std::vector<AlertEvidence> alerts;
  bool alerts_read = false;
  LogEvidence logs;
  std::vector<DeployEvent> deploys;  // sorted by time
  std::string rollout;               // rollout.status's first line; empty: none
  std::vector<std::string> unavailable;  // "logs: Loki did not answer in 5s"
};

// The report: headline, flagged signals with sparklines and before/after
// values, the others in one line each, deploys, alerts, top errors, newest
// errors, what could not be read, and the suggestions of the rule table.
// data holds the same as JSON (the evidence a summariser gets).
ActionResult build_report(const Evidence& evidence, const TriageConfig& config);

}  // namespace opsgate::actions::triage
