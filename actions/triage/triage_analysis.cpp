#include "actions/triage/triage_analysis.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "actions/prometheus/prometheus_format.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::triage {

namespace {

using nlohmann::json;
namespace prom = opsgate::actions::prometheus;

constexpr std::size_t kSparklineWidth = 30;
constexpr std::size_t kMinPoints = 6;  // fewer samples than this: no split, only the day before

std::vector<std::pair<std::int64_t, double>> finite(const Points& points) {
  std::vector<std::pair<std::int64_t, double>> out;
  for (const auto& p : points) {
    if (std::isfinite(p.second)) {
      out.push_back(p);
    }
  }
  return out;
}

double mean(const std::vector<std::pair<std::int64_t, double>>& points, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) {
    sum += points[i].second;
  }
  return to > from ? sum / static_cast<double>(to - from) : 0;
}

std::string ratio_text(double ratio) { return prom::format_significant(ratio, 2) + "x"; }

// How far `after` is from `base` in the bad direction, as a factor (>= 1 means worse).
double worsening(double base, double after, bool up_is_bad) {
  const double tiny = 1e-12;
  if (up_is_bad) {
    return base <= tiny ? (after > tiny ? 1e9 : 1.0) : after / base;
  }
  return after <= tiny ? (base > tiny ? 1e9 : 1.0) : base / after;
}

}  // namespace

SignalVerdict analyse_signal(const SignalEvidence& signal, const TriageConfig& config) {
  SignalVerdict v;
  v.metric = signal.metric;
  const auto points = finite(signal.window);
  std::vector<double> all;
  for (const auto& p : signal.window) {
    all.push_back(p.second);
  }
  v.sparkline = all.empty() ? "" : prom::sparkline(all, kSparklineWidth);
  if (points.empty()) {
    return v;
  }
  v.has_data = true;
  v.current = points.back().second;
  const auto yesterday_points = finite(signal.day_before);
  if (!yesterday_points.empty()) {
    v.yesterday = signal.metric == "restarts" ? yesterday_points.back().second
                                              : mean(yesterday_points, 0, yesterday_points.size());
  }
  const double factor = config.factor_for(signal.metric);
  const double floor = config.min_change_for(signal.metric);

  if (signal.metric == "restarts") {
    // increase(...[$range]): the last value counts the restarts in the range.
    v.before = points.front().second;
    v.after = v.current;
    v.went_up = true;
    for (const auto& p : points) {
      if (p.second - points.front().second >= 0.5) {
        v.change_at = p.first;
        break;
      }
    }
    if (v.current + 0.5 >= config.min_restarts) {
      v.flagged = true;
      v.reason = prom::format_value(v.current, prom::Unit::count) + " restarts in the range";
    }
    return v;
  }

  // The split that best separates two levels (the largest between-segment
  // variance), after at least a sixth of the range, before the last sample.
  const std::size_t n = points.size();
  std::size_t split = n;
  if (n >= kMinPoints) {
    double best = -1;
    for (std::size_t k = std::max<std::size_t>(2, n / 6); k + 1 < n; ++k) {
      const double a = mean(points, 0, k);
      const double b = mean(points, k, n);
      const double score = static_cast<double>(k) * static_cast<double>(n - k) / static_cast<double>(n) * (b - a) * (b - a);
      if (score > best) {
        best = score;
        split = k;
      }
    }
  }
  if (split < n) {
    v.before = mean(points, 0, split);
    v.after = mean(points, split, n);
    v.change_at = points[split].first;
  } else {
    v.before = mean(points, 0, n);
    v.after = v.before;
  }

  const bool both_ways = signal.metric == "rps";
  std::vector<std::string> reasons;
  for (const bool up : {true, false}) {
    if (!up && !both_ways) {
      continue;
    }
    const double in_range = worsening(v.before, v.after, up);
    if (split < n && in_range >= factor && std::fabs(v.after - v.before) >= floor) {
      v.flagged = true;
      v.went_up = up;
      reasons.push_back(ratio_text(v.after / std::max(v.before, 1e-12)) + " the earlier part of the range");
    }
    if (v.yesterday) {
      const double level = split < n ? v.after : v.current;
      const double against_yesterday = worsening(*v.yesterday, level, up);
      if (against_yesterday >= factor && std::fabs(level - *v.yesterday) >= floor) {
        if (!v.flagged) {
          v.went_up = up;
          if (split >= n) {
            v.before = *v.yesterday;
          }
        }
        v.flagged = true;
        reasons.push_back(ratio_text(level / std::max(*v.yesterday, 1e-12)) + " the same time yesterday");
      }
    }
  }
  for (const auto& r : reasons) {
    v.reason += (v.reason.empty() ? "" : ", ") + r;
  }
  return v;
}

