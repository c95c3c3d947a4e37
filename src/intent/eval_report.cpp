// report.csv and report.html for `opsgate eval` (declared in eval.hpp).

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "src/intent/eval.hpp"

namespace opsgate::intent {

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pct(double ratio) { return fixed(ratio * 100.0, 1) + "%"; }

std::string ci_text(const Interval& ci) { return fixed(ci.low * 100.0, 1) + "–" + fixed(ci.high * 100.0, 1) + "%"; }


std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string out = "\"";
  for (char c : text) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

std::string html(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += (c < 0x20 && c != '\n' && c != '\t') ? ' ' : static_cast<char>(c);
    }
  }
  return out;
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

const ActionScore* score_of(const EvalReport& r, const std::string& action) {
  for (const auto& s : r.per_action) {
    if (s.action == action) {
      return &s;
    }
  }
  return nullptr;
}

std::string pr(const EvalReport& r, const std::string& label) {
  const ActionScore* s = score_of(r, label);
  if (s == nullptr) {
    return "–";
  }
  return pct(s->precision()) + " / " + pct(s->recall());
}

std::string latency(double us) {
  return us >= 1000.0 ? fixed(us / 1000.0, 1) + " ms" : fixed(us, 1) + " µs";
}

// Green from 95 % up, amber from 80 %, red below.
const char* colour(double ratio) { return ratio >= 0.95 ? "#2e7d32" : ratio >= 0.8 ? "#f9a825" : "#c62828"; }

// A horizontal bar per row: label, ratio (0..1), the text after the bar.
std::string bar_chart(const std::vector<std::tuple<std::string, double, std::string>>& rows, const std::string& title) {
  const int label_w = 150;
  const int bar_w = 380;
  const int row_h = 22;
  const int height = static_cast<int>(rows.size()) * row_h + 30;
  std::ostringstream svg;
  svg << "<svg class=\"chart\" role=\"img\" aria-label=\"" << html(title) << "\" width=\"" << label_w + bar_w + 150
      << "\" height=\"" << height << "\" viewBox=\"0 0 " << label_w + bar_w + 150 << " " << height
      << "\" xmlns=\"http://www.w3.org/2000/svg\">";
  svg << "<text x=\"0\" y=\"14\" class=\"ct\">" << html(title) << "</text>";
  int y = 24;
  for (const auto& [label, ratio, text] : rows) {
    const int w = static_cast<int>(ratio * bar_w + 0.5);
    svg << "<text x=\"" << label_w - 6 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\">" << html(label) << "</text>";
    svg << "<rect x=\"" << label_w << "\" y=\"" << y + 2 << "\" width=\"" << bar_w << "\" height=\"" << row_h - 6
        << "\" fill=\"#eceff1\"/>";
    svg << "<rect x=\"" << label_w << "\" y=\"" << y + 2 << "\" width=\"" << w << "\" height=\"" << row_h - 6
        << "\" fill=\"" << colour(ratio) << "\"><title>" << html(label + ": " + text) << "</title></rect>";
    svg << "<text x=\"" << label_w + bar_w + 8 << "\" y=\"" << y + 14 << "\">" << html(text) << "</text>";
    y += row_h;
  }
  svg << "</svg>";
  return svg.str();
}

