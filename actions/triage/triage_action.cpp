#include "actions/triage/triage_action.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "actions/prometheus/prometheus_answers.hpp"
#include "actions/prometheus/prometheus_format.hpp"
#include "actions/triage/triage_analysis.hpp"
#include "src/core/action_catalogue.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::triage {

namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using nlohmann::json;

constexpr std::int64_t kDay = 86400;

bool known_signal(const std::string& name) { return std::find(kMetrics.begin(), kMetrics.end(), name) != kMetrics.end(); }

double number(const ConfigNode& node, const std::string& key, const std::string& text, double min, double max) {
  std::size_t used = 0;
  double out = 0;
  try {
    out = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(out) || out < min || out > max) {
    node.fail(key, "expected a number from " + prometheus::format_significant(min, 3) + " to " +
                       prometheus::format_significant(max, 3) + ", got '" + text + "'");
  }
  return out;
}

std::map<std::string, double> signal_numbers(const ConfigNode& node, double min, double max) {
  if (!node.is_map()) {
    node.fail_here("expected a mapping of signal names (error_rate, latency_p99, ...) to numbers");
  }
  std::map<std::string, double> out;
  for (const auto& [name, value] : node.entries()) {
    if (!known_signal(name)) {
      node.fail(name, "unknown signal (the signals are error_rate, latency_p99, latency_p50, rps, cpu, memory, restarts)");
    }
    out[name] = number(node, name, value.as_string(), min, max);
  }
  node.finish();
  return out;
}

std::chrono::milliseconds millis(std::chrono::seconds s) { return std::chrono::duration_cast<std::chrono::milliseconds>(s); }

// Why a rule's text cannot be used, or empty.
std::string rule_text_problem(const std::string& text) {
  std::size_t i = 0;
  while ((i = text.find('{', i)) != std::string::npos) {
    const auto close = text.find('}', i);
    if (close == std::string::npos) {
      return "an unclosed '{'";
    }
    const std::string name = text.substr(i + 1, close - i - 1);
    bool ok = name == "target" || name == "env" || name == "range" || name == "replicas";
    if (name.rfind("replicas+", 0) == 0 && name.size() > 9 && name.size() <= 11 &&
        std::all_of(name.begin() + 9, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ok = true;
    }
    if (!ok) {
      return "unknown placeholder {" + name + "} (known: {target}, {env}, {range}, {replicas}, {replicas+N})";
    }
    i = close + 1;
  }
  return "";
}

std::vector<TriageRule> parse_rules(const ConfigNode& node) {
  if (!node.is_sequence()) {
    node.fail_here("expected a list of {when: [...], label: ..., command: ...}");
  }
  std::vector<TriageRule> rules;
  for (const auto& item : node.items()) {
    if (!item.is_map()) {
      item.fail_here("expected {when: [deploy, error_rate], label: \"Roll back {target}\", command: \"!rollback {target} {env}\"}");
    }
    TriageRule rule;
    for (const auto& condition : item.strings_or("when")) {
      std::vector<std::string> any;
      std::size_t start = 0;
      while (start <= condition.size()) {
        const auto bar = condition.find('|', start);
        const std::string one = condition.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
        if (!known_signal(one) && one != "deploy" && one != "alert" && one != "any" && one != "none") {
          item.fail("when", "unknown condition '" + one +
                                "' (a signal name, deploy, alert, any or none; alternatives as cpu|memory)");
        }
        any.push_back(one);
        if (bar == std::string::npos) {
          break;
        }
        start = bar + 1;
      }
      rule.when.push_back(std::move(any));
    }
    if (rule.when.empty()) {
      item.fail("when", "a rule needs at least one condition (e.g. [none] for a healthy target)");
    }
    rule.label = item.str("label");
    rule.command = item.str("command");
    for (const auto& [key, text] : {std::pair{"label", rule.label}, std::pair{"command", rule.command}}) {
      if (const auto problem = rule_text_problem(text); !problem.empty()) {
        item.fail(key, problem);
      }
    }
    const auto verb_end = rule.command.find(' ');
    const std::string verb = rule.command.substr(1, verb_end == std::string::npos ? std::string::npos : verb_end - 1);
    const auto& catalogue = action_catalogue();
    const bool known_verb = rule.command.rfind("!", 0) == 0 &&
                            std::any_of(catalogue.begin(), catalogue.end(), [&verb](const ActionSpec& s) { return s.verb == verb; });
    if (!known_verb) {
      item.fail("command", "expected a command such as \"!rollback {target} {env}\" whose verb is one of opsgate's "
                           "(rollback, scale, restart, logs, metrics, alerts, status, ...)");
    }
    item.finish();
    rules.push_back(std::move(rule));
  }
  node.finish();
  return rules;
}

// One triage run: the request, the sources and the evidence being filled.
// Owned by execute(); the fetches write to their own fields only.
struct Run {
  TriageConfig config;
  std::shared_ptr<const Inventory> inventory;
  TriageSources sources;
  Evidence evidence;
  std::int64_t start_s = 0;
  std::int64_t end_s = 0;
  std::int64_t step_s = 60;
  // The fetches may run on two threads: shared lists are appended under it.
  std::mutex mutex;

  void note(std::string why) {
    std::lock_guard lock(mutex);
    evidence.unavailable.push_back(std::move(why));
  }
  void add_deploy(std::vector<DeployEvent>& found, DeployEvent event) {
    std::lock_guard lock(mutex);
    found.push_back(std::move(event));
  }
};

std::string timeout_text(const std::string& what, const std::string& who, std::chrono::milliseconds limit) {
  const std::string seconds = prometheus::format_significant(static_cast<double>(limit.count()) / 1000.0, 3);
  return what + ": " + who + " did not answer in " + seconds + " s";
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return prometheus::snippet(text, 200);
}

// Runs `op` with a deadline; nullopt when the deadline came first.
template <class T>
asio::awaitable<std::optional<T>> within(asio::awaitable<T> op, std::chrono::milliseconds limit) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, limit);
  auto wait = timer.async_wait(asio::use_awaitable);
  auto race = std::move(op) || std::move(wait);
  auto outcome = co_await std::move(race);
  if (outcome.index() == 1) {
    co_return std::nullopt;
  }
  co_return std::move(std::get<0>(outcome));
}