namespace {

// The message of one log line: logfmt msg=, JSON msg/message, else the line
// without its leading time, with long digit runs and hex ids blanked.
std::string message_of(const std::string& line) {
  if (!line.empty() && line[0] == '{') {
    const json parsed = json::parse(line, nullptr, false);
    if (parsed.is_object()) {
      for (const char* key : {"msg", "message", "error"}) {
        if (parsed.contains(key) && parsed[key].is_string()) {
          return parsed[key].get<std::string>();
        }
      }
    }
  }
  for (const std::string key : {" msg=", " message="}) {
    auto at = line.find(key);
    if (at == std::string::npos && line.rfind(key.substr(1), 0) == 0) {
      at = 0;
    } else if (at != std::string::npos) {
      at += 1;
    }
    if (at == std::string::npos) {
      continue;
    }
    std::size_t start = at + key.size() - 1;
    if (start < line.size() && line[start] == '"') {
      std::string out;
      for (std::size_t i = start + 1; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          out += line[++i];
        } else if (line[i] == '"') {
          break;
        } else {
          out += line[i];
        }
      }
      return out;
    }
    const auto end = line.find(' ', start);
    return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  // No message field: the line, its time and ids blanked so repeats group.
  std::string text = line;
  if (text.rfind("ts=", 0) == 0 || text.rfind("time=", 0) == 0) {
    const auto space = text.find(' ');
    text = space == std::string::npos ? "" : text.substr(space + 1);
  }
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isxdigit(static_cast<unsigned char>(text[j]))) {
      ++j;
    }
    const bool has_digit = std::any_of(text.begin() + static_cast<std::ptrdiff_t>(i),
                                       text.begin() + static_cast<std::ptrdiff_t>(j),
                                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
    if (j - i >= 6 && has_digit) {
      out += "…";
      i = j;
      continue;
    }
    if (j == i) {
      out += text[i];
      ++i;
    } else {
      out.append(text, i, j - i);
      i = j;
    }
  }
  return out;
}

}  // namespace

LogEvidence digest_logs(const json& logs_data, std::size_t top, std::size_t newest) {
  LogEvidence out;
  out.read = true;
  if (!logs_data.is_object() || !logs_data.contains("lines") || !logs_data["lines"].is_array()) {
    return out;
  }
  std::map<std::string, std::int64_t> counts;
  std::vector<std::string> order;  // first seen (newest first) breaks ties
  for (const auto& entry : logs_data["lines"]) {
    if (!entry.is_object() || !entry.contains("line") || !entry["line"].is_string()) {
      continue;
    }
    const std::string line = entry["line"].get<std::string>();
    ++out.error_lines;
    const std::string message = prom::snippet(message_of(line), 160);
    if (counts[message]++ == 0) {
      order.push_back(message);
    }
    if (out.newest.size() < newest) {
      std::string time = entry.value("time", "");
      // RFC 3339 -> HH:MM:SS for chat.
      if (time.size() >= 19) {
        time = time.substr(11, 8);
      }
      std::string shown = line;
      if (shown.rfind("ts=", 0) == 0) {
        const auto space = shown.find(' ');
        shown = space == std::string::npos ? shown : shown.substr(space + 1);
      }
      out.newest.push_back(time + "  " + prom::snippet(shown, 200));
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&counts](const std::string& a, const std::string& b) { return counts[a] > counts[b]; });
  for (std::size_t i = 0; i < order.size() && i < top; ++i) {
    out.top.push_back({order[i], counts[order[i]]});
  }
  if (logs_data.contains("levels") && logs_data["levels"].is_object() && logs_data["levels"].contains("error") &&
      logs_data["levels"]["error"].is_number_integer() && !logs_data.value("levels_from_lines", true)) {
    out.error_total = logs_data["levels"]["error"].get<std::int64_t>();
  }
  return out;
}

