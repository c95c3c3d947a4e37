#pragma once
// What the Prometheus actions answer, built from Prometheus' `data` without
// I/O, so every shape (empty, NaN, many series, errors) is testable on its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actions/prometheus/prometheus_actions.hpp"
#include "actions/prometheus/prometheus_api.hpp"
#include "actions/prometheus/prometheus_format.hpp"
#include "src/core/action_result.hpp"
#include "src/core/error.hpp"

namespace opsgate::actions::prometheus {

// One metrics.query, resolved: what was asked and the PromQL it became.
struct MetricQuery {
  std::string target;
  std::string env;
  std::string metric;
  std::string selector;  // shown when there is no data
  std::string query;
  std::int64_t range_s = 3600;
  std::int64_t step_s = 60;
  std::string graph_url;  // the link to the same query in Prometheus' UI
};

// The step of a range query: range/60, at least 15s (about 60 points).
std::int64_t step_for_range(std::int64_t range_s);

// A query_range answer (matrix) as "checkout error rate in prod: 13.8 % (last
// 1h: min 0.4 %, max 14.9 %)", a sparkline and a graph link. No series is an
// answer that questions the selector, not an error.
Result<ActionResult> summarise_metric(const MetricQuery& query, const ApiAnswer& answer);

// An instant query answer of any shape (vector, matrix, scalar, string), at
// most `max_series` series listed.
Result<ActionResult> summarise_promql(const std::string& query, const ApiAnswer& answer, std::size_t max_series,
                                      const std::string& graph_url);

// A matrix (or empty) answer as numbers; NaN samples kept, malformed ones an error.
Result<std::vector<SeriesSamples>> read_matrix(const ApiAnswer& answer);

// Which alerts to list: empty target/env means any.
struct AlertFilter {
  std::string target;
  std::string env;
};

// /api/v1/alerts filtered by target and env (labels per `labels`, namespaces
// from the inventory), firing first, at most `max_alerts` listed.
Result<ActionResult> summarise_alerts(const ApiAnswer& answer, const AlertFilter& filter, const AlertLabels& labels,
                                      const Inventory& inventory, std::size_t max_alerts, std::int64_t now_s);

// The inventory's target and environment an alert's labels name (per
// `labels`; an env label may hold the placement's namespace): {nullptr, ""}
// when no target matches, {target, ""} when no environment does.
std::pair<const Target*, std::string> alert_target(const nlohmann::json& labels, const AlertLabels& names,
                                                   const Inventory& inventory);

// What alerts.list got from each source: an answer or why not.
struct AlertSources {
  Result<ApiAnswer> prometheus;                        // /api/v1/alerts
  std::optional<Result<nlohmann::json>> alertmanager;  // /api/v2/alerts; nullopt: none configured
};

// Both sources merged: an alert in both (same label set, alertname included)
// is listed once, and every line names its source. A source that failed is a
// one-line note ("Alertmanager: <why>") under the other's alerts; only both
// failing is an error. Without Alertmanager, exactly the overload above.
Result<ActionResult> summarise_alerts(const AlertSources& sources, const AlertFilter& filter, const AlertLabels& labels,
                                      const Inventory& inventory, std::size_t max_alerts, std::int64_t now_s);

}  // namespace opsgate::actions::prometheus
