#include "src/intent/nlu_analysis.hpp"

// Word tests: name-like words, write verbs, plain words, PromQL cues.

namespace opsgate::intent::nlu {

std::string join_names(const std::vector<std::string>& names, std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += (i + 1 == names.size()) ? std::string(last_sep) : std::string(", ");
    }
    out += names[i];
  }
  return out;
}

bool is_name_like(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// The write a past participle asks for in "need X restarted".
std::optional<std::string> past_write_action(std::string_view word) {
  if (word == "restarted" || word == "bounced" || word == "recycled" || word == "rebooted" || word == "kicked") {
    return "restart";
  }
  if (word == "rolled back" || word == "reverted") {
    return "rollout.undo";
  }
  if (word == "scaled") {
    return "scale";
  }
  if (word == "deployed" || word == "shipped" || word == "released") {
    return "rollout.deploy";
  }
  return std::nullopt;
}

bool is_write_verb(Concept c) {
  switch (c) {
    case Concept::restart:
    case Concept::scale:
    case Concept::scale_soft:
    case Concept::deploy:
    case Concept::deploy_soft:
    case Concept::upgrade:
    case Concept::redeploy:
    case Concept::undo:
    case Concept::approve:
    case Concept::deny:
    case Concept::cancel:
      return true;
    default:
      return false;
  }
}

// What a write verb is called in a question back to the user.
std::string verb_text(std::string_view action) {
  if (action == "rollout.deploy") return "deploy";
  if (action == "rollout.undo") return "roll back";
  return std::string(action);
}

// Lowercase words of a text (letters and digits), for cue checks.
std::vector<std::string> plain_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    out.push_back(std::move(cur));
  }
  return out;
}

bool any_of_words(const std::vector<std::string>& words, std::span<const std::string_view> set) {
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return std::find(set.begin(), set.end(), w) != set.end(); });
}

// PromQL has brackets, or is one metric name ("up").
bool looks_like_promql(std::string_view q) {
  if (q.find_first_of("({[") != std::string_view::npos) {
    return true;
  }
  return !q.empty() && std::all_of(q.begin(), q.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
  }) && std::isdigit(static_cast<unsigned char>(q.front())) == 0;
}

// A PromQL query given the ways people paste one, the query untouched:
// - after a label and a colon: "promql: <q>", "prometheus query: <q>",
//   "can you run this promql: <q>" (a label without "promql" needs a query
//   that looks like one);
// - in a code block: "```<q>```", "```promql\n<q>\n```";
// - in backticks with a cue ("run `<q>`", "promql `<q>`"), or with PromQL
//   brackets and no word about logs ("`sum(rate(x[5m]))`").
std::optional<std::string> promql_query(std::string_view body) {
  static constexpr std::string_view kLabels[] = {"promql", "query", "prometheus", "prom", "pql"};
  static constexpr std::string_view kPromql[] = {"promql"};
  static constexpr std::string_view kCues[] = {"promql", "query", "prometheus", "prom", "pql",
                                               "run",    "eval",  "evaluate",   "execute"};
  static constexpr std::string_view kLogs[] = {"log", "logs", "grep", "containing", "contains", "lines", "search", "find"};
  if (const auto open = body.find("```"); open != std::string_view::npos) {
    const auto close = body.find("```", open + 3);
    if (close != std::string_view::npos) {
      const std::string_view inside = nlu::unwrap_code(body.substr(open, close + 3 - open));
      const auto outside = plain_words(std::string(body.substr(0, open)) + " " + std::string(body.substr(close + 3)));
      if (!inside.empty() && !any_of_words(outside, kLogs)) {
        return std::string(inside);
      }
      return std::nullopt;
    }
  }
  constexpr std::size_t kLead = 48;
  if (const auto colon = body.find(':'); colon != std::string_view::npos && colon <= kLead) {
    const auto label = plain_words(body.substr(0, colon));
    const std::string_view q = nlu::unwrap_code(body.substr(colon + 1));
    if (any_of_words(label, kPromql)) {
      return std::string(q);
    }
    if (!label.empty() && label.size() <= 6 && any_of_words(label, kLabels) && looks_like_promql(q)) {
      return std::string(q);
    }
  }
  if (const auto open = body.find('`'); open != std::string_view::npos) {
    const auto close = body.find('`', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      const std::string_view inside = text::trim(body.substr(open + 1, close - open - 1));
      const auto outside = plain_words(std::string(body.substr(0, open)) + " " + std::string(body.substr(close + 1)));
      if (any_of_words(outside, kLogs)) {
        return std::nullopt;
      }
      if ((any_of_words(outside, kCues) && looks_like_promql(inside)) || inside.find_first_of("({[") != std::string_view::npos) {
        return std::string(inside);
      }
    }
  }
  return std::nullopt;
}

}  // namespace opsgate::intent::nlu