asio::awaitable<void> fetch_signal(std::shared_ptr<Run> run, std::size_t index, bool day_before) {
  Run& r = *run;
  SignalEvidence& signal = r.evidence.signals[index];
  const std::int64_t shift = day_before ? kDay : 0;
  auto op = r.sources.prometheus->metric(r.evidence.target, r.evidence.env, signal.metric, r.start_s - shift,
                                         r.end_s - shift, r.step_s);
  auto answer = co_await within(std::move(op), r.config.metrics_timeout);
  std::string error;
  if (!answer) {
    error = timeout_text(prometheus::metric_label(signal.metric), "Prometheus", r.config.metrics_timeout);
  } else if (!*answer) {
    error = prometheus::metric_label(signal.metric) + ": " + one_line((*answer).error().message);
  } else {
    Points points;
    if (!(*answer)->series.empty()) {
      points = std::move((*answer)->series.front().points);
    }
    if (day_before) {
      signal.day_before = std::move(points);
    } else {
      signal.window = std::move(points);
      signal.query = (*answer)->query;
      signal.graph_url = r.sources.prometheus->graph_link(signal.query, r.evidence.range_s);
    }
  }
  if (day_before) {
    signal.day_before_error = error;
  } else {
    signal.error = error;
  }
}

asio::awaitable<void> fetch_replicas(std::shared_ptr<Run> run) {
  Run& r = *run;
  std::string text = r.config.replicas_query;
  auto op = r.sources.prometheus->templated(std::move(text), r.evidence.target, r.evidence.env, r.end_s - r.step_s,
                                            r.end_s, r.step_s);
  auto answer = co_await within(std::move(op), r.config.metrics_timeout);
  if (answer && *answer && !(*answer)->series.empty()) {
    for (auto it = (*answer)->series.front().points.rbegin(); it != (*answer)->series.front().points.rend(); ++it) {
      if (std::isfinite(it->second)) {
        r.evidence.replicas = it->second;
        break;
      }
    }
  }
}

// The deploy marker: a series that starts inside the range, or a value that
// changes, is a deploy at that sample; its `version` label names it.
asio::awaitable<void> fetch_marker(std::shared_ptr<Run> run, std::shared_ptr<std::vector<DeployEvent>> found) {
  Run& r = *run;
  std::string text = r.config.deploy_marker;
  auto op = r.sources.prometheus->templated(std::move(text), r.evidence.target, r.evidence.env, r.start_s, r.end_s,
                                            r.step_s);
  auto answer = co_await within(std::move(op), r.config.deploys_timeout);
  if (!answer) {
    r.note(timeout_text("deploy marker", "Prometheus", r.config.deploys_timeout));
    co_return;
  }
  if (!*answer) {
    r.note("deploy marker: " + one_line((*answer).error().message));
    co_return;
  }
  for (const auto& series : (*answer)->series) {
    if (series.points.empty()) {
      continue;
    }
    std::string version;
    for (const char* key : {"version", "image_tag", "tag", "revision"}) {
      if (series.labels.contains(key) && series.labels[key].is_string()) {
        version = series.labels[key].get<std::string>();
        break;
      }
    }
    const std::string what = r.evidence.target + (version.empty() ? "" : " " + version) + " was deployed";
    const std::string source = "Prometheus deploy marker";
    if (series.points.front().first > r.start_s + 2 * r.step_s) {
      r.add_deploy(*found, {series.points.front().first, what, source});
    }
    for (std::size_t i = 1; i < series.points.size(); ++i) {
      const double a = series.points[i - 1].second;
      const double b = series.points[i].second;
      if (std::isfinite(a) && std::isfinite(b) && a != b) {
        r.add_deploy(*found, {series.points[i].first, r.evidence.target + " was deployed", source});
      }
    }
  }
}