namespace {

std::string value_text(const std::string& metric, double value) {
  return prom::format_value(value, prom::unit_for_metric(metric));
}

std::string clock_text(std::int64_t unix_s, std::int64_t now_s) { return prom::format_utc_time(unix_s, now_s); }

// {target} {env} {range} {replicas} {replicas+N}; nullopt when replicas are needed and unknown.
std::optional<std::string> fill(const std::string& text, const Evidence& e) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '{') {
      out += text[i++];
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string::npos) {
      out += text.substr(i);
      break;
    }
    const std::string name = text.substr(i + 1, close - i - 1);
    if (name == "target") {
      out += e.target;
    } else if (name == "env") {
      out += e.env;
    } else if (name == "range") {
      out += format_duration(e.range_s);
    } else if (name.rfind("replicas", 0) == 0) {
      if (!e.replicas) {
        return std::nullopt;
      }
      long long add = 0;
      if (name.size() > 9 && name[8] == '+') {
        add = std::stoll(name.substr(9));
      }
      out += std::to_string(static_cast<long long>(std::llround(*e.replicas)) + add);
    } else {
      out += "{" + name + "}";
    }
    i = close + 1;
  }
  return out;
}

}  // namespace

ActionResult build_report(const Evidence& e, const TriageConfig& config) {
  const std::string range = format_duration(e.range_s);
  std::vector<SignalVerdict> verdicts;
  for (const auto& signal : e.signals) {
    verdicts.push_back(analyse_signal(signal, config));
  }
  std::vector<const SignalVerdict*> flagged;
  for (const auto& v : verdicts) {
    if (v.flagged) {
      flagged.push_back(&v);
    }
  }
  // The headline leads with what users feel most (errors, then latency,
  // traffic, crashes, saturation); the earliest change dates the story.
  const auto rank = [](const std::string& metric) {
    static const std::vector<std::string> order{"error_rate", "latency_p99", "latency_p50", "rps",
                                                "restarts",   "cpu",         "memory"};
    return std::find(order.begin(), order.end(), metric) - order.begin();
  };
  std::stable_sort(flagged.begin(), flagged.end(),
                   [&rank](const SignalVerdict* a, const SignalVerdict* b) { return rank(a->metric) < rank(b->metric); });
  std::int64_t first_change = 0;
  for (const auto* v : flagged) {
    if (v->change_at != 0 && (first_change == 0 || v->change_at < first_change)) {
      first_change = v->change_at;
    }
  }
  // A deploy within deploy_window before the first change (or, without a
  // change time, within the range) explains it.
  const DeployEvent* cause = nullptr;
  if (!flagged.empty()) {
    const std::int64_t window = config.deploy_window.count();
    const std::int64_t slack = 120;  // samples are a step apart
    for (const auto& d : e.deploys) {
      const bool near = first_change != 0 ? d.at_s >= first_change - window && d.at_s <= first_change + slack
                                          : d.at_s >= e.now_s - e.range_s;
      if (near) {
        cause = &d;  // the latest one before the change
      }
    }
  }
  const bool any_data = std::any_of(verdicts.begin(), verdicts.end(), [](const SignalVerdict& v) { return v.has_data; });
  std::size_t firing = 0;
  for (const auto& a : e.alerts) {
    firing += a.state == "firing" ? 1 : 0;
  }

  // Headline.
  std::string headline = e.target + " in " + e.env + ", last " + range + ": ";
  if (flagged.empty() && !any_data) {
    headline += "I could not read its signals (see below)";
    if (firing > 0) {
      headline += "; " + std::to_string(firing) + (firing == 1 ? " alert is" : " alerts are") + " firing";
    }
    headline += ".";
  } else if (flagged.empty()) {
    headline += "nothing abnormal in its signals";
    if (firing > 0) {
      headline += ", but " + std::to_string(firing) + (firing == 1 ? " alert is" : " alerts are") + " firing";
    } else {
      headline += "; if users still see a problem, check its dependencies";
    }
    headline += ".";
  } else {
    const SignalVerdict& lead = *flagged.front();
    if (lead.metric == "restarts") {
      headline += prom::format_value(lead.current, prom::Unit::count) + " pod restarts";
    } else {
      headline += prom::metric_label(lead.metric) + " went " + (lead.went_up ? "up" : "down") + " from " +
                  value_text(lead.metric, lead.before) + " to " + value_text(lead.metric, lead.after);
    }
    if (lead.change_at != 0) {
      headline += " at " + clock_text(lead.change_at, e.now_s);
    }
    if (cause != nullptr) {
      headline += "; " + cause->text + " at " + clock_text(cause->at_s, e.now_s);
    }
    if (flagged.size() > 1) {
      std::string others;
      for (std::size_t i = 1; i < flagged.size(); ++i) {
        others += (others.empty() ? "" : ", ") + prom::metric_label(flagged[i]->metric);
      }
      headline += " (also: " + others + ")";
    }
    headline += ".";
  }

  std::string text = "🔎 " + headline;
  json signals = json::array();
  std::string flagged_lines;
  std::string normal;
  for (const auto& v : verdicts) {
    const auto& signal = *std::find_if(e.signals.begin(), e.signals.end(),
                                       [&v](const SignalEvidence& s) { return s.metric == v.metric; });
    json row = {{"metric", v.metric}, {"flagged", v.flagged}, {"has_data", v.has_data}, {"query", signal.query}};
    if (!signal.error.empty()) {
      row["error"] = signal.error;
    }
    if (v.has_data) {
      row["before"] = v.before;
      row["after"] = v.after;
      row["current"] = v.current;
      row["sparkline"] = v.sparkline;
      row["yesterday"] = v.yesterday ? json(*v.yesterday) : json(nullptr);
      row["change_at"] = v.change_at == 0 ? json(nullptr) : json(v.change_at);
      if (v.flagged) {
        row["reason"] = v.reason;
        row["direction"] = v.went_up ? "up" : "down";
      }
    }
    signals.push_back(row);
    if (!v.has_data) {
      if (signal.error.empty()) {
        normal += (normal.empty() ? "" : ", ") + prom::metric_label(v.metric) + " no data";
      }
      continue;
    }
    if (v.flagged) {
      std::string line = "\n⚠ " + prom::metric_label(v.metric) + ": ";
      if (v.metric == "restarts") {
        line += v.reason;
      } else {
        line += value_text(v.metric, v.before) + " → " + value_text(v.metric, v.after) + " (now " +
                value_text(v.metric, v.current) + "; " + v.reason + ")";
      }
      if (v.yesterday && v.metric != "restarts") {
        line += ", yesterday " + value_text(v.metric, *v.yesterday);
      }
      if (v.change_at != 0 && v.metric != "restarts") {
        line += ", since " + clock_text(v.change_at, e.now_s);
      }
      line += "\n   " + v.sparkline;
      if (!signal.graph_url.empty()) {
        line += "  " + signal.graph_url;
      }
      flagged_lines += line;
    } else {
      normal += (normal.empty() ? "" : ", ") + prom::metric_label(v.metric) + " " + value_text(v.metric, v.current);
    }
  }
  text += flagged_lines;
  if (!normal.empty()) {
    text += "\n" + std::string(flagged.empty() ? "Signals" : "Normal") + ": " + normal;
  }

  json deploys = json::array();
  if (!e.deploys.empty()) {
    text += "\nDeploys:";
    std::size_t shown = 0;
    for (auto it = e.deploys.rbegin(); it != e.deploys.rend() && shown < 3; ++it, ++shown) {
      text += "\n• " + it->text + " at " + clock_text(it->at_s, e.now_s) + " (" + it->source + ")";
    }
    for (const auto& d : e.deploys) {
      deploys.push_back({{"at", d.at_s}, {"text", d.text}, {"source", d.source}});
    }
  }
  if (!e.rollout.empty()) {
    text += "\nRollout: " + e.rollout;
  }

  json alerts = json::array();
  if (!e.alerts.empty()) {
    text += "\nAlerts:";
    for (const auto& a : e.alerts) {
      text += "\n• " + a.name + " [" + a.state + (a.severity.empty() ? "" : ", " + a.severity) + "]";
      if (!a.summary.empty()) {
        text += ": " + prom::snippet(a.summary, 200);
      }
      if (const auto since = prom::parse_rfc3339(a.since)) {
        text += " — since " + clock_text(*since, e.now_s);
      }
      alerts.push_back({{"name", a.name}, {"state", a.state}, {"severity", a.severity}, {"summary", a.summary},
                        {"since", a.since}});
    }
  } else if (e.alerts_read) {
    text += "\nAlerts: none firing.";
  }

  json logs = {{"read", e.logs.read}};
  if (e.logs.read) {
    if (e.logs.top.empty()) {
      text += "\nErrors in the logs: none in the last " + range + ".";
    } else {
      const std::int64_t total = e.logs.error_total.value_or(e.logs.error_lines);
      text += "\nTop errors (" + std::to_string(total) + " error lines in the last " + range + "):";
      for (const auto& g : e.logs.top) {
        text += "\n  " + std::to_string(g.count) + "× " + g.message;
      }
      text += "\nNewest errors:";
      for (const auto& line : e.logs.newest) {
        text += "\n  " + line;
      }
    }
    json top = json::array();
    for (const auto& g : e.logs.top) {
      top.push_back({{"message", g.message}, {"count", g.count}});
    }
    logs["top"] = std::move(top);
    logs["newest"] = e.logs.newest;
    logs["error_lines"] = e.logs.error_total.value_or(e.logs.error_lines);
  }
  for (const auto& why : e.unavailable) {
    text += "\n⚠ " + why;
  }

  // The rule table: every rule whose conditions all hold, in order, once per command.
  std::set<std::string> flagged_names;
  for (const auto* v : flagged) {
    flagged_names.insert(v->metric);
  }
  const auto holds = [&](const std::string& condition) {
    if (condition == "deploy") {
      return cause != nullptr;
    }
    if (condition == "alert") {
      return firing > 0;
    }
    if (condition == "any") {
      return !flagged.empty();
    }
    if (condition == "none") {
      return any_data && flagged.empty() && firing == 0;
    }
    return flagged_names.count(condition) > 0;
  };
  ActionResult result;
  std::set<std::string> commands;
  std::string suggested;
  for (const auto& rule : config.rules) {
    const bool all = std::all_of(rule.when.begin(), rule.when.end(), [&](const std::vector<std::string>& any) {
      return std::any_of(any.begin(), any.end(), holds);
    });
    if (!all) {
      continue;
    }
    const auto label = fill(rule.label, e);
    const auto command = fill(rule.command, e);
    if (!label || !command || !commands.insert(*command).second) {
      continue;
    }
    result.suggestions.push_back({*label, *command});
    suggested += "\n• " + *label + ": `" + *command + "`";
  }
  if (!suggested.empty()) {
    text += "\nSuggested next steps (they ask for approval like any request):" + suggested;
  }

  result.summary = text;
  json suggestions = json::array();
  for (const auto& s : result.suggestions) {
    suggestions.push_back({{"label", s.label}, {"command", s.command}});
  }
  result.data = {{"target", e.target},
                 {"env", e.env},
                 {"range_s", e.range_s},
                 {"headline", headline},
                 {"flagged", std::vector<std::string>(flagged_names.begin(), flagged_names.end())},
                 {"signals", std::move(signals)},
                 {"deploys", std::move(deploys)},
                 {"cause", cause == nullptr ? json(nullptr) : json(cause->text)},
                 {"alerts", std::move(alerts)},
                 {"logs", std::move(logs)},
                 {"unavailable", e.unavailable},
                 {"suggestions", std::move(suggestions)}};
  if (e.replicas) {
    result.data["replicas"] = *e.replicas;
  }
  if (!e.rollout.empty()) {
    result.data["rollout"] = e.rollout;
  }
  return result;
}

}  // namespace opsgate::actions::triage
