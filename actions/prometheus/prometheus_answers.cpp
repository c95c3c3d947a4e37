#include "actions/prometheus/prometheus_answers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "src/core/duration.hpp"
#include "src/core/json_get.hpp"
#include "src/core/text.hpp"

namespace opsgate::actions::prometheus {

namespace {

using nlohmann::json;

constexpr std::size_t kSparklineWidth = 30;
constexpr std::size_t kQueryShown = 300;  // characters of a raw query quoted back

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

std::string result_type(const json& data) {
  if (!data.is_object()) {
    return "";
  }
  const auto found = data.find("resultType");
  return found != data.end() && found->is_string() ? found->get<std::string>() : "";
}

const json* result_array(const json& data) {
  if (!data.is_object()) {
    return nullptr;
  }
  const auto found = data.find("result");
  return found != data.end() ? &*found : nullptr;
}

// One [<unix seconds>, "<value>"] pair.
struct Sample {
  double time = 0;
  double value = 0;
};

std::optional<Sample> parse_pair(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number()) {
    return std::nullopt;
  }
  const auto value = parse_sample_value(pair[1]);
  if (!value) {
    return std::nullopt;
  }
  return Sample{pair[0].get<double>(), *value};
}

std::string warnings_text(const ApiAnswer& answer) {
  std::string out;
  for (const auto& warning : answer.warnings) {
    out += "\nPrometheus warns: " + warning;
  }
  return out;
}

std::string quoted_query(const std::string& query) { return "`" + snippet(query, kQueryShown) + "`"; }

const json& labels_of(const json& item, const char* key) {
  static const json empty = json::object();
  if (!item.is_object()) {
    return empty;
  }
  const auto found = item.find(key);
  return found != item.end() && found->is_object() ? *found : empty;
}

// True when one of `names` has a value in `accepted` (case-insensitive).
bool any_label_in(const json& labels, const std::vector<std::string>& names, const std::vector<std::string>& accepted) {
  for (const auto& name : names) {
    const std::string value = json_get::string_at(labels, name);
    if (value.empty()) {
      continue;
    }
    for (const auto& candidate : accepted) {
      if (!candidate.empty() && text::iequals(value, candidate)) {
        return true;
      }
    }
  }
  return false;
}

// A target is named by its name or its deployment in any environment.
std::vector<std::string> target_names(const Target& target) {
  std::vector<std::string> names{target.name};
  for (const auto& [env, placement] : target.placements) {
    names.push_back(placement.deployment);
  }
  return names;
}

// An environment is named by its name, or by the namespace of a placement in
// it (of `target` only, when given): alerts usually carry namespace, not env.
std::vector<std::string> env_names(const Inventory& inventory, const std::string& env, const Target* target) {
  std::vector<std::string> names{env};
  if (const Environment* e = inventory.find_env(env)) {
    names.push_back(e->name);
  }
  for (const auto& t : inventory.targets()) {
    if (target != nullptr && t.name != target->name) {
      continue;
    }
    const auto found = t.placements.find(env);
    if (found != t.placements.end()) {
      names.push_back(found->second.namespace_name);
    }
  }
  return names;
}

// The inventory's target and env an alert is about, for a triage suggestion.
std::pair<const Target*, std::string> resolve_alert(const json& labels, const AlertLabels& names,
                                                    const Inventory& inventory) {
  const Target* target = nullptr;
  for (const auto& t : inventory.targets()) {
    if (any_label_in(labels, names.target, target_names(t))) {
      target = &t;
      break;
    }
  }
  if (target == nullptr) {
    return {nullptr, ""};
  }
  for (const auto& env : inventory.environments()) {
    if (any_label_in(labels, names.env, env_names(inventory, env.name, target))) {
      return {target, env.name};
    }
  }
  return {target, ""};
}

std::string scope_text(const AlertFilter& filter) {
  if (!filter.target.empty() && !filter.env.empty()) {
    return " for " + filter.target + " in " + filter.env;
  }
  if (!filter.target.empty()) {
    return " for " + filter.target;
  }
  if (!filter.env.empty()) {
    return " in " + filter.env;
  }
  return "";
}

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::pair<const Target*, std::string> alert_target(const json& labels, const AlertLabels& names,
                                                   const Inventory& inventory) {
  return resolve_alert(labels.is_object() ? labels : json::object(), names, inventory);
}

Result<std::vector<SeriesSamples>> read_matrix(const ApiAnswer& answer) {
  const json* result = result_array(answer.data);
  if (result == nullptr || !result->is_array()) {
    return fail(Errc::upstream, "Prometheus answered the range query without a result");
  }
  if (!result->empty() && result_type(answer.data) != "matrix") {
    return fail(Errc::upstream, "Prometheus answered the range query with a '" +
                                    snippet(result_type(answer.data), 40) + "' result instead of a matrix");
  }
  std::vector<SeriesSamples> out;
  for (const auto& item : *result) {
    SeriesSamples series;
    series.labels = labels_of(item, "metric");
    if (item.is_object() && item.contains("values") && item["values"].is_array()) {
      for (const auto& pair : item["values"]) {
        const auto sample = parse_pair(pair);
        if (!sample) {
          return fail(Errc::upstream, "Prometheus answered the range query with a malformed sample: " +
                                          snippet(pair.dump(), 80));
        }
        series.points.emplace_back(static_cast<std::int64_t>(sample->time), sample->value);
      }
    }
    out.push_back(std::move(series));
  }
  return out;
}

std::int64_t step_for_range(std::int64_t range_s) { return std::max<std::int64_t>(15, range_s / 60); }

Result<ActionResult> summarise_metric(const MetricQuery& q, const ApiAnswer& answer) {
  const std::string type = result_type(answer.data);
  const json* result = result_array(answer.data);
  // An empty result is "no data" whatever its type: some proxies answer [] as a vector.
  const bool empty = result != nullptr && result->is_array() && result->empty();
  if (!empty && (type != "matrix" || result == nullptr || !result->is_array())) {
    return fail(Errc::upstream, "Prometheus answered the range query with a '" + snippet(type, 40) +
                                    "' result instead of a matrix");
  }
  const std::string range = format_duration(q.range_s);
  const Unit unit = unit_for_metric(q.metric);
  ActionResult out;
  out.data = {{"target", q.target}, {"env", q.env},         {"metric", q.metric},
              {"query", q.query},   {"range_s", q.range_s}, {"step_s", q.step_s},
              {"unit", unit_name(unit)}, {"graph_url", q.graph_url}, {"values", json::array()},
              {"current", nullptr}, {"min", nullptr}, {"max", nullptr}, {"series", result->size()}};
  if (result->empty()) {
    out.summary = "no data for " + q.target + " in " + q.env + " over the last " + range + ": is the selector `" +
                  q.selector + "` right?\n" + q.graph_url + warnings_text(answer);
    return out;
  }

  const json& series = (*result)[0];
  const json* values = nullptr;
  if (series.is_object() && series.contains("values") && series["values"].is_array()) {
    values = &series["values"];
  }
  if (values == nullptr) {
    return fail(Errc::upstream, "Prometheus answered the range query with a series without values");
  }
  std::vector<double> points;
  json rows = json::array();
  for (const auto& pair : *values) {
    const auto sample = parse_pair(pair);
    if (!sample) {
      return fail(Errc::upstream, "Prometheus answered the range query with a malformed sample: " +
                                      snippet(pair.dump(), 80));
    }
    points.push_back(sample->value);
    rows.push_back(json::array({sample->time, number_or_null(sample->value)}));
  }
  if (points.empty()) {
    out.summary = "no data for " + q.target + " in " + q.env + " over the last " + range + ": is the selector `" +
                  q.selector + "` right?\n" + q.graph_url + warnings_text(answer);
    return out;
  }

  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  for (const double v : points) {
    if (std::isfinite(v)) {
      low = std::min(low, v);
      high = std::max(high, v);
    }
  }
  const bool any_finite = std::isfinite(low);
  const double current = points.back();
  const std::string head = q.target + " " + metric_label(q.metric) + " in " + q.env + ": ";
  const std::string span =
      any_finite ? "last " + range + ": min " + format_value(low, unit) + ", max " + format_value(high, unit) : "";
  if (std::isnan(current) && !any_finite) {
    out.summary = head + "no value over the last " + range + " (NaN: no traffic to measure?)";
  } else if (std::isnan(current)) {
    out.summary = head + "no value now (NaN: no traffic to measure?); " + span;
  } else {
    out.summary = head + format_value(current, unit) + (span.empty() ? "" : " (" + span + ")");
  }
  out.summary += "\n" + sparkline(points, kSparklineWidth);
  if (result->size() > 1) {
    out.summary += "\n(the query returned " + std::to_string(result->size()) + " series; this is the first, " +
                   format_labels(labels_of(series, "metric")) + ")";
  }
  out.summary += "\n" + q.graph_url + warnings_text(answer);

  out.data["values"] = std::move(rows);
  out.data["current"] = number_or_null(current);
  out.data["current_text"] = format_value(current, unit);
  out.data["min"] = any_finite ? json(low) : json(nullptr);
  out.data["max"] = any_finite ? json(high) : json(nullptr);
  out.data["sparkline"] = sparkline(points, kSparklineWidth);
  if (q.metric == "error_rate" || q.metric == "latency_p99" || q.metric == "latency_p50") {
    out.suggestions.push_back(
        {"Error logs of " + q.target, "!logs " + q.target + " " + q.env + " level=error range=" + range});
  }
  out.suggestions.push_back({"Alerts for " + q.target, "!alerts " + q.target + " " + q.env});
  return out;
}

Result<ActionResult> summarise_promql(const std::string& query, const ApiAnswer& answer, std::size_t max_series,
                                      const std::string& graph_url) {
  const std::string type = result_type(answer.data);
  const json* result = result_array(answer.data);
  if (result == nullptr) {
    return fail(Errc::upstream, "Prometheus answered the query without a result");
  }
  ActionResult out;
  out.data = {{"query", query}, {"result_type", type}, {"graph_url", graph_url}};

  if (type == "scalar" || type == "string") {
    if (!result->is_array() || result->size() != 2 || !(*result)[1].is_string()) {
      return fail(Errc::upstream, "Prometheus answered with a malformed " + type);
    }
    const std::string text = (*result)[1].get<std::string>();
    if (type == "string") {
      out.summary = quoted_query(query) + " = \"" + snippet(text, 500) + "\"";
      out.data["value"] = text;
    } else {
      const auto value = parse_sample_value((*result)[1]);
      if (!value) {
        return fail(Errc::upstream, "Prometheus answered with a malformed scalar");
      }
      out.summary = quoted_query(query) + " = " + format_value(*value, Unit::none);
      out.data["value"] = number_or_null(*value);
    }
    out.summary += "\n" + graph_url + warnings_text(answer);
    return out;
  }
  if ((type != "vector" && type != "matrix") || !result->is_array()) {
    return fail(Errc::upstream, "Prometheus answered with an unknown result type '" + snippet(type, 40) + "'");
  }

  const std::size_t total = result->size();
  out.data["total_series"] = total;
  if (total == 0) {
    out.summary = "no series match " + quoted_query(query) + "\n" + graph_url + warnings_text(answer);
    out.data["series"] = json::array();
    return out;
  }
  json listed = json::array();
  std::string lines;
  for (std::size_t i = 0; i < total && i < max_series; ++i) {
    const json& item = (*result)[i];
    const json& metric = labels_of(item, "metric");
    std::optional<Sample> last;
    std::size_t samples = 1;
    if (type == "vector") {
      last = item.is_object() && item.contains("value") ? parse_pair(item["value"]) : std::nullopt;
    } else if (item.is_object() && item.contains("values") && item["values"].is_array() && !item["values"].empty()) {
      samples = item["values"].size();
      last = parse_pair(item["values"].back());
    }
    if (!last) {
      return fail(Errc::upstream, "Prometheus answered with a malformed series: " + snippet(item.dump(), 80));
    }
    lines += "\n" + format_labels(metric) + " " + format_value(last->value, Unit::none);
    if (type == "matrix") {
      lines += " (last of " + plural(samples, "sample") + ")";
    }
    listed.push_back({{"metric", metric}, {"value", number_or_null(last->value)}, {"samples", samples}});
  }
  if (total > max_series) {
    lines += "\n… and " + std::to_string(total - max_series) + " more";
  }
  out.summary = quoted_query(query) + ": " + std::to_string(total) + " series" + lines + "\n" + graph_url + warnings_text(answer);
  out.data["series"] = std::move(listed);
  return out;
}

namespace {

// One alert of either source, as summarise_alerts lists it.
struct AlertEntry {
  const json* alert;  // the source's object (labels, annotations; value for Prometheus)
  bool firing;
  std::int64_t since;
  std::string active_at;
  std::string source;  // prometheus | alertmanager | both
};

const char* source_text(const std::string& source) {
  if (source == "both") {
    return "Prometheus, Alertmanager";
  }
  return source == "alertmanager" ? "Alertmanager" : "Prometheus";
}

std::string one_line(const std::string& text) {
  std::string out = text;
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

// Prometheus' firing and pending alerts; nullopt when `data` has no alerts list.
std::optional<std::vector<AlertEntry>> prometheus_entries(const ApiAnswer& answer) {
  if (!answer.data.is_object() || !answer.data.contains("alerts") || !answer.data["alerts"].is_array()) {
    return std::nullopt;
  }
  std::vector<AlertEntry> out;
  for (const auto& alert : answer.data["alerts"]) {
    const std::string state = json_get::string_at(alert, "state");
    if (state != "firing" && state != "pending") {
      continue;
    }
    const std::string active_at = json_get::string_at(alert, "activeAt");
    out.push_back({&alert, state == "firing", parse_rfc3339(active_at).value_or(0), active_at, "prometheus"});
  }
  return out;
}

// Alertmanager's active (and unprocessed) alerts; suppressed ones are skipped
// even if the server ignored silenced=false&inhibited=false.
std::vector<AlertEntry> alertmanager_entries(const json& alerts) {
  std::vector<AlertEntry> out;
  for (const auto& alert : alerts) {
    if (!alert.is_object()) {
      continue;
    }
    if (json_get::string_at(labels_of(alert, "status"), "state") == "suppressed") {
      continue;
    }
    const std::string starts_at = json_get::string_at(alert, "startsAt");
    out.push_back({&alert, true, parse_rfc3339(starts_at).value_or(0), starts_at, "alertmanager"});
  }
  return out;
}

// Filters, sorts and words `entries`; `notes` end the summary. `mark_sources`
// names each alert's source (only when Alertmanager is configured).
ActionResult summarise_entries(std::vector<AlertEntry> entries, const AlertFilter& filter, const AlertLabels& labels,
                               const Inventory& inventory, std::size_t max_alerts, std::int64_t now_s,
                               bool mark_sources, const std::string& notes) {
  const Target* target = filter.target.empty() ? nullptr : inventory.find_target(filter.target);
  std::vector<std::string> wanted_targets{filter.target};
  if (target != nullptr) {
    wanted_targets = target_names(*target);
  }

  std::vector<AlertEntry> matching;
  std::size_t elsewhere = 0;
  for (auto& entry : entries) {
    const json& alert_labels = labels_of(*entry.alert, "labels");
    const bool target_ok = filter.target.empty() || any_label_in(alert_labels, labels.target, wanted_targets);
    const bool env_ok =
        filter.env.empty() || any_label_in(alert_labels, labels.env, env_names(inventory, filter.env, target));
    if (!target_ok || !env_ok) {
      elsewhere += entry.firing ? 1 : 0;
      continue;
    }
    matching.push_back(std::move(entry));
  }
  std::stable_sort(matching.begin(), matching.end(), [](const AlertEntry& a, const AlertEntry& b) {
    if (a.firing != b.firing) {
      return a.firing;
    }
    return a.since < b.since;
  });

  const std::size_t firing = static_cast<std::size_t>(
      std::count_if(matching.begin(), matching.end(), [](const AlertEntry& l) { return l.firing; }));
  const std::size_t pending = matching.size() - firing;
  const std::string scope = scope_text(filter);
  const std::string others = elsewhere == 0 ? "" : " (" + std::to_string(elsewhere) + " firing elsewhere: !alerts lists all)";

  ActionResult out;
  json listed = json::array();
  if (matching.empty()) {
    out.summary = "no alerts firing" + scope + others + notes;
    out.data = {{"alerts", listed}, {"firing", 0}, {"pending", 0}, {"elsewhere", elsewhere}};
    return out;
  }
  std::string text;
  if (firing > 0) {
    text = plural(firing, "alert") + " firing";
    if (pending > 0) {
      text += " and " + std::to_string(pending) + " pending";
    }
  } else {
    text = "no alerts firing, " + std::to_string(pending) + " pending";
  }
  text += scope + others + ":";

  for (std::size_t i = 0; i < matching.size(); ++i) {
    const json& alert = *matching[i].alert;
    const json& alert_labels = labels_of(alert, "labels");
    const json& annotations = labels_of(alert, "annotations");
    std::string name = json_get::string_at(alert_labels, "alertname");
    if (name.empty()) {
      name = "(unnamed alert)";
    }
    listed.push_back({{"name", name},
                      {"state", matching[i].firing ? "firing" : "pending"},
                      {"labels", alert_labels},
                      {"annotations", annotations},
                      {"active_at", matching[i].active_at},
                      {"value", alert.contains("value") && alert["value"].is_string() ? alert["value"] : json(nullptr)}});
    if (mark_sources) {
      listed.back()["source"] = matching[i].source;
    }
    if (i >= max_alerts) {
      continue;
    }
    std::string line = "\n• " + snippet(name, 100) + " [" + (matching[i].firing ? "firing" : "pending");
    const std::string severity = json_get::string_at(alert_labels, "severity");
    if (!severity.empty()) {
      line += ", " + snippet(severity, 40);
    }
    line += "]";
    if (mark_sources) {
      line += std::string(" (") + source_text(matching[i].source) + ")";
    }
    if (filter.target.empty() || filter.env.empty()) {
      std::string where;
      for (const auto& names : {labels.target, labels.env}) {
        for (const auto& key : names) {
          const std::string value = json_get::string_at(alert_labels, key);
          if (!value.empty()) {
            where += (where.empty() ? "" : " ") + key + "=" + snippet(value, 60);
          }
        }
      }
      if (!where.empty()) {
        line += " " + where;
      }
    }
    std::string what = json_get::string_at(annotations, "summary");
    if (what.empty()) {
      what = json_get::string_at(annotations, "description");
    }
    if (what.empty() && alert.contains("value") && alert["value"].is_string()) {
      const auto value = parse_sample_value(alert["value"]);
      what = value ? "value " + format_value(*value, Unit::none) : "";
    }
    if (!what.empty()) {
      line += ": " + snippet(what, 300);
    }
    if (matching[i].since > 0) {
      line += " — since " + format_utc_time(matching[i].since, now_s) + " (" +
              format_age(now_s - matching[i].since) + " ago)";
    }
    text += line;
  }
  if (matching.size() > max_alerts) {
    text += "\n… and " + std::to_string(matching.size() - max_alerts) + " more";
  }
  out.summary = text + notes;
  out.data = {{"alerts", listed}, {"firing", firing}, {"pending", pending}, {"elsewhere", elsewhere}};

  // The oldest firing alert is where a person would start.
  for (const auto& item : matching) {
    const auto [alert_target, alert_env] = resolve_alert(labels_of(*item.alert, "labels"), labels, inventory);
    if (item.firing && alert_target != nullptr) {
      const std::string env = alert_env.empty() ? filter.env : alert_env;
      const std::string where = env.empty() ? alert_target->name : alert_target->name + " " + env;
      out.suggestions.push_back({"Triage " + where, "!triage " + where});
      break;
    }
  }
  return out;
}

}  // namespace

Result<ActionResult> summarise_alerts(const ApiAnswer& answer, const AlertFilter& filter, const AlertLabels& labels,
                                      const Inventory& inventory, std::size_t max_alerts, std::int64_t now_s) {
  auto entries = prometheus_entries(answer);
  if (!entries) {
    return fail(Errc::upstream, "Prometheus answered /api/v1/alerts without an alerts list");
  }
  return summarise_entries(std::move(*entries), filter, labels, inventory, max_alerts, now_s, false,
                           warnings_text(answer));
}

Result<ActionResult> summarise_alerts(const AlertSources& sources, const AlertFilter& filter, const AlertLabels& labels,
                                      const Inventory& inventory, std::size_t max_alerts, std::int64_t now_s) {
  if (!sources.alertmanager) {
    if (!sources.prometheus) {
      return tl::unexpected(sources.prometheus.error());
    }
    return summarise_alerts(*sources.prometheus, filter, labels, inventory, max_alerts, now_s);
  }
  std::optional<Error> prometheus_error;
  std::vector<AlertEntry> entries;
  std::string warnings;
  if (!sources.prometheus) {
    prometheus_error = sources.prometheus.error();
  } else if (auto found = prometheus_entries(*sources.prometheus)) {
    entries = std::move(*found);
    warnings = warnings_text(*sources.prometheus);
  } else {
    prometheus_error = Error{Errc::upstream, "Prometheus answered /api/v1/alerts without an alerts list"};
  }
  const Result<json>& alertmanager = *sources.alertmanager;
  if (prometheus_error && !alertmanager) {
    return fail(prometheus_error->code,
                prometheus_error->message + "; Alertmanager: " + one_line(alertmanager.error().message));
  }
  if (alertmanager) {
    // An alert Prometheus still evaluates and Alertmanager was sent: the same labels, listed once.
    const std::size_t from_prometheus = entries.size();
    for (auto& entry : alertmanager_entries(*alertmanager)) {
      const json& entry_labels = labels_of(*entry.alert, "labels");
      const auto same = std::find_if(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(from_prometheus),
                                     [&entry_labels](const AlertEntry& known) {
                                       const json& known_labels = labels_of(*known.alert, "labels");
                                       return json_get::string_at(known_labels, "alertname") == json_get::string_at(entry_labels, "alertname") &&
                                              known_labels == entry_labels;
                                     });
      if (same != entries.begin() + static_cast<std::ptrdiff_t>(from_prometheus)) {
        same->source = "both";
        continue;
      }
      entries.push_back(std::move(entry));
    }
  }
  std::string notes = warnings;
  if (prometheus_error) {
    notes += "\nPrometheus: " + one_line(prometheus_error->message);
  }
  if (!alertmanager) {
    notes += "\nAlertmanager: " + one_line(alertmanager.error().message);
  }
  ActionResult out =
      summarise_entries(std::move(entries), filter, labels, inventory, max_alerts, now_s, true, notes);
  if (prometheus_error) {
    out.data["prometheus_error"] = prometheus_error->message;
  }
  if (!alertmanager) {
    out.data["alertmanager_error"] = alertmanager.error().message;
  }
  return out;
}

}  // namespace opsgate::actions::prometheus