asio::awaitable<void> fetch_history(std::shared_ptr<Run> run, std::shared_ptr<DeployHistory> history,
                                    std::shared_ptr<std::vector<DeployEvent>> found) {
  Run& r = *run;
  auto op = history->deploys(r.evidence.target, r.evidence.env, r.start_s, r.end_s);
  auto answer = co_await within(std::move(op), r.config.deploys_timeout);
  if (!answer) {
    r.note(timeout_text("deploys", history->name(), r.config.deploys_timeout));
    co_return;
  }
  if (!*answer) {
    r.note("deploys (" + history->name() + "): " + one_line((*answer).error().message));
    co_return;
  }
  for (auto& event : **answer) {
    r.add_deploy(*found, std::move(event));
  }
}

asio::awaitable<void> fetch_alerts(std::shared_ptr<Run> run, Action* action) {
  Run& r = *run;
  ActionRequest request("alerts.list", json{{"target", r.evidence.target}, {"env", r.evidence.env}});
  auto op = action->execute(std::move(request));
  auto answer = co_await within(std::move(op), r.config.alerts_timeout);
  if (!answer) {
    r.note(timeout_text("alerts", "Prometheus", r.config.alerts_timeout));
    co_return;
  }
  if (!*answer) {
    r.note("alerts: " + one_line((*answer).error().message));
    co_return;
  }
  r.evidence.alerts_read = true;
  const json& data = (*answer)->data;
  if (!data.contains("alerts") || !data["alerts"].is_array()) {
    co_return;
  }
  for (const auto& alert : data["alerts"]) {
    if (!alert.is_object()) {
      continue;
    }
    AlertEvidence a;
    a.name = alert.value("name", "");
    a.state = alert.value("state", "");
    a.since = alert.value("active_at", "");
    if (alert.contains("labels") && alert["labels"].is_object()) {
      a.severity = alert["labels"].value("severity", "");
    }
    if (alert.contains("annotations") && alert["annotations"].is_object()) {
      a.summary = alert["annotations"].value("summary", "");
      if (a.summary.empty()) {
        a.summary = alert["annotations"].value("description", "");
      }
    }
    r.evidence.alerts.push_back(std::move(a));
  }
}

asio::awaitable<void> fetch_logs(std::shared_ptr<Run> run, Action* action) {
  Run& r = *run;
  ActionRequest request("logs.search", json{{"target", r.evidence.target},
                                            {"env", r.evidence.env},
                                            {"level", "error"},
                                            {"range_s", r.evidence.range_s},
                                            {"limit", r.config.error_lines}});
  auto op = action->execute(std::move(request));
  auto answer = co_await within(std::move(op), r.config.logs_timeout);
  if (!answer) {
    r.evidence.logs.error = timeout_text("logs", r.sources.logs_backend, r.config.logs_timeout);
    r.note(r.evidence.logs.error);
    co_return;
  }
  if (!*answer) {
    r.evidence.logs.error = "logs: " + one_line((*answer).error().message);
    r.note(r.evidence.logs.error);
    co_return;
  }
  r.evidence.logs = digest_logs((*answer)->data, r.config.top_errors, r.config.newest_errors);
}

asio::awaitable<void> fetch_rollout(std::shared_ptr<Run> run, Action* action) {
  Run& r = *run;
  ActionRequest request("rollout.status", json{{"target", r.evidence.target}, {"env", r.evidence.env}});
  auto op = action->execute(std::move(request));
  auto answer = co_await within(std::move(op), r.config.rollout_timeout);
  if (!answer) {
    r.note(timeout_text("rollout status", "rollout.status", r.config.rollout_timeout));
    co_return;
  }
  if (!*answer) {
    r.note("rollout status: " + one_line((*answer).error().message));
    co_return;
  }
  const std::string& summary = (*answer)->summary;
  r.evidence.rollout = prometheus::snippet(summary.substr(0, summary.find('\n')), 200);
}