// Label × answer counts: the diagonal is right, the rest says what each label
// was mistaken for. Cells that change state where the label did not ask for
// that action are marked, since those are the misses that matter most.
std::string confusion_matrix(const EvalReport& r) {
  std::set<std::string> answers;
  for (const auto& [want, row] : r.confusion) {
    for (const auto& [have, count] : row) {
      answers.insert(have);
    }
  }
  std::ostringstream h;
  h << "<h3>Confusion matrix</h3><p class=\"sub\">Rows: the label; columns: the answer (action only). "
       "Red cells: a write answered where the label asked for something else.</p>"
       "<div class=\"wide\"><table class=\"confusion\"><tr><th>label \\ answer</th>";
  for (const auto& have : answers) {
    h << "<th><span>" << html(have) << "</span></th>";
  }
  h << "<th>total</th></tr>";
  for (const auto& [want, row] : r.confusion) {
    int total = 0;
    h << "<tr><td>" << html(want) << "</td>";
    for (const auto& have : answers) {
      const auto it = row.find(have);
      const int count = it == row.end() ? 0 : it->second;
      total += count;
      const char* cls = count == 0 ? "" : have == want ? " class=\"diag\"" : changes_state(have) ? " class=\"unasked\"" : " class=\"off\"";
      h << "<td" << cls << ">" << (count == 0 ? std::string("·") : std::to_string(count)) << "</td>";
    }
    h << "<td>" << total << "</td></tr>";
  }
  h << "</table></div>";
  return h.str();
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #dde3ea;padding-bottom:.3rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}.sub{color:#5f6b7a;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{padding:.35rem .7rem;border-bottom:1px solid #e6eaef;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f5f7fa;font-weight:600}
tr.best td{background:#f1f8e9}.good{color:#2e7d32;font-weight:600}.warn{color:#b26a00;font-weight:600}.bad{color:#c62828;font-weight:600}
.chart text{font-size:12px;fill:#1c2430}.chart .ct{font-weight:600}
details{margin:.4rem 0 1rem}summary{cursor:pointer;color:#37474f}
.miss{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;white-space:normal;text-align:left}
.miss td{text-align:left;white-space:normal;vertical-align:top}code{background:#f5f7fa;padding:0 .25rem;border-radius:3px}
.wide{overflow-x:auto}.confusion th,.confusion td{padding:.25rem .4rem;text-align:center}.confusion td:first-child{text-align:left}
.confusion th span{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:500}
.confusion .diag{background:#e8f5e9;font-weight:600}.confusion .off{background:#fff8e1}.confusion .unasked{background:#ffcdd2;color:#b71c1c;font-weight:700}
)";

std::string grade(double ratio) {
  const char* cls = ratio >= 0.95 ? "good" : ratio >= 0.8 ? "warn" : "bad";
  return std::string("<span class=\"") + cls + "\">" + pct(ratio) + "</span>";
}

}  // namespace

void write_csv(const std::vector<VariantReport>& variants, std::ostream& out) {
  out << "variant,description,action,expected,predicted,correct,exact,exact_accuracy,param_accuracy,precision,recall,"
         "latency_p50_us,latency_p95_us,llm_calls,tokens_in,tokens_out,cost_usd,misses,exact_ci95_low,exact_ci95_high,"
         "unasked_writes\r\n";
  for (const auto& v : variants) {
    const EvalReport& r = v.report;
    out << csv_field(v.name) << "," << csv_field(v.description) << ",(all)," << r.total << "," << r.total << ","
        << r.action_right << "," << r.exact << "," << fixed(r.accuracy(), 4) << "," << fixed(r.param_accuracy(), 4)
        << ",,," << fixed(r.p50_us, 1) << "," << fixed(r.p95_us, 1) << "," << r.llm_calls << "," << r.tokens_in << ","
        << r.tokens_out << "," << fixed(r.cost_usd, 6) << "," << r.mismatches.size() << ","
        << fixed(r.accuracy_interval().low, 4) << "," << fixed(r.accuracy_interval().high, 4) << "," << r.unasked_writes
        << "\r\n";
    for (const auto& s : r.per_action) {
      const double exact_acc = s.expected == 0 ? 0.0 : static_cast<double>(s.exact) / s.expected;
      const double param_acc = s.correct == 0 ? 0.0 : static_cast<double>(s.exact) / s.correct;
      out << csv_field(v.name) << "," << csv_field(v.description) << "," << csv_field(s.action) << "," << s.expected
          << "," << s.predicted << "," << s.correct << "," << s.exact << "," << fixed(exact_acc, 4) << ","
          << fixed(param_acc, 4) << "," << fixed(s.precision(), 4) << "," << fixed(s.recall(), 4) << ",,,,,,,,"
          << fixed(s.exact_interval().low, 4) << "," << fixed(s.exact_interval().high, 4) << ","
          << "\r\n";
    }
  }
}

std::string render_html(const std::vector<VariantReport>& variants, const std::string& dataset) {
  std::ostringstream h;
  h << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
       "content=\"width=device-width,initial-scale=1\"><title>opsgate eval — "
    << html(dataset) << "</title><style>" << kStyle << "</style></head><body>";
  h << "<h1>opsgate eval</h1><p class=\"sub\">Dataset <code>" << html(dataset) << "</code> · "
    << (variants.empty() ? 0 : variants.front().report.total) << " utterances · " << variants.size()
    << " variant" << (variants.size() == 1 ? "" : "s") << "</p>";

  // The comparison: one row per variant, the best exact match highlighted.
  std::size_t best = 0;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    if (variants[i].report.accuracy() > variants[best].report.accuracy()) {
      best = i;
    }
  }
  h << "<h2>Variants</h2><table><tr><th>variant</th><th>exact match</th><th>95% CI (Wilson)</th>"
       "<th>writes not asked for</th><th>param accuracy</th>"
       "<th>clarify P / R</th><th>none P / R</th><th>latency p50</th><th>p95</th><th>LLM calls</th>"
       "<th>tokens in / out</th><th>cost (USD)</th><th>misses</th></tr>";
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const auto& v = variants[i];
    const EvalReport& r = v.report;
    h << "<tr" << (i == best && variants.size() > 1 ? " class=\"best\"" : "") << "><td><b>" << html(v.name)
      << "</b><br><small>" << html(v.description) << "</small></td><td>" << grade(r.accuracy()) << " <small>("
      << r.exact << "/" << r.total << ")</small></td><td>" << ci_text(r.accuracy_interval()) << "</td><td>"
      << (r.unasked_writes == 0 ? std::string("0") : "<span class=\"bad\">" + std::to_string(r.unasked_writes) + "</span>")
      << "</td><td>" << pct(r.param_accuracy()) << "</td><td>"
      << pr(r, "clarify") << "</td><td>" << pr(r, "none") << "</td><td>" << latency(r.p50_us) << "</td><td>"
      << latency(r.p95_us) << "</td><td>" << r.llm_calls
      << (r.llm_degraded > 0 ? " <small>(" + std::to_string(r.llm_degraded) + " degraded)</small>" : "") << "</td><td>"
      << r.tokens_in << " / " << r.tokens_out << "</td><td>" << fixed(r.cost_usd, 4) << "</td><td>"
      << r.mismatches.size() << "</td></tr>";
  }
  h << "</table>";
  std::vector<std::tuple<std::string, double, std::string>> overall;
  for (const auto& v : variants) {
    overall.emplace_back(v.name, v.report.accuracy(), pct(v.report.accuracy()) + " exact");
  }
  h << bar_chart(overall, "Exact match by variant");

  for (const auto& v : variants) {
    const EvalReport& r = v.report;
    h << "<h2 id=\"" << html(v.name) << "\">" << html(v.name) << "</h2><p class=\"sub\">" << html(v.description)
      << "</p>";
    std::vector<std::tuple<std::string, double, std::string>> rows;
    for (const auto& s : r.per_action) {
      if (s.expected == 0) {
        continue;
      }
      const double acc = static_cast<double>(s.exact) / s.expected;
      rows.emplace_back(s.action, acc, pct(acc) + " (" + std::to_string(s.exact) + "/" + std::to_string(s.expected) + ")");
    }
    h << bar_chart(rows, "Exact match per expected action");
    h << "<p class=\"sub\">Exact match " << pct(r.accuracy()) << " (" << r.exact << "/" << r.total
      << "), 95% Wilson interval " << ci_text(r.accuracy_interval()) << "; writes not asked for: " << r.unasked_writes
      << ".</p>";
    h << "<table><tr><th>action</th><th>expected</th><th>answered</th><th>action right</th><th>exact</th>"
         "<th>exact %</th><th>95% CI (Wilson)</th><th>param accuracy</th><th>precision</th><th>recall</th></tr>";
    for (const auto& s : r.per_action) {
      h << "<tr><td>" << html(s.action) << "</td><td>" << s.expected << "</td><td>" << s.predicted << "</td><td>"
        << s.correct << "</td><td>" << s.exact << "</td><td>"
        << (s.expected == 0 ? std::string("–") : pct(static_cast<double>(s.exact) / s.expected)) << "</td><td>"
        << (s.expected == 0 ? std::string("–") : ci_text(s.exact_interval())) << "</td><td>"
        << (s.correct == 0 ? std::string("–") : pct(static_cast<double>(s.exact) / s.correct)) << "</td><td>"
        << pct(s.precision()) << "</td><td>" << pct(s.recall()) << "</td></tr>";
    }
    h << "</table>";
    h << confusion_matrix(r);
    if (r.mismatches.empty()) {
      h << "<p class=\"good\">No misses.</p>";
      continue;
    }
    h << "<details" << (r.mismatches.size() <= 20 ? " open" : "") << "><summary>" << r.mismatches.size()
      << " miss" << (r.mismatches.size() == 1 ? "" : "es") << "</summary><table class=\"miss\"><tr><th>line</th>"
      << "<th>text</th><th>why</th><th>expected</th><th>got</th></tr>";
    for (const auto& m : r.mismatches) {
      h << "<tr><td>" << m.line << "</td><td>" << html(m.text) << "</td><td>" << html(m.why)
        << (m.unasked_write ? " <span class=\"bad\">write not asked for</span>" : "") << "</td><td>"
        << html(dump(m.expected)) << "</td><td>" << html(dump(m.got)) << "</td></tr>";
    }
    h << "</table></details>";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace opsgate::intent
