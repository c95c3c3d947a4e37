#pragma once
// Scores a parser (usually the whole cascade) against labelled utterances in
// JSON Lines: {"text": ..., "expect": {"action": ..., "params": {...}}}.
// A library function so `opsgate eval` and the tests share one definition of
// "correct". Reads the stream once; no other state.

#include <functional>
#include <cstdint>
#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/intent_parser.hpp"

namespace opsgate::intent {

// A 95 % confidence interval for a proportion (0..1 on both ends).
struct Interval {
  double low = 0.0;
  double high = 1.0;
};

// Wilson's score interval for `successes` out of `n` (z = 1.96 for 95 %):
// unlike the normal approximation it stays inside 0..1 and is honest at
// 0/n and n/n, which is where small per-action counts usually are.
Interval wilson_interval(int successes, int n, double z = 1.959963984540054);

// Whether an answer with this action would change something: the catalogue's
// writes and the approval verbs (approve, deny, cancel).
bool changes_state(const std::string& action);

// One utterance the parser got wrong.
struct Mismatch {
  int line = 0;               // 1-based line in the input
  std::string text;
  nlohmann::json expected;    // the "expect" object
  nlohmann::json got;         // to_json(ParseResult)
  std::string why;            // "action: expected restart, got clarify" / "param env: ..."
  bool unasked_write = false; // the answer changes state and is not what the label asked for
};

// Action-level counts for one label ("restart", "clarify", "none", ...).
struct ActionScore {
  std::string action;
  int expected = 0;   // lines labelled with this action
  int predicted = 0;  // answers with this action
  int correct = 0;    // lines where both agree (params not considered)
  int exact = 0;      // lines labelled with this action answered exactly (action and params)
  double precision() const { return predicted == 0 ? 1.0 : static_cast<double>(correct) / predicted; }
  double recall() const { return expected == 0 ? 1.0 : static_cast<double>(correct) / expected; }
  // Exact-match accuracy over the lines labelled with this action, and its Wilson interval.
  Interval exact_interval() const { return wilson_interval(exact, expected); }
};

// The score of one run over one file.
struct EvalReport {
  int total = 0;   // scored lines
  int exact = 0;   // action right and every expected param equal (extra params allowed)
  std::vector<ActionScore> per_action;  // sorted by action name
  std::vector<Mismatch> mismatches;
  std::vector<std::string> invalid_lines;  // "line 7: not JSON" — not scored
  double mean_us = 0.0;  // wall time per parse
  double max_us = 0.0;
  double p50_us = 0.0;
  double p95_us = 0.0;
  // Writes (and approve/deny/cancel) answered where the label asked for something
  // else: a read, none, clarify, another write, or the same write with other params.
  int unasked_writes = 0;
  // confusion[expected][answered] = lines; every label and answer appears.
  std::map<std::string, std::map<std::string, int>> confusion;
  int action_right = 0;   // lines whose action (or clarify/none) was right
  int params_right = 0;   // ... and whose params were right too
  // Language-model use (zero without an llm parser). Unknown token counts are not added.
  int llm_calls = 0;
  int llm_degraded = 0;   // calls that gave nothing usable (timeout, 429, truncated, ...)
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0.0;

  double accuracy() const { return total == 0 ? 0.0 : static_cast<double>(exact) / total; }
  Interval accuracy_interval() const { return wilson_interval(exact, total); }
  // Of the lines whose action was right, how many had every expected param right.
  double param_accuracy() const { return action_right == 0 ? 0.0 : static_cast<double>(params_right) / action_right; }
};

// Any way of answering one message (a sync parser, or the async cascade run to completion).
using ParseFunction = std::function<ParseResult(const std::string& text)>;

// A request matches when the action is the expected one and each expected
// param equals the answer's (after validation, so canonical names); extra
// params such as a default env or range are allowed. An expected "clarify" or
// "none" matches that kind of answer, whatever the question. Blank lines and
// lines starting with '#' are skipped; malformed lines are listed, not scored.
EvalReport evaluate(const IntentParser& parser, std::istream& jsonl);
EvalReport evaluate(const ParseFunction& parse, std::istream& jsonl);

// One named configuration of the cascade ("builtin", "llm", "strict") and its score.
struct VariantReport {
  std::string name;
  std::string description;  // "intent.parsers=command,nlu"
  EvalReport report;
};

// report.csv: one row per variant and action (and an "(all)" row per variant).
void write_csv(const std::vector<VariantReport>& variants, std::ostream& out);
// report.html: self-contained (inline CSS and SVG, no external assets): a
// summary table, a bar chart per variant, per-action tables with Wilson
// intervals, a confusion matrix (label × answer) per variant and the misses.
std::string render_html(const std::vector<VariantReport>& variants, const std::string& dataset);

// A readable table: accuracy, timing, per-action precision/recall, mismatches.
std::string format_report(const EvalReport& report);

nlohmann::json to_json(const EvalReport& report);

}  // namespace opsgate::intent