// Awaits every task; they run concurrently (a balanced tree of `&&`).
asio::awaitable<void> all_of(std::vector<asio::awaitable<void>> tasks) {
  while (tasks.size() > 1) {
    std::vector<asio::awaitable<void>> paired;
    for (std::size_t i = 0; i + 1 < tasks.size(); i += 2) {
      paired.push_back(std::move(tasks[i]) && std::move(tasks[i + 1]));
    }
    if (tasks.size() % 2 == 1) {
      paired.push_back(std::move(tasks.back()));
    }
    tasks = std::move(paired);
  }
  if (!tasks.empty()) {
    auto only = std::move(tasks.front());
    co_await std::move(only);
  }
}

// triage: see triage_action.hpp. Built by make_triage_action, owned by the
// registry; execute() may run concurrently on any strand (each run has its own state).
class TriageAction final : public opsgate::Action {
 public:
  TriageAction(TriageConfig config, std::shared_ptr<const Inventory> inventory, TriageSources sources)
      : spec_(*find_action("triage")),
        config_(std::move(config)),
        inventory_(std::move(inventory)),
        sources_(std::move(sources)) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    auto run = std::make_shared<Run>();
    run->config = config_;
    run->inventory = inventory_;
    run->sources = sources_;
    Evidence& e = run->evidence;
    e.target = request.params.value("target", "");
    e.env = request.params.value("env", "");
    if (e.env.empty()) {
      e.env = inventory_->default_env();
    }
    e.range_s = request.params.contains("range_s") && request.params["range_s"].is_number_integer()
                    ? std::max<std::int64_t>(60, request.params["range_s"].get<std::int64_t>())
                    : 3600;
    if (inventory_->placement(e.target, e.env) == nullptr) {
      co_return fail(Errc::not_found, e.target + " does not run in " + e.env + " (per the inventory)");
    }
    const auto clock = sources_.clock ? sources_.clock : std::make_shared<const SystemClock>();
    e.now_s = std::chrono::duration_cast<std::chrono::seconds>(clock->now().time_since_epoch()).count();
    run->step_s = prometheus::step_for_range(e.range_s);
    run->end_s = e.now_s;
    run->start_s = e.now_s - e.range_s;

    std::vector<asio::awaitable<void>> tasks;
    auto deploys = std::make_shared<std::vector<DeployEvent>>();
    if (sources_.prometheus) {
      for (const auto& metric : kMetrics) {
        e.signals.push_back(SignalEvidence{metric, {}, {}, {}, {}, {}, {}});
      }
      for (std::size_t i = 0; i < e.signals.size(); ++i) {
        tasks.push_back(fetch_signal(run, i, false));
        if (config_.compare_day_before) {
          tasks.push_back(fetch_signal(run, i, true));
        }
      }
      if (!config_.replicas_query.empty()) {
        tasks.push_back(fetch_replicas(run));
      }
      if (!config_.deploy_marker.empty()) {
        tasks.push_back(fetch_marker(run, deploys));
      }
    } else {
      e.unavailable.push_back("metrics: no Prometheus configured (actions.prometheus)");
    }
    Action* alerts = sources_.alerts;
    Action* logs = sources_.logs;
    Action* rollout = sources_.rollout;
    if (alerts != nullptr) {
      tasks.push_back(fetch_alerts(run, alerts));
    }
    if (logs != nullptr) {
      tasks.push_back(fetch_logs(run, logs));
    } else {
      e.unavailable.push_back("logs: no log backend configured (actions.loki or actions.logfile)");
    }
    if (rollout != nullptr) {
      tasks.push_back(fetch_rollout(run, rollout));
    }
    for (const auto& history : sources_.deploy_histories) {
      tasks.push_back(fetch_history(run, history, deploys));
    }
    co_await all_of(std::move(tasks));

    // Signals that could not be read are one line each, not a failed triage.
    for (const auto& signal : e.signals) {
      if (!signal.error.empty()) {
        e.unavailable.push_back(signal.error);
      }
    }
    std::sort(deploys->begin(), deploys->end(),
              [](const DeployEvent& a, const DeployEvent& b) { return a.at_s < b.at_s; });
    e.deploys = std::move(*deploys);

