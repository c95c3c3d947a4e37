#include "src/intent/eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "src/core/action_catalogue.hpp"

namespace opsgate::intent {

namespace {

using nlohmann::json;

std::string label_of(const ParseResult& r) {
  switch (r.kind) {
    case ParseKind::request: return r.request.action;
    case ParseKind::clarify: return "clarify";
    case ParseKind::none: break;
  }
  return "none";
}

// Chat text can be invalid UTF-8; a report must still print.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string percent(double ratio) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", ratio * 100.0);
  return buf;
}

std::string pad(std::string s, std::size_t width, bool right = false) {
  if (s.size() >= width) {
    return s;
  }
  const std::string fill(width - s.size(), ' ');
  return right ? fill + s : s + fill;
}

// Why a result does not match, or empty when it does.
std::string compare(const json& expect, const ParseResult& got) {
  const std::string want = expect.value("action", std::string{});
  const std::string have = label_of(got);
  if (want != have) {
    return "action: expected " + want + ", got " + have;
  }
  if (got.kind != ParseKind::request) {
    return {};
  }
  const json params = expect.contains("params") && expect["params"].is_object() ? expect["params"] : json::object();
  for (const auto& [key, value] : params.items()) {
    if (!got.request.params.contains(key)) {
      return "param " + key + ": expected " + dump(value) + ", missing";
    }
    if (got.request.params[key] != value) {
      return "param " + key + ": expected " + dump(value) + ", got " + dump(got.request.params[key]);
    }
  }
  return {};
}

std::string interval_text(const Interval& ci) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "[%.1f–%.1f]", ci.low * 100.0, ci.high * 100.0);
  return buf;
}

}  // namespace

