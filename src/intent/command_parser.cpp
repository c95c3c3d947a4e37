#include "src/intent/command_parser.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "src/core/action_catalogue.hpp"
#include "src/core/duration.hpp"
#include "src/intent/nlu_text.hpp"
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

// The raw text after the first word: a PromQL query or a deny reason keeps its spacing.
std::string rest_after_first_word(std::string_view text) {
  const std::string t(text::trim(text));
  const auto space = t.find_first_of(" \t");
  return space == std::string::npos ? std::string{} : std::string(text::trim(std::string_view(t).substr(space + 1)));
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

constexpr std::size_t kMaxReasonBytes = 300;

bool in(std::string_view word, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

// The approval verbs and the action each means.
std::optional<std::string> approval_verb(std::string_view word) {
  if (in(word, {"approve", "approved", "accept"})) {
    return "approve";
  }
  if (in(word, {"deny", "denied", "reject", "rejected", "decline", "declined", "refuse", "veto"})) {
    return "deny";
  }
  if (in(word, {"cancel", "cancelled", "canceled", "withdraw", "retract"})) {
    return "cancel";
  }
  return std::nullopt;
}

// An approval id as people type it: "42", "#42", "7kq2m", "a1b2-c3". It needs
// a digit, so "deny request 42" never takes "request" for the id.
bool is_approval_id(std::string_view raw) {
  return !raw.empty() && raw.size() <= 32 &&
         std::all_of(raw.begin(), raw.end(), [](unsigned char c) { return std::isalnum(c) != 0 || c == '-'; }) &&
         std::any_of(raw.begin(), raw.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// "approve 42", "I approve request #17", "deny req 77: freeze is on",
// "deny approval 9x2ab because no ticket", "cancel my request 12". The only
// place approve, deny and cancel come from: a decision on someone's request is
// never guessed from loose English, so anything that does not fit this
// grammar is not one (std::nullopt, or a question when it plainly tried).
std::optional<ParseResult> approval_command(std::string_view text, bool prefixed) {
  const std::string cleaned = nlu::clean_message(text);
  const std::vector<nlu::Word> words = nlu::split_words(cleaned);
  std::size_t i = 0;
  // Lead-ins: "ok approve 42", "I hereby approve #17", "lgtm, approve 7kq2m".
  while (!prefixed && i < words.size() && !words[i].quoted &&
         in(words[i].norm, {"i", "ok", "okay", "k", "lgtm", "yes", "yep", "sure", "please", "pls", "plz", "hereby",
                            "will", "ill", "go", "ahead", "and", "then", "opsgate"})) {
    ++i;
  }
  if (i >= words.size() || words[i].quoted) {
    return std::nullopt;
  }
  const auto action = approval_verb(words[i].norm);
  if (!action) {
    return std::nullopt;
  }
  const std::string parser{"command"};
  const std::string ask = "Which request? Give its id, e.g. `" + *action + " 42`" +
                          (*action == "deny" ? std::string(" or `deny 42 <reason>`") : std::string()) +
                          "; `approvals` lists the pending ones.";
  std::size_t k = i + 1;
  while (k < words.size() && !words[k].quoted &&
         in(words[k].norm, {"request", "requests", "req", "approval", "id", "number", "no", "nr", "num", "the",
                            "my", "this", "that", "ticket", "change", "it"})) {
    ++k;
  }
  if (k >= words.size()) {
    return ParseResult::clarify(parser, ask);  // "approve", "deny that request"
  }
  if (words[k].quoted || !is_approval_id(words[k].raw)) {
    // "cancel the meeting at 3", "approve the budget": not about a request.
    return prefixed ? std::optional<ParseResult>(ParseResult::clarify(parser, ask)) : std::nullopt;
  }
  ParseResult result;
  result.kind = ParseKind::request;
  result.parser = parser;
  result.confidence = prefixed ? kPrefixedConfidence : kBareConfidence;
  result.request.action = *action;
  result.request.params = json{{"id", words[k].raw}};
  std::string_view rest = text::trim(std::string_view(cleaned).substr(words[k].end));
  if (*action != "deny") {
    // "approve 42 please" is fine; "approve 2 more people for the offsite" is not a decision.
    for (std::size_t j = k + 1; j < words.size(); ++j) {
      if (!in(words[j].norm, {"please", "pls", "plz", "thanks", "thx", "ty", "now", "asap", "lgtm", "ok"})) {
        return prefixed ? std::optional<ParseResult>(ParseResult::clarify(
                              parser, "`" + *action + "` takes only a request id, e.g. `" + *action + " 42`."))
                        : std::nullopt;
      }
    }
    return result;
  }
  // The reason, as typed, minus the connective: "deny 42: not during the freeze",
  // "deny 7kq2m because no ticket", "deny 42 reason=freeze".
  while (!rest.empty() && in(rest.substr(0, 1), {"-", ":", ",", ".", ";", "="})) {
    rest = text::trim(rest.substr(1));
  }
  for (std::string_view lead : {"because", "since", "reason:", "reason=", "reason", "bc", "as"}) {
    if (rest.size() > lead.size() && to_lower(rest.substr(0, lead.size())) == lead &&
        (rest[lead.size()] == ' ' || lead.back() == ':' || lead.back() == '=') &&
        to_lower(rest.substr(0, 11)) != "because of ") {
      rest = text::trim(rest.substr(lead.size()));
      while (!rest.empty() && (rest.front() == ':' || rest.front() == '=')) {
        rest = text::trim(rest.substr(1));
      }
      break;
    }
  }
  if (rest.size() >= 2 && (rest.front() == '"' || rest.front() == '\'') && rest.back() == rest.front()) {
    rest = rest.substr(1, rest.size() - 2);
  }
  if (!rest.empty()) {
    result.request.params["reason"] = text::sanitize_utf8(rest, kMaxReasonBytes);
  }
  return result;
}

}  // namespace

CommandParser::CommandParser(std::shared_ptr<const Inventory> inventory) : inventory_(std::move(inventory)) {}

ParseResult CommandParser::parse(std::string_view raw) const {
  std::string text(text::trim(raw));
  bool prefixed = false;
  if (!text.empty() && text.front() == '!') {
    text = text::trim(std::string_view(text).substr(1));
    prefixed = true;
  } else if (to_lower(text.substr(0, 4)) == "/ops" && (text.size() == 4 || std::isspace(static_cast<unsigned char>(text[4])) != 0)) {
    text = text::trim(std::string_view(text).substr(4));
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
  if (auto decision = approval_command(text, prefixed)) {
    return *decision;
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
  if (spec.name == "approve" || spec.name == "deny" || spec.name == "cancel") {
    // approval_command() did not take it: not a decision on a request.
    return prefixed ? ParseResult::clarify(std::string(name()), usage_of(spec)) : ParseResult::none(std::string(name()));
  }

  ParseResult result;
  result.parser = std::string(name());
  result.confidence = prefixed ? kPrefixedConfidence : kBareConfidence;
  result.kind = ParseKind::request;
  result.request.action = spec.name;

  if (spec.name == "metrics.promql") {
    // The query is everything after the verb, untouched (it has its own quoting).
    const std::string query(nlu::unwrap_code(rest_after_first_word(text)));
    if (query.empty()) {
      return ParseResult::clarify(result.parser, "Which PromQL query? " + usage_of(spec));
    }
    result.request.params["query"] = query;
    return result;
  }

  Assigner assign{spec, *inventory_, json::object(), {}};
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
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
  if (!assign.leftovers.empty() && !prefixed) {
    // A sentence that starts with a verb but is not in the syntax ("scale is
    // not my thing", "restart billing in prod"): the language parser reads it.
    return ParseResult::none(std::string(name()));
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