    ActionResult report = build_report(e, config_);
    if (sources_.summariser) {
      json evidence = report.data;
      auto op = sources_.summariser->summarise(std::move(evidence));
      auto summary = co_await within(std::move(op), config_.summary_timeout);
      if (summary && *summary && !(*summary)->empty()) {
        report.summary = "🤖 " + **summary + "\n(generated summary; the evidence below is not)\n\n" + report.summary;
        report.data["generated_summary"] = **summary;
      }
    }
    co_return report;
  }

 private:
  const ActionSpec& spec_;
  TriageConfig config_;
  std::shared_ptr<const Inventory> inventory_;
  TriageSources sources_;
};

}  // namespace

double TriageConfig::factor_for(const std::string& metric) const {
  const auto found = factors.find(metric);
  return found != factors.end() ? found->second : factor;
}

double TriageConfig::min_change_for(const std::string& metric) const {
  const auto found = min_change.find(metric);
  return found != min_change.end() ? found->second : 0.0;
}

std::vector<TriageRule> TriageConfig::default_rules() {
  return {
      {{{"deploy"}, {"error_rate", "latency_p99"}}, "Roll back {target}", "!rollback {target} {env}"},
      {{{"cpu", "memory"}}, "Scale {target} to {replicas+2}", "!scale {target} {replicas+2} {env}"},
      {{{"restarts"}}, "Error logs of {target}", "!logs {target} {env} level=error range={range}"},
      {{{"error_rate"}}, "Error logs of {target}", "!logs {target} {env} level=error range={range}"},
      {{{"none"}}, "Alerts in {env} (dependencies?)", "!alerts {env}"},
  };
}

TriageConfig parse_triage_config(const ConfigNode& node) {
  TriageConfig config;
  if (!node.is_map()) {
    node.fail_here("expected a mapping (factor, factors, min_change, deploy_marker, timeouts, suggestions, ...)");
  }
  if (node.has("factor")) {
    config.factor = number(node, "factor", node.str("factor"), 1.01, 1000);
  }
  if (const auto factors = node.optional_child("factors")) {
    for (const auto& [name, value] : signal_numbers(*factors, 1.01, 1000)) {
      config.factors[name] = value;
    }
  }
  if (const auto floors = node.optional_child("min_change")) {
    for (const auto& [name, value] : signal_numbers(*floors, 0, 1e15)) {
      config.min_change[name] = value;
    }
  }
  config.min_restarts = static_cast<double>(node.integer_or("min_restarts", 2, 1, 1000));
  config.compare_day_before = node.boolean_or("compare_day_before", true);
  config.deploy_window = node.duration_or("deploy_window", config.deploy_window);
  config.deploy_marker = node.str_or("deploy_marker", "");
  config.replicas_query = node.str_or("replicas_query", config.replicas_query);
  for (const auto& [key, text] : {std::pair{"deploy_marker", config.deploy_marker},
                                  std::pair{"replicas_query", config.replicas_query}}) {
    if (text.empty()) {
      continue;
    }
    if (auto problem = prometheus::extra_template_problem(text)) {
      node.fail(key, *problem);
    }
  }
  if (const auto timeouts = node.optional_child("timeouts")) {
    if (!timeouts->is_map()) {
      node.fail("timeouts", "expected {metrics: 5s, alerts: 5s, logs: 5s, rollout: 5s, deploys: 5s, summary: 10s}");
    }
    config.metrics_timeout = millis(timeouts->duration_or("metrics", std::chrono::seconds(5)));
    config.alerts_timeout = millis(timeouts->duration_or("alerts", std::chrono::seconds(5)));
    config.logs_timeout = millis(timeouts->duration_or("logs", std::chrono::seconds(5)));
    config.rollout_timeout = millis(timeouts->duration_or("rollout", std::chrono::seconds(5)));
    config.deploys_timeout = millis(timeouts->duration_or("deploys", std::chrono::seconds(5)));
    config.summary_timeout = millis(timeouts->duration_or("summary", std::chrono::seconds(10)));
    timeouts->finish();
  }
  config.error_lines = node.integer_or("error_lines", 200, 1, 500);
  config.top_errors = static_cast<std::size_t>(node.integer_or("top_errors", 5, 1, 20));
  config.newest_errors = static_cast<std::size_t>(node.integer_or("newest_errors", 3, 0, 20));
  if (const auto rules = node.optional_child("suggestions")) {
    config.rules = parse_rules(*rules);
  }
  node.finish();
  return config;
}

std::unique_ptr<opsgate::Action> make_triage_action(const TriageConfig& config,
                                                    std::shared_ptr<const Inventory> inventory,
                                                    TriageSources sources) {
  if (!inventory) {
    throw ConfigError("actions.triage: triage needs the inventory");
  }
  return std::make_unique<TriageAction>(config, std::move(inventory), std::move(sources));
}

}  // namespace opsgate::actions::triage