Interval wilson_interval(int successes, int n, double z) {
  if (n <= 0) {
    return {0.0, 1.0};
  }
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double centre = (p + z2 / (2.0 * nn)) / (1.0 + z2 / nn);
  const double half = z / (1.0 + z2 / nn) * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

bool changes_state(const std::string& action) {
  if (action == "approve" || action == "deny" || action == "cancel") {
    return true;
  }
  const ActionSpec* spec = find_action(action);
  return spec != nullptr && spec->kind == ActionKind::write;
}

EvalReport evaluate(const IntentParser& parser, std::istream& jsonl) {
  return evaluate([&parser](const std::string& text) { return parser.parse(text); }, jsonl);
}

EvalReport evaluate(const ParseFunction& parse, std::istream& jsonl) {
  EvalReport report;
  std::vector<double> latencies;
  std::map<std::string, ActionScore> scores;
  double total_us = 0.0;
  std::string line;
  int number = 0;
  while (std::getline(jsonl, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    const json item = json::parse(line, nullptr, false);
    if (item.is_discarded() || !item.is_object()) {
      report.invalid_lines.push_back("line " + std::to_string(number) + ": not a JSON object");
      continue;
    }
    if (!item.contains("text") || !item["text"].is_string() || !item.contains("expect") ||
        !item["expect"].is_object() || !item["expect"].contains("action") || !item["expect"]["action"].is_string()) {
      report.invalid_lines.push_back("line " + std::to_string(number) +
                                     ": needs \"text\" (string) and \"expect\": {\"action\": ...}");
      continue;
    }
    const std::string text = item["text"].get<std::string>();
    const json& expect = item["expect"];

    const auto start = std::chrono::steady_clock::now();
    const ParseResult got = parse(text);
    const auto stop = std::chrono::steady_clock::now();
    const double us = std::chrono::duration<double, std::micro>(stop - start).count();
    total_us += us;
    latencies.push_back(us);
    if (got.llm) {
      ++report.llm_calls;
      report.llm_degraded += got.llm->error.empty() || got.llm->error.rfind("rejected_", 0) == 0 ? 0 : 1;
      report.tokens_in += std::max<std::int64_t>(got.llm->tokens_in, 0);
      report.tokens_out += std::max<std::int64_t>(got.llm->tokens_out, 0);
      report.cost_usd += got.llm->cost_usd;
    }
    report.max_us = std::max(report.max_us, us);

    ++report.total;
    const std::string want = expect["action"].get<std::string>();
    const std::string have = label_of(got);
    auto& w = scores[want];
    w.action = want;
    ++w.expected;
    auto& h = scores[have];
    h.action = have;
    ++h.predicted;
    ++report.confusion[want][have];
    if (want == have) {
      ++scores[want].correct;
      ++report.action_right;
    }
    const std::string why = compare(expect, got);
    if (why.empty()) {
      ++report.exact;
      ++report.params_right;
      ++scores[want].exact;
    } else {
      const bool unasked = got.kind == ParseKind::request && changes_state(have);
      report.unasked_writes += unasked ? 1 : 0;
      report.mismatches.push_back({number, text, expect, to_json(got), why, unasked});
    }
  }
  for (auto& [name, score] : scores) {
    report.per_action.push_back(score);
  }
  report.mean_us = report.total == 0 ? 0.0 : total_us / report.total;
  std::sort(latencies.begin(), latencies.end());
  auto quantile = [&latencies](double q) {
    return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(q * static_cast<double>(latencies.size() - 1) + 0.5)];
  };
  report.p50_us = quantile(0.5);
  report.p95_us = quantile(0.95);
  return report;
}

std::string format_report(const EvalReport& report) {
  std::ostringstream out;
  char timing[160];
  std::snprintf(timing, sizeof timing, "%.1f us/message mean, p50 %.1f us, p95 %.1f us, %.1f us max", report.mean_us,
                report.p50_us, report.p95_us, report.max_us);
  out << "exact match: " << report.exact << "/" << report.total << " (" << percent(report.accuracy()) << ", 95% CI "
      << interval_text(report.accuracy_interval()) << "), " << timing << "\n";
  out << "writes not asked for: " << report.unasked_writes << "\n";
  out << "param accuracy: " << report.params_right << "/" << report.action_right << " ("
      << percent(report.param_accuracy()) << ")\n";
  if (report.llm_calls > 0) {
    char llm[200];
    std::snprintf(llm, sizeof llm, "llm: %d calls (%d degraded), %lld tokens in, %lld out, %.4f USD\n",
                  report.llm_calls, report.llm_degraded, static_cast<long long>(report.tokens_in),
                  static_cast<long long>(report.tokens_out), report.cost_usd);
    out << llm;
  }
  out << "\n";
  out << pad("action", 16) << pad("expected", 10, true) << pad("answered", 10, true) << pad("correct", 9, true)
      << pad("precision", 11, true) << pad("recall", 9, true) << pad("exact", 9, true) << pad("95% CI", 15, true)
      << "\n";
  for (const auto& s : report.per_action) {
    out << pad(s.action, 16) << pad(std::to_string(s.expected), 10, true) << pad(std::to_string(s.predicted), 10, true)
        << pad(std::to_string(s.correct), 9, true) << pad(percent(s.precision()), 11, true)
        << pad(percent(s.recall()), 9, true)
        << pad(s.expected == 0 ? std::string("-") : percent(static_cast<double>(s.exact) / s.expected), 9, true)
        << pad(s.expected == 0 ? std::string("-") : interval_text(s.exact_interval()), 15, true) << "\n";
  }
  if (!report.mismatches.empty()) {
    out << "\nmismatches:\n";
    for (const auto& m : report.mismatches) {
      out << "  line " << m.line << ": " << dump(json(m.text)) << "\n"
          << "    " << m.why << (m.unasked_write ? "  [WRITE NOT ASKED FOR]" : "") << "\n"
          << "    expected " << dump(m.expected) << "\n"
          << "    got      " << dump(m.got) << "\n";
    }
  }
  if (!report.invalid_lines.empty()) {
    out << "\nnot scored:\n";
    for (const auto& line : report.invalid_lines) {
      out << "  " << line << "\n";
    }
  }
  return out.str();
}

nlohmann::json to_json(const EvalReport& report) {
  json per_action = json::object();
  for (const auto& s : report.per_action) {
    const Interval ci = s.exact_interval();
    per_action[s.action] = {{"expected", s.expected},   {"predicted", s.predicted},
                            {"correct", s.correct},     {"exact", s.exact},
                            {"precision", s.precision()}, {"recall", s.recall()},
                            {"exact_ci95", {ci.low, ci.high}}};
  }
  json confusion = json::object();
  for (const auto& [want, row] : report.confusion) {
    for (const auto& [have, count] : row) {
      confusion[want][have] = count;
    }
  }
  json mismatches = json::array();
  for (const auto& m : report.mismatches) {
    mismatches.push_back(
        {{"line", m.line}, {"text", m.text}, {"expected", m.expected}, {"got", m.got}, {"why", m.why},
         {"unasked_write", m.unasked_write}});
  }
  return {{"total", report.total},
          {"exact", report.exact},
          {"accuracy", report.accuracy()},
          {"accuracy_ci95", {report.accuracy_interval().low, report.accuracy_interval().high}},
          {"unasked_writes", report.unasked_writes},
          {"confusion", confusion},
          {"mean_us", report.mean_us},
          {"max_us", report.max_us},
          {"p50_us", report.p50_us},
          {"p95_us", report.p95_us},
          {"param_accuracy", report.param_accuracy()},
          {"llm_calls", report.llm_calls},
          {"llm_degraded", report.llm_degraded},
          {"tokens_in", report.tokens_in},
          {"tokens_out", report.tokens_out},
          {"cost_usd", report.cost_usd},
          {"per_action", per_action},
          {"mismatches", mismatches},
          {"invalid_lines", report.invalid_lines}};
}

}  // namespace opsgate::intent
