#include "src/intent/command_parser.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include "src/core/action_catalogue.hpp"
#include "src/core/duration.hpp"
#include "src/intent/tokenizer.hpp"

namespace opsgate::intent {

namespace {

using nlohmann::json;

// Command verbs (and the canonical names) to actions.
const std::map<std::string, std::string>& verbs() {
  static const std::map<std::string, std::string> table = [] {
    std::map<std::string, std::string> t{
        {"metric", "metrics.query"}, {"query", "metrics.promql"}, {"log", "logs.search"},
        {"undo", "rollout.undo"},    {"alert", "alerts.list"},   {"pending", "approvals.list"},
    };
    for (const auto& spec : action_catalogue()) {
      t.emplace(spec.verb, spec.name);
      t.emplace(spec.name, spec.name);
    }
    return t;
  }();
  return table;
}

// Keys accepted in key=value form, mapped to parameter names.
std::string param_for_key(const std::string& key) {
  static const std::map<std::string, std::string> aliases{
      {"range", "range_s"}, {"since", "range_s"}, {"last", "range_s"}, {"environment", "env"},
      {"service", "target"}, {"app", "target"},   {"grep", "contains"}, {"n", "limit"},
      {"tag", "version"},    {"rev", "revision"},  {"replica", "replicas"}};
  const std::string lower = to_lower(key);
  const auto it = aliases.find(lower);
  return it == aliases.end() ? lower : it->second;
}

// Words a bare sentence may contain between arguments ("restart cart in staging").
bool is_filler(const std::string& word) {
  static const std::set<std::string> fillers{
      "in", "on", "to", "for", "the", "of", "please", "env", "environment", "replicas", "replica",
      "pods", "pod", "version", "revision", "from", "at", "with", "a", "an", "up", "down", "now", "service",
      "log", "logs", "trail", "request"};
  return fillers.count(to_lower(word)) > 0;
}

bool is_integer(const std::string& text) {
  return !text.empty() && text.size() <= 12 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool looks_like_version(const std::string& text) {
  static const std::regex re("^v?[0-9][A-Za-z0-9_.-]*$|^[A-Za-z0-9_][A-Za-z0-9_-]*\\.[A-Za-z0-9_.-]+$");
  return std::regex_match(text, re);
}

std::string trim(std::string_view text) {
  std::size_t b = 0;
  std::size_t e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])) != 0) --e;
  return std::string(text.substr(b, e - b));
}

// The raw text after the first word: a PromQL query or a deny reason keeps its spacing.
std::string rest_after_first_word(std::string_view text) {
  const std::string t = trim(text);
  const auto space = t.find_first_of(" \t");
  return space == std::string::npos ? std::string{} : trim(std::string_view(t).substr(space + 1));
}

struct Assigner {
  const ActionSpec& spec;
  const Inventory& inventory;
  json params = json::object();
  std::vector<std::string> leftovers;

  bool wants(const std::string& name) const { return spec.param(name) != nullptr && !params.contains(name); }

  void positional(const Token& token, bool bare) {
    const std::string& word = token.text;
    if (token.quoted) {
      if (wants("contains")) {
        params["contains"] = word;
        return;
      }
      leftovers.push_back(word);
      return;
    }
    if (wants("env") && inventory.find_env(word) != nullptr) {
      params["env"] = word;
      return;
    }
    if (wants("target") && inventory.find_target(word) != nullptr) {
      params["target"] = word;
      return;
    }
    if (wants("metric") && std::find(kMetrics.begin(), kMetrics.end(), to_lower(word)) != kMetrics.end()) {
      params["metric"] = to_lower(word);
      return;
    }
    if (wants("level") && std::find(kLevels.begin(), kLevels.end(), to_lower(word)) != kLevels.end()) {
      params["level"] = to_lower(word);
      return;
    }
    if (wants("id") && !word.empty()) {
      params["id"] = word;
      return;
    }
    if (wants("range_s") && parse_duration_seconds(word)) {
      params["range_s"] = word;
      return;
    }
    if (is_integer(word)) {
      for (const char* name : {"replicas", "revision", "limit"}) {
        if (wants(name)) {
          params[name] = std::stoll(word);
          return;
        }
      }
    }
    if (wants("version") && params.contains("target") && (looks_like_version(word) || !bare)) {
      params["version"] = word;
      return;
    }
    if (bare && is_filler(word)) {
      return;
    }
    // An unknown word where a target belongs is reported as an unknown target
    // by validation, which lists the known ones. Not for bare sentences: there
    // it may be a typo or plain English, which the language parser reads better.
    if (wants("target") && !bare) {
      params["target"] = word;
      return;
    }
    leftovers.push_back(word);
  }
};

