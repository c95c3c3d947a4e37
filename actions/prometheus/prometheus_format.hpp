#pragma once
// How Prometheus numbers become chat text: values with units, sparklines,
// series labels, graph links and alert times. Pure functions, no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace opsgate::actions::prometheus {

enum class Unit {
  ratio,                // 0.138 -> "13.8 %"
  seconds,              // 0.412 -> "412 ms"
  requests_per_second,  // 1234 -> "1.23k req/s"
  cores,                // 0.35 -> "0.35 cores"
  bytes,                // 536870912 -> "512 MiB"
  count,                // 2.02 -> "2"
  none,                 // 0.13793 -> "0.1379"
};

// The unit of a named metric (kMetrics); none for anything else.
Unit unit_for_metric(std::string_view metric);
// For data.unit: "ratio", "seconds", "req/s", "cores", "bytes", "count", "".
std::string_view unit_name(Unit unit);
// "error rate", "p99 latency", ...: the metric as a sentence says it.
std::string metric_label(std::string_view metric);

// A value with its unit; NaN, +Inf and -Inf as Prometheus writes them.
std::string format_value(double value, Unit unit);
// `significant` digits, no exponent, trailing zeros dropped: 13.793 -> "13.8".
std::string format_significant(double value, int significant);

// One character per point (at most `width`, averaging neighbours), scaled
// from 0 (or the minimum, if negative) to the maximum: ▁▂▃▄▅▆▇█. Gaps (NaN)
// are spaces.
std::string sparkline(const std::vector<double>& values, std::size_t width = 30);

// <base>/graph?g0.expr=<query>&g0.tab=0&g0.range_input=<range>: the same query in Prometheus' UI.
std::string graph_link(std::string_view base, std::string_view promql, std::int64_t range_s);

// name{a="b", c="d"} from a result's "metric" object; "{}" when it has no labels.
std::string format_labels(const nlohmann::json& metric);

// A sample value: a JSON string such as "0.5", "NaN", "+Inf". nullopt for anything else.
std::optional<double> parse_sample_value(const nlohmann::json& value);

// "2026-11-24T20:18:20.568674523Z" (or with an offset) -> unix seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);
// "45s", "12m", "3h20m", "2d": how long ago, coarsely.
std::string format_age(std::int64_t seconds);
// "20:18 UTC" on the same UTC day as `now_s`, else "2026-11-24 20:18 UTC".
std::string format_utc_time(std::int64_t unix_s, std::int64_t now_s);

// At most `limit` bytes, cut at a UTF-8 boundary, control characters as spaces:
// for quoting what a server said.
std::string snippet(std::string_view text, std::size_t limit = 200);

}  // namespace opsgate::actions::prometheus