std::string usage_of(const ActionSpec& spec) { return "Usage: `" + spec.usage + "`"; }

}  // namespace

CommandParser::CommandParser(std::shared_ptr<const Inventory> inventory) : inventory_(std::move(inventory)) {}

ParseResult CommandParser::parse(std::string_view raw) const {
  std::string text = trim(raw);
  bool prefixed = false;
  if (!text.empty() && text.front() == '!') {
    text = trim(std::string_view(text).substr(1));
    prefixed = true;
  } else if (to_lower(text.substr(0, 4)) == "/ops" && (text.size() == 4 || std::isspace(static_cast<unsigned char>(text[4])) != 0)) {
    text = trim(std::string_view(text).substr(4));
    prefixed = true;
  }
  // Bare sentences may end with punctuation ("help?", "restart cart in staging.").
  if (!prefixed) {
    while (!text.empty() && (text.back() == '?' || text.back() == '.' || text.back() == '!')) {
      text.pop_back();
    }
  }
  if (text.empty()) {
    return prefixed ? ParseResult::clarify(std::string(name()), "Which command? Try `!help`.") : ParseResult::none(std::string(name()));
  }
  const std::string lowered = to_lower(text);
  if (!prefixed && (lowered == "who am i" || lowered == "whoami")) {
    ParseResult r;
    r.kind = ParseKind::request;
    r.request = {"whoami", json::object()};
    r.confidence = kBareConfidence;
    r.parser = std::string(name());
    return r;
  }

  const std::vector<Token> tokens = tokenize(text);
  const std::string verb = to_lower(tokens.front().text);
  const auto found = verbs().find(verb);
  if (found == verbs().end() || !tokens.front().key.empty()) {
    if (!prefixed) {
      return ParseResult::none(std::string(name()));
    }
    return ParseResult::clarify(std::string(name()), "I do not know the command `!" + tokens.front().text +
                                                         "`. `!help` lists what I can do.");
  }
  const ActionSpec& spec = *find_action(found->second);

  ParseResult result;
  result.parser = std::string(name());
  result.confidence = prefixed ? kPrefixedConfidence : kBareConfidence;
  result.kind = ParseKind::request;
  result.request.action = spec.name;

  if (spec.name == "metrics.promql") {
    // The query is everything after the verb, untouched (it has its own quoting).
    const std::string query = rest_after_first_word(text);
    if (query.empty()) {
      return ParseResult::clarify(result.parser, "Which PromQL query? " + usage_of(spec));
    }
    result.request.params["query"] = query;
    return result;
  }

  Assigner assign{spec, *inventory_, json::object(), {}};
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (spec.name == "deny" && assign.params.contains("id") && token.key.empty()) {
      // Everything after the id is the reason, as typed.
      std::string reason;
      for (std::size_t j = i; j < tokens.size(); ++j) {
        reason += (reason.empty() ? "" : " ") + tokens[j].text;
      }
      assign.params["reason"] = reason;
      break;
    }
    if (!token.key.empty()) {
      const std::string param = param_for_key(token.key);
      if (param == "break_glass" || param == "breakglass") {
        // Only a request to use break-glass; the policy decides if this principal may.
        result.request.break_glass_reason = token.text;
        continue;
      }
      if (spec.param(param) == nullptr) {
        return ParseResult::clarify(result.parser, "`" + spec.verb + "` has no option `" + token.key + "`. " +
                                                       usage_of(spec));
      }
      if (assign.params.contains(param)) {
        return ParseResult::clarify(result.parser, "`" + token.key + "` is given twice. " + usage_of(spec));
      }
      assign.params[param] = token.text;
      continue;
    }
    assign.positional(token, !prefixed);
  }
  if (!assign.leftovers.empty()) {
    std::string extra;
    for (const auto& word : assign.leftovers) {
      extra += (extra.empty() ? "" : " ") + word;
    }
    return ParseResult::clarify(result.parser, "I did not understand '" + extra + "' in that `" + spec.verb +
                                                   "` request. " + usage_of(spec));
  }
  result.request.params = std::move(assign.params);
  return result;
}

}  // namespace opsgate::intent
