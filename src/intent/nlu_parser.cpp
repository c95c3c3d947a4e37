#include "src/intent/nlu_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "src/core/action_catalogue.hpp"
#include "src/intent/nlu_fuzzy.hpp"
#include "src/intent/nlu_lexicon.hpp"
#include "src/intent/nlu_numbers.hpp"
#include "src/intent/nlu_text.hpp"

namespace opsgate::intent {

namespace nlu {

// The inventory's names as the parser matches them, built once per parser.
struct Vocabulary {
  std::unordered_map<std::string, int> targets;  // phrase -> index into Inventory::targets()
  std::unordered_map<std::string, int> envs;     // phrase -> index into Inventory::environments()
  std::vector<Spelling> target_spellings;        // for typo tolerance and "did you mean"
  std::vector<Spelling> env_spellings;
  std::size_t longest = 1;                       // words in the longest phrase
};

}  // namespace nlu

namespace {

using nlohmann::json;
using nlu::Concept;
using nlu::Word;

constexpr std::string_view kParserName = "nlu";
constexpr std::size_t kMaxContainsBytes = 200;
constexpr std::size_t kMaxQueryBytes = 2000;

// "payments-api" is also typed "payments api" and "payments_api".
std::vector<std::string> spellings_of(std::string_view name) {
  const std::string base = to_lower(name);
  std::vector<std::string> out{base};
  auto variant = [&](char from, char to) {
    std::string v = base;
    std::replace(v.begin(), v.end(), from, to);
    if (std::find(out.begin(), out.end(), v) == out.end()) {
      out.push_back(std::move(v));
    }
  };
  variant(' ', '-');
  variant('-', ' ');
  variant('_', ' ');
  variant('-', '_');
  variant('_', '-');
  return out;
}

// A spelling as a phrase key: its words normalised the way messages are.
std::pair<std::string, std::size_t> phrase_key(std::string_view spelling) {
  const auto words = nlu::split_words(spelling);
  std::string key;
  for (const auto& w : words) {
    if (!key.empty()) {
      key += ' ';
    }
    key += w.norm;
  }
  return {key, words.size()};
}

std::unique_ptr<const nlu::Vocabulary> build_vocabulary(const Inventory& inventory) {
  auto v = std::make_unique<nlu::Vocabulary>();
  auto add = [&](std::unordered_map<std::string, int>& phrases, std::vector<nlu::Spelling>& spellings,
                 std::string_view name, int owner) {
    for (const auto& s : spellings_of(name)) {
      auto [key, count] = phrase_key(s);
      if (key.empty()) {
        continue;
      }
      phrases.emplace(key, owner);  // first owner wins: the inventory's order decides clashes
      v->longest = std::max(v->longest, count);
      spellings.push_back({s, owner});
    }
  };
  const auto& targets = inventory.targets();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    add(v->targets, v->target_spellings, targets[i].name, static_cast<int>(i));
    for (const auto& alias : targets[i].aliases) {
      add(v->targets, v->target_spellings, alias, static_cast<int>(i));
    }
  }
  const auto& envs = inventory.environments();
  for (std::size_t i = 0; i < envs.size(); ++i) {
    add(v->envs, v->env_spellings, envs[i].name, static_cast<int>(i));
    for (const auto& synonym : envs[i].synonyms) {
      add(v->envs, v->env_spellings, synonym, static_cast<int>(i));
    }
  }
  return v;
}

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
      const std::string_view inside = nlu::trim(body.substr(open + 1, close - open - 1));
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

enum class Kind : std::uint8_t { word, phrase, target, env, duration, number, version, quote };

// A span of one or more words with what it means.
struct Item {
  Kind kind = Kind::word;
  std::size_t first = 0;  // words [first, last)
  std::size_t last = 0;
  int clause = 0;
  Concept meaning = Concept::neutral;
  bool has_concept = false;  // concept items, and a target that is also a vocabulary word ("search")
  std::string_view value;    // canonical metric name
  int index = -1;            // target or environment
  bool fuzzy = false;        // target or environment corrected from a typo
  bool muted = false;        // explained away by context: "errors" in "throwing errors"
  std::int64_t number = 0;   // a number, or a duration in seconds
  std::string text;          // version, quoted text, or the word as typed
};

struct Intent {
  std::string action;
  std::size_t verb = 0;  // item index
  int clause = 0;
};

// One message, analysed. Lives for one parse() call.
class Analysis {
 public:
  Analysis(const Inventory& inventory, const nlu::Vocabulary& vocabulary, std::string_view body)
      : inventory_(inventory), vocabulary_(vocabulary), body_(body), words_(nlu::split_words(body)) {
    norms_.reserve(words_.size());
    for (const auto& w : words_) {
      norms_.push_back(w.norm);
    }
    corrected_.assign(norms_.size(), false);
    normalise_words();
    build_items();
    resolve_targets();
    mute_symptom_objects();
  }

  ParseResult decide() const;

 private:
  // ---- building
  void normalise_words();
  void build_items();
  std::optional<std::pair<std::int64_t, std::size_t>> match_duration(std::span<const std::string> w,
                                                                      std::size_t i) const;
  void resolve_targets();
  void mute_symptom_objects();

  // ---- queries
  bool has(Concept c) const { return find(c) != nullptr; }
  const Item* find(Concept c, std::size_t from = 0) const {
    for (std::size_t k = from; k < items_.size(); ++k) {
      if (items_[k].kind == Kind::phrase && items_[k].meaning == c && !items_[k].muted) {
        return &items_[k];
      }
    }
    return nullptr;
  }
  bool word_at(std::size_t k, std::string_view norm) const {
    return k < items_.size() && items_[k].kind == Kind::word && norms_[items_[k].first] == norm;
  }
  bool concept_at(std::size_t k, Concept c) const {
    return k < items_.size() && items_[k].kind == Kind::phrase && items_[k].meaning == c;
  }
  std::string phrase_of(const Item& item) const {
    std::string out;
    for (std::size_t w = item.first; w < item.last; ++w) {
      out += (w == item.first ? "" : " ") + norms_[w];
    }
    return out;
  }
  std::vector<int> distinct(Kind kind) const {
    std::vector<int> out;
    for (const auto& it : items_) {
      if (it.kind == kind && std::find(out.begin(), out.end(), it.index) == out.end()) {
        out.push_back(it.index);
      }
    }
    return out;
  }
  bool any_fuzzy() const {
    return std::any_of(items_.begin(), items_.end(), [](const Item& it) { return it.fuzzy; });
  }
  std::optional<std::size_t> clause_head(int clause) const;
  std::vector<std::string> versions() const;
  bool has_version() const { return !versions().empty(); }
  bool is_question() const;
  bool first_person(int clause) const;
  std::optional<std::string> desired_write(int clause, std::size_t& cue) const;
  bool number_after_to() const;
  std::optional<std::int64_t> range_seconds() const;
  const Item* unknown_word(std::size_t from) const;

  // ---- results
  ParseResult request(std::string action, json params, double confidence) const;
  ParseResult clarify(std::string question, std::vector<std::string> options) const;
  ParseResult none() const { return ParseResult::none(std::string(kParserName)); }
  std::vector<std::string> target_names(const std::vector<int>& ids) const;
  std::vector<std::string> env_names(const std::vector<int>& ids) const;
  ParseResult missing_target(std::string_view action, std::size_t from) const;

  std::vector<Intent> imperative_intents() const;
  std::optional<std::string> write_action(const Item& verb) const;
  ParseResult two_intents(const std::vector<Intent>& intents) const;
  ParseResult write(const Intent& intent) const;
  ParseResult approval_hint(const Intent& intent) const;
  std::optional<ParseResult> read() const;
  // Fills target, env and range_s for a read; returns an answer instead when
  // the message does not say enough (clarify) or is only chatter (none).
  std::optional<ParseResult> read_common(const ActionSpec& spec, json& params, bool explicit_cue,
                                         double& confidence) const;
  ParseResult logs(double confidence) const;
  ParseResult metrics(std::string_view metric, double confidence) const;
  ParseResult simple_read(std::string_view action, double confidence, bool explicit_cue) const;

  const Inventory& inventory_;
  const nlu::Vocabulary& vocabulary_;
  std::string_view body_;
  std::vector<Word> words_;
  std::vector<std::string> norms_;
  std::vector<Item> items_;
  std::vector<bool> corrected_;    // words a typo correction changed (norms_ holds the correction)
  std::vector<int> tied_targets_;  // a typo equally close to several targets
  std::string tied_word_;
};

// ------------------------------------------------------------------ building

std::optional<std::pair<std::int64_t, std::size_t>> Analysis::match_duration(std::span<const std::string> w,
                                                                           std::size_t i) const {
  auto unit = [&](std::size_t k) -> std::optional<std::int64_t> {
    return k < w.size() ? nlu::unit_word_seconds(w[k]) : std::nullopt;
  };
  auto with_ago = [&](std::int64_t seconds, std::size_t words) {
    if (i + words < w.size() && w[i + words] == "ago") {
      ++words;
    }
    return std::make_pair(seconds, words);
  };
  const std::string& word = w[i];
  // "today" is a rolling day: the parser has no clock, and "errors today"
  // at 9am and at 5pm should both show the morning.
  if (word == "today") {
    return std::make_pair(std::int64_t{86400}, std::size_t{1});
  }
  if (word == "this" && i + 1 < w.size() && w[i + 1] == "week") {
    return std::make_pair(std::int64_t{604800}, std::size_t{2});
  }
  if ((word == "last" || word == "past" || word == "previous") && unit(i + 1)) {
    return std::make_pair(*unit(i + 1), std::size_t{2});  // "last hour"
  }
  if (word == "half" && i + 2 < w.size() && (w[i + 1] == "an" || w[i + 1] == "a") && w[i + 2] == "hour") {
    return with_ago(1800, 3);
  }
  if (word == "half" && i + 1 < w.size() && w[i + 1] == "hour") {
    return with_ago(1800, 2);
  }
  if ((word == "a" || word == "an") && unit(i + 1)) {
    return with_ago(*unit(i + 1), 2);
  }
  {
    std::size_t k = i;
    if (word == "a" && k + 1 < w.size() && w[k + 1] == "couple") {
      ++k;
    }
    if (w[k] == "couple") {
      std::size_t u = k + 1;
      if (u < w.size() && w[u] == "of") {
        ++u;
      }
      if (auto s = unit(u)) {
        return with_ago(2 * *s, u + 1 - i);
      }
    }
  }
  if (auto n = nlu::match_number(w, i)) {
    if (auto s = unit(i + n->words); s && n->value > 0) {
      return with_ago(n->value * *s, n->words + 1);
    }
  }
  if (auto seconds = nlu::compact_duration(word)) {
    // "500s" is a status code unless a time marker says otherwise.
    const bool status_code = word.size() == 4 && word[0] == '5' && word[3] == 's';
    const bool marked = i > 0 && nlu::is_duration_marker(w[i - 1]);
    if (!status_code || marked) {
      return with_ago(*seconds, 1);
    }
  }
  return std::nullopt;
}

// Everyday inflection and typing, mapped onto the one vocabulary before
// anything is matched, so the tables list each meaning once.
void Analysis::normalise_words() {
  for (std::size_t i = 0; i < norms_.size(); ++i) {
    if (words_[i].quoted) {
      continue;
    }
    std::string& n = norms_[i];
    if (n == "u") {
      n = "you";  // "what can u do"
      continue;
    }
    if ((n == "sec" || n == "secs") && i > 0 && norms_[i - 1] == "per") {
      n = "second";  // "req per sec"
      continue;
    }
    // "would you mind bouncing the pods": the gerund after "mind" is the request.
    if (i > 0 && norms_[i - 1] == "mind") {
      if (auto verb = nlu::verb_of_gerund(n)) {
        n = *verb;
      }
      continue;
    }
    // A typo of a content word ("restrat", "lgos"), only for a word that is
    // nothing else: not a known word, not a name or a near miss of one.
    const std::span<const std::string> one(&n, 1);
    if (!is_name_like(n) || nlu::is_filler(n) || nlu::is_polite(n) || nlu::match_phrase(one, 0) ||
        vocabulary_.targets.count(n) > 0 || vocabulary_.envs.count(n) > 0 ||
        nlu::closest(n, vocabulary_.target_spellings, 5, 6, 2).outcome != nlu::FuzzyResult::Outcome::none ||
        nlu::closest(n, vocabulary_.env_spellings, 5, 6, 1).outcome != nlu::FuzzyResult::Outcome::none) {
      continue;
    }
    if (auto keyword = nlu::keyword_for_typo(n)) {
      n = std::string(*keyword);
      corrected_[i] = true;
    }
  }
}

void Analysis::build_items() {
  int clause = 0;
  std::size_t i = 0;
  while (i < words_.size()) {
    const Word& w = words_[i];
    if (w.boundary_before && !items_.empty()) {
      ++clause;
    }
    Item item;
    item.first = i;
    item.clause = clause;
    if (w.quoted) {
      item.kind = Kind::quote;
      item.text = w.raw;
      item.last = i + 1;
      items_.push_back(std::move(item));
      ++i;
      continue;
    }
    if (nlu::is_conjunction(w.norm)) {
      if (!items_.empty()) {
        ++clause;
      }
      ++i;
      continue;
    }
    // Phrases never cross punctuation or a quote.
    std::size_t stop = i + 1;
    while (stop < words_.size() && !words_[stop].boundary_before && !words_[stop].quoted) {
      ++stop;
    }
    const std::span<const std::string> seg(norms_.data(), stop);

    if (auto d = match_duration(seg, i)) {
      item.kind = Kind::duration;
      item.number = d->first;
      item.last = i + d->second;
      items_.push_back(std::move(item));
      i += d->second;
      continue;
    }

    // The inventory's names first, then the vocabulary; the longer match wins,
    // and a name that is also a word ("search") keeps both meanings for now.
    std::size_t inv_len = 0;
    Kind inv_kind = Kind::word;
    int inv_index = -1;
    std::string key;
    for (std::size_t n = 1; n <= vocabulary_.longest && i + n <= stop; ++n) {
      if (n > 1) {
        key += ' ';
      }
      key += norms_[i + n - 1];
      if (auto t = vocabulary_.targets.find(key); t != vocabulary_.targets.end()) {
        inv_len = n;
        inv_kind = Kind::target;
        inv_index = t->second;
      } else if (auto e = vocabulary_.envs.find(key); e != vocabulary_.envs.end()) {
        inv_len = n;
        inv_kind = Kind::env;
        inv_index = e->second;
      }
    }
    const auto lex = nlu::match_phrase(seg, i);
    const std::size_t lex_len = lex ? lex->words : 0;
    if (inv_len > 0 && inv_len >= lex_len) {
      item.kind = inv_kind;
      item.index = inv_index;
      item.last = i + inv_len;
      item.text = w.raw;
      if (lex && lex_len == inv_len) {
        item.has_concept = true;
        item.meaning = lex->entry.meaning;
        item.value = lex->entry.value;
      }
      items_.push_back(std::move(item));
      i += inv_len;
      continue;
    }
    if (lex) {
      item.kind = Kind::phrase;
      item.has_concept = true;
      item.meaning = lex->entry.meaning;
      item.value = lex->entry.value;
      item.last = i + lex_len;
      item.fuzzy = std::any_of(corrected_.begin() + static_cast<std::ptrdiff_t>(i),
                               corrected_.begin() + static_cast<std::ptrdiff_t>(i + lex_len), [](bool c) { return c; });
      item.text = w.raw;
      items_.push_back(std::move(item));
      i += lex_len;
      continue;
    }
    if (nlu::is_version_literal(w.raw)) {
      item.kind = Kind::version;
      item.text = w.raw;
      item.last = i + 1;
      items_.push_back(std::move(item));
      ++i;
      continue;
    }
    if (auto n = nlu::match_number(seg, i)) {
      item.kind = Kind::number;
      item.number = n->value;
      item.last = i + n->words;
      item.text = w.raw;
      items_.push_back(std::move(item));
      i += n->words;
      continue;
    }
    item.kind = Kind::word;
    item.text = w.raw;
    item.last = i + 1;
    items_.push_back(std::move(item));
    ++i;
  }
}

void Analysis::resolve_targets() {
  auto plain_targets = [&] {
    return std::count_if(items_.begin(), items_.end(),
                         [](const Item& it) { return it.kind == Kind::target && !it.has_concept; });
  };
  // Typos are corrected only when the message names no target at all: with
  // a real name present, a near miss is more likely an ordinary word.
  if (plain_targets() == 0) {
    for (auto& it : items_) {
      if (it.kind != Kind::word) {
        continue;
      }
      const std::string& n = norms_[it.first];
      if (nlu::is_filler(n) || nlu::is_polite(n) || !is_name_like(n)) {
        continue;
      }
      const auto r = nlu::closest(n, vocabulary_.target_spellings, 5, 6, 2);
      if (r.outcome == nlu::FuzzyResult::Outcome::unique) {
        it.kind = Kind::target;
        it.index = r.owner;
        it.fuzzy = true;
      } else if (r.outcome == nlu::FuzzyResult::Outcome::tie && tied_targets_.empty()) {
        tied_targets_ = r.tied;
        tied_word_ = it.text;
      }
    }
  }
  if (std::none_of(items_.begin(), items_.end(), [](const Item& it) { return it.kind == Kind::env; })) {
    for (auto& it : items_) {
      if (it.kind != Kind::word) {
        continue;
      }
      const std::string& n = norms_[it.first];
      if (nlu::is_filler(n) || nlu::is_polite(n) || !is_name_like(n)) {
        continue;
      }
      const auto r = nlu::closest(n, vocabulary_.env_spellings, 5, 6, 1);
      if (r.outcome == nlu::FuzzyResult::Outcome::unique) {
        it.kind = Kind::env;
        it.index = r.owner;
        it.fuzzy = true;
      }
    }
  }
  // A name that is also a verb ("search the payments logs") is the verb when
  // another target is named, it leads its clause, and what follows reads as
  // its object; "scale cart and search to 3" keeps two targets.
  for (std::size_t k = 0; k < items_.size(); ++k) {
    Item& it = items_[k];
    if (it.kind != Kind::target || !it.has_concept) {
      continue;
    }
    const bool other = std::any_of(items_.begin(), items_.end(), [&](const Item& o) {
      return o.kind == Kind::target && o.index != it.index;
    });
    const auto head = clause_head(it.clause);
    const std::size_t next = k + 1;
    const bool object_follows =
        next < items_.size() && items_[next].clause == it.clause &&
        (items_[next].kind == Kind::target || items_[next].kind == Kind::quote ||
         concept_at(next, Concept::logs_word) || word_at(next, "the") || word_at(next, "through") ||
         word_at(next, "for"));
    if (other && head && *head == k && object_follows) {
      it.kind = Kind::phrase;
      it.index = -1;
    }
  }
}

void Analysis::mute_symptom_objects() {
  // "throwing errors", "seeing 500s", "returning 5xx": a symptom, not a log
  // level or a metric query.
  for (std::size_t k = 0; k < items_.size(); ++k) {
    if (!concept_at(k, Concept::symptom_verb)) {
      continue;
    }
    for (std::size_t j = k + 1; j < items_.size() && j <= k + 3 && items_[j].clause == items_[k].clause; ++j) {
      Item& o = items_[j];
      if (o.kind != Kind::phrase) {
        continue;
      }
      if (o.meaning == Concept::errors_noun || o.meaning == Concept::symptom_noun ||
          (o.meaning == Concept::metric && o.value == "error_rate")) {
        o.muted = true;
        items_[k].number = 1;  // marks the verb as having a symptom object
        break;
      }
    }
  }
}

// ------------------------------------------------------------------ queries

std::optional<std::size_t> Analysis::clause_head(int clause) const {
  for (std::size_t k = 0; k < items_.size(); ++k) {
    const Item& it = items_[k];
    if (it.clause != clause) {
      continue;
    }
    if (it.kind == Kind::word && nlu::is_polite(norms_[it.first])) {
      continue;
    }
    return k;
  }
  return std::nullopt;
}

bool Analysis::is_question() const {
  if (has(Concept::read_verb) || (!body_.empty() && body_.back() == '?')) {
    return true;
  }
  return !norms_.empty() && nlu::is_question_opener(norms_.front());
}

// "I'll restart my laptop", "let's scale back the meeting": the speaker's own
// things, not a request to us.
bool Analysis::first_person(int clause) const {
  return std::any_of(items_.begin(), items_.end(), [&](const Item& it) {
    if (it.kind != Kind::word || (clause >= 0 && it.clause != clause)) {
      return false;
    }
    const std::string& n = norms_[it.first];
    return n == "i" || n == "ill" || n == "im" || n == "ive" || n == "lets" || n == "my" || n == "mine";
  });
}

// A need rather than a command: "search needs 4 replicas in staging", "we
// should have 8 checkout pods in prod", "we need inventory 2.6.0 in staging".
// A wish word, then a replica count or a version; never in a question.
std::optional<std::string> Analysis::desired_write(int clause, std::size_t& cue) const {
  if (is_question()) {
    return std::nullopt;
  }
  static constexpr std::string_view kWish[] = {"need", "needs", "should", "want", "wants", "like", "make", "run", "keep"};
  for (std::size_t k = 0; k < items_.size(); ++k) {
    if (items_[k].clause != clause || items_[k].kind != Kind::word ||
        std::find(std::begin(kWish), std::end(kWish), norms_[items_[k].first]) == std::end(kWish)) {
      continue;
    }
    for (std::size_t j = k + 1; j < items_.size() && items_[j].clause == clause; ++j) {
      if (items_[j].kind == Kind::number &&
          (concept_at(j + 1, Concept::replica_word) ||
           (j + 1 < items_.size() && items_[j + 1].kind == Kind::target && concept_at(j + 2, Concept::replica_word)))) {
        cue = k;
        return "scale";
      }
      if (items_[j].kind == Kind::version && !distinct(Kind::target).empty()) {
        cue = k;
        return "rollout.deploy";
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::string> Analysis::versions() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& v) {
    if (std::find(out.begin(), out.end(), v) == out.end()) {
      out.push_back(v);
    }
  };
  for (std::size_t k = 0; k < items_.size(); ++k) {
    const Item& it = items_[k];
    if (it.kind == Kind::version) {
      add(it.text);
      continue;
    }
    // "version 42", "tag build-7": a tag right after the word "version".
    if (k > 0 && concept_at(k - 1, Concept::version_word) && (it.kind == Kind::word || it.kind == Kind::number) &&
        nlu::is_tag_like(words_[it.first].raw) && it.last == it.first + 1) {
      add(words_[it.first].raw);
    }
  }
  return out;
}

bool Analysis::number_after_to() const {
  for (std::size_t k = 1; k < items_.size(); ++k) {
    if (items_[k].kind == Kind::number && word_at(k - 1, "to")) {
      return true;
    }
  }
  return false;
}

std::optional<std::int64_t> Analysis::range_seconds() const {
  for (const auto& it : items_) {
    if (it.kind == Kind::duration) {
      return it.number;
    }
  }
  return std::nullopt;
}

const Item* Analysis::unknown_word(std::size_t from) const {
  for (std::size_t k = from; k < items_.size(); ++k) {
    const Item& it = items_[k];
    if (it.kind != Kind::word) {
      continue;
    }
    const std::string& n = norms_[it.first];
    if (n.size() < 2 || nlu::is_filler(n) || nlu::is_polite(n) || !is_name_like(n)) {
      continue;
    }
    return &it;
  }
  return nullptr;
}

// ------------------------------------------------------------------ results

ParseResult Analysis::request(std::string action, json params, double confidence) const {
  ParseResult r;
  r.kind = ParseKind::request;
  r.request.action = std::move(action);
  r.request.params = std::move(params);
  r.confidence = confidence;
  r.parser = std::string(kParserName);
  return r;
}

ParseResult Analysis::clarify(std::string question, std::vector<std::string> options) const {
  ParseResult r = ParseResult::clarify(std::string(kParserName), std::move(question), std::move(options));
  r.confidence = kNluExplicit;
  return r;
}

std::vector<std::string> Analysis::target_names(const std::vector<int>& ids) const {
  std::vector<std::string> out;
  for (int id : ids) {
    out.push_back(inventory_.targets()[static_cast<std::size_t>(id)].name);
  }
  return out;
}

std::vector<std::string> Analysis::env_names(const std::vector<int>& ids) const {
  std::vector<std::string> out;
  for (int id : ids) {
    out.push_back(inventory_.environments()[static_cast<std::size_t>(id)].name);
  }
  return out;
}

ParseResult Analysis::missing_target(std::string_view action, std::size_t from) const {
  if (!tied_targets_.empty()) {
    auto names = target_names(tied_targets_);
    return clarify("'" + tied_word_ + "' is as close to " + join_names(names, " as to ") + ": which one did you mean?",
                   names);
  }
  const auto all = inventory_.target_names();
  if (const Item* unknown = unknown_word(from)) {
    // Never invent a target: say what we did not recognise and offer the
    // closest names we do know.
    const auto near = nlu::nearest_owners(norms_[unknown->first], vocabulary_.target_spellings, 3);
    if (!near.empty()) {
      auto names = target_names(near);
      return clarify("I do not know a target called '" + unknown->text + "'. Did you mean " +
                         join_names(names, " or ") + "?",
                     names);
    }
    return clarify("I do not know a target called '" + unknown->text + "'. Known targets: " +
                       join_names(all, " and ") + ".",
                   all);
  }
  const std::string what = action.empty() ? std::string("Which target?")
                                          : "Which target should I " + verb_text(action) + "?";
  return clarify(what + " Known targets: " + join_names(all, " and ") + ".", all);
}

// ------------------------------------------------------------------ writes

std::vector<Intent> Analysis::imperative_intents() const {
  std::vector<Intent> out;
  auto add = [&](std::size_t k) {
    const Item& verb = items_[k];
    if (auto action = write_action(verb)) {
      out.push_back({*action, k, verb.clause});
    }
  };
  int last_clause = items_.empty() ? -1 : items_.back().clause;
  for (int c = 0; c <= last_clause; ++c) {
    const auto head = clause_head(c);
    if (head && items_[*head].kind == Kind::phrase && is_write_verb(items_[*head].meaning)) {
      add(*head);
      continue;
    }
    // A phrasal verb around its object: "roll checkout back", "roll cart out".
    if (head && word_at(*head, "roll")) {
      for (std::size_t k = *head + 1; k < items_.size() && items_[k].clause == c; ++k) {
        if (word_at(k, "back") || word_at(k, "out")) {
          out.push_back({word_at(k, "back") ? "rollout.undo" : "rollout.deploy", *head, c});
          break;
        }
      }
      if (!out.empty() && out.back().clause == c) {
        continue;
      }
    }
    // "I need inventory restarted in staging", "get cart bounced".
    for (std::size_t k = 2; k < items_.size(); ++k) {
      if (items_[k].clause != c || !concept_at(k, Concept::past_write) || items_[k - 1].kind != Kind::target) {
        continue;
      }
      const std::string& before = norms_[items_[k - 2].first];
      if (items_[k - 2].clause != c || (before != "need" && before != "needs" && before != "want" &&
                                        before != "wants" && before != "get" && before != "have")) {
        continue;
      }
      if (auto action = past_write_action(phrase_of(items_[k]))) {
        out.push_back({*action, k, c});
      }
      break;
    }
    // "checkout needs a restart in prod"
    const std::size_t before = out.size();
    for (std::size_t k = 2; k < items_.size(); ++k) {
      if (items_[k].clause == c && concept_at(k, Concept::restart) && word_at(k - 1, "a") &&
          (word_at(k - 2, "needs") || word_at(k - 2, "need"))) {
        add(k);
        break;
      }
    }
    std::size_t cue = 0;
    if (out.size() == before && std::none_of(out.begin(), out.end(), [c](const Intent& in) { return in.clause == c; })) {
      if (auto action = desired_write(c, cue)) {
        out.push_back({*action, cue, c});
      }
    }
  }
  return out;
}

std::optional<std::string> Analysis::write_action(const Item& verb) const {
  switch (verb.meaning) {
    case Concept::restart:
      return "restart";
    case Concept::scale:
      return "scale";
    case Concept::scale_soft:
      // "bump cart to 1.4.0" deploys; "give cart 5 replicas" scales; "give
      // me admin rights" is neither.
      if (has_version() && (norms_[verb.first] == "bump" || norms_[verb.first] == "set")) {
        return "rollout.deploy";
      }
      if (has(Concept::replica_word) || number_after_to()) {
        return "scale";
      }
      return std::nullopt;
    case Concept::deploy:
      return "rollout.deploy";
    case Concept::deploy_soft:
      // "ship", "push", "release" are also nouns: a write needs a version, or
      // a target and an environment.
      if (has_version() || (!distinct(Kind::target).empty() && !distinct(Kind::env).empty())) {
        return "rollout.deploy";
      }
      // "ship it to prod": a deploy of something unnamed, which asks which.
      if (const auto k = static_cast<std::size_t>(&verb - items_.data());
          word_at(k + 1, "it") || word_at(k + 1, "this") || word_at(k + 1, "that")) {
        return "rollout.deploy";
      }
      return std::nullopt;
    case Concept::upgrade:
      return has_version() ? std::optional<std::string>("rollout.deploy") : std::nullopt;
    case Concept::redeploy:
      return has_version() ? "rollout.deploy" : "restart";
    case Concept::undo:
      return "rollout.undo";
    case Concept::approve:
      return "approve";
    case Concept::deny:
      return "deny";
    case Concept::cancel:
      return "cancel";
    default:
      return std::nullopt;
  }
}

ParseResult Analysis::two_intents(const std::vector<Intent>& intents) const {
  std::vector<std::string> options;
  for (const auto& in : intents) {
    std::string option = verb_text(in.action);
    for (const auto& it : items_) {
      if (it.clause == in.clause && it.kind == Kind::target) {
        option += " " + inventory_.targets()[static_cast<std::size_t>(it.index)].name;
        break;
      }
    }
    if (std::find(options.begin(), options.end(), option) == options.end()) {
      options.push_back(option);
    }
  }
  return clarify("That asks for " + std::to_string(options.size()) + " changes (" + join_names(options, "; ") +
                     "). I make one change per message: which one first?",
                 options);
}

ParseResult Analysis::write(const Intent& intent) const {
  const ActionSpec& spec = *find_action(intent.action);
  const std::size_t verb = intent.verb;
  json params = json::object();
  const auto targets = distinct(Kind::target);
  if (targets.size() > 1) {
    auto names = target_names(targets);
    return clarify("Which one: " + join_names(names, " or ") + "? I " + verb_text(intent.action) +
                       " one target per request.",
                   names);
  }
  if (targets.empty()) {
    if (distinct(Kind::env).empty() && first_person(-1)) {
      return none();  // "I'll restart my laptop": news, not a request with a missing target
    }
    return missing_target(intent.action, verb + 1);
  }
  params["target"] = inventory_.targets()[static_cast<std::size_t>(targets.front())].name;
  const auto envs = distinct(Kind::env);
  if (envs.size() > 1) {
    auto names = env_names(envs);
    return clarify(verb_text(intent.action) + " " + params["target"].get<std::string>() + " in " +
                       join_names(names, " or ") + "? One environment per request.",
                   names);
  }
  // A write whose environment was not stated is never defaulted: validation
  // asks "restart cart in prod or staging?".
  if (envs.size() == 1) {
    params["env"] = inventory_.environments()[static_cast<std::size_t>(envs.front())].name;
  }
  double confidence = kNluConfident;
  const Concept c = items_[verb].meaning;
  if (c == Concept::scale_soft || c == Concept::deploy_soft || c == Concept::upgrade ||
      items_[verb].kind != Kind::phrase) {
    confidence = kNluExplicit;  // a softer verb, or a need ("cart needs 4 replicas")
  }

  if (spec.name == "scale") {
    const bool relative = std::any_of(items_.begin(), items_.end(), [&](const Item& it) {
      return it.kind == Kind::phrase && it.meaning == Concept::relative && it.clause == intent.clause;
    }) || norms_[items_[verb].first] == "add" || norms_[items_[verb].first] == "remove";
    const Item* chosen = nullptr;
    for (std::size_t k = 0; k < items_.size(); ++k) {
      const Item& it = items_[k];
      if (it.kind != Kind::number) {
        continue;
      }
      const bool preferred = word_at(k - 1, "to") || concept_at(k + 1, Concept::replica_word);
      if (chosen == nullptr || preferred) {
        chosen = &it;
        if (preferred) {
          break;
        }
      }
    }
    if (relative) {
      return clarify("Scale " + params["target"].get<std::string>() +
                         " to how many replicas in total? I set an absolute count, not a change.",
                     {});
    }
    if (chosen != nullptr) {
      params["replicas"] = chosen->number;
    }
  } else if (spec.name == "rollout.deploy") {
    const auto vs = versions();
    if (vs.size() > 1) {
      return clarify("Which version: " + join_names(vs, " or ") + "?", vs);
    }
    if (vs.size() == 1) {
      params["version"] = vs.front();
    }
  } else if (spec.name == "rollout.undo") {
    const auto vs = versions();
    if (!vs.empty()) {
      const std::string t = params["target"].get<std::string>();
      return clarify("A rollback goes back one revision (or to a revision number). To run " + vs.front() +
                         ", deploy it instead: `deploy " + t + " " + vs.front() + "`.",
                     {"rollback " + t, "deploy " + t + " " + vs.front()});
    }
    for (std::size_t k = 0; k < items_.size(); ++k) {
      const Item& it = items_[k];
      if (it.kind == Kind::number && k > 0 && (concept_at(k - 1, Concept::revision_word) || word_at(k - 1, "to"))) {
        params["revision"] = it.number;
        break;
      }
    }
  }
  if (any_fuzzy()) {
    confidence = std::min(confidence, kNluFuzzy);
  }
  return request(spec.name, std::move(params), confidence);
}

ParseResult Analysis::approval_hint(const Intent& intent) const {
  // approve, deny and cancel come only from the command parser's grammar
  // ("deny 42: reason"): a decision on someone's request is never read from
  // loose English. What reaches this point did not fit it.
  return clarify("To " + intent.action + " a request, write `" + intent.action + " <id>`" +
                     (intent.action == "deny" ? std::string(" (a reason may follow)") : std::string()) +
                     "; `approvals` lists the pending ones.",
                 {});
}

// ------------------------------------------------------------------ reads

std::optional<ParseResult> Analysis::read_common(const ActionSpec& spec, json& params, bool explicit_cue,
                                                 double& confidence) const {
  const ParamSpec* target_spec = spec.param("target");
  const auto targets = distinct(Kind::target);
  if (target_spec != nullptr) {
    if (targets.size() > 1) {
      auto names = target_names(targets);
      return clarify("Which one: " + join_names(names, " or ") + "? I look at one target per request.", names);
    }
    if (targets.size() == 1) {
      params["target"] = inventory_.targets()[static_cast<std::size_t>(targets.front())].name;
    } else if (target_spec->required) {
      // "my laptop is slow" is not for us; "error rate of billing" is, and
      // deserves a question.
      if (!explicit_cue) {
        return none();
      }
      return missing_target("", 0);
    }
  }
  if (spec.param("env") != nullptr) {
    const auto envs = distinct(Kind::env);
    if (envs.size() > 1) {
      auto names = env_names(envs);
      return clarify("Which environment: " + join_names(names, " or ") + "?", names);
    }
    if (envs.size() == 1) {
      params["env"] = inventory_.environments()[static_cast<std::size_t>(envs.front())].name;
    }
  }
  if (spec.param("range_s") != nullptr) {
    if (auto range = range_seconds()) {
      params["range_s"] = *range;
    }
  }
  if (any_fuzzy()) {
    confidence = std::min(confidence, kNluFuzzy);
  }
  return std::nullopt;
}

ParseResult Analysis::simple_read(std::string_view action, double confidence, bool explicit_cue) const {
  const ActionSpec& spec = *find_action(action);
  json params = json::object();
  if (auto answer = read_common(spec, params, explicit_cue, confidence)) {
    return *answer;
  }
  return request(spec.name, std::move(params), confidence);
}

ParseResult Analysis::metrics(std::string_view metric, double confidence) const {
  const ActionSpec& spec = *find_action("metrics.query");
  json params = json::object();
  if (auto answer = read_common(spec, params, true, confidence)) {
    return *answer;
  }
  params["metric"] = std::string(metric);
  return request(spec.name, std::move(params), confidence);
}

ParseResult Analysis::logs(double confidence) const {
  const ActionSpec& spec = *find_action("logs.search");
  json params = json::object();
  if (auto answer = read_common(spec, params, true, confidence)) {
    return *answer;
  }
  // Search text: a quoted span, else the unquoted words after "grep",
  // "containing", "search for".
  for (const auto& it : items_) {
    if (it.kind == Kind::quote) {
      params["contains"] = nlu::sanitize_utf8(it.text, kMaxContainsBytes);
      break;
    }
  }
  if (!params.contains("contains")) {
    for (std::size_t k = 0; k < items_.size() && !params.contains("contains"); ++k) {
      // "grep X for Y", "logs containing Y", "checkout logs for SIGTERM".
      if (!concept_at(k, Concept::grep) && !concept_at(k, Concept::contain_word) &&
          !(concept_at(k, Concept::logs_word) && word_at(k + 1, "for"))) {
        continue;
      }
      std::string text;
      for (std::size_t j = k + 1; j < items_.size(); ++j) {
        const Item& it = items_[j];
        const bool searchable = (it.kind == Kind::word && !nlu::is_filler(norms_[it.first])) ||
                                (it.kind == Kind::phrase &&
                                 (it.meaning == Concept::symptom || it.meaning == Concept::symptom_noun));
        if (searchable) {
          text += (text.empty() ? "" : " ") + std::string(body_.substr(words_[it.first].begin,
                                                                       words_[it.last - 1].end - words_[it.first].begin));
          continue;
        }
        if (!text.empty()) {
          break;
        }
        const bool skippable = it.kind == Kind::target || it.kind == Kind::env || it.kind == Kind::duration ||
                               (it.kind == Kind::word && nlu::is_filler(norms_[it.first])) ||
                               concept_at(j, Concept::logs_word) || concept_at(j, Concept::lines_word);
        if (!skippable) {
          break;
        }
      }
      if (!text.empty()) {
        params["contains"] = nlu::sanitize_utf8(text, kMaxContainsBytes);
      }
    }
  }
  // Level: "errors", "warnings"; "info" only where it plainly is a level
  // ("info logs", "level info"), not "more info about cart".
  for (std::size_t k = 0; k < items_.size(); ++k) {
    const Item& it = items_[k];
    if (it.kind != Kind::phrase || it.muted) {
      continue;
    }
    if (it.meaning == Concept::errors_noun) {
      params["level"] = "error";
      break;
    }
    if (it.meaning == Concept::warn_noun) {
      params["level"] = "warn";
      break;
    }
    if (it.meaning == Concept::info_noun &&
        (concept_at(k + 1, Concept::logs_word) || concept_at(k + 1, Concept::lines_word) ||
         concept_at(k + 1, Concept::level_word) || (k > 0 && concept_at(k - 1, Concept::level_word)))) {
      params["level"] = "info";
      break;
    }
  }
  // Limit: "last 50 log lines", "100 lines", "limit 20".
  for (std::size_t k = 0; k < items_.size(); ++k) {
    const Item& it = items_[k];
    if (it.kind != Kind::number) {
      continue;
    }
    if (concept_at(k + 1, Concept::lines_word) || concept_at(k + 1, Concept::logs_word) ||
        (k > 0 && concept_at(k - 1, Concept::limit_word))) {
      params["limit"] = it.number;
      break;
    }
  }
  return request(spec.name, std::move(params), confidence);
}

std::optional<ParseResult> Analysis::read() const {
  const bool question = has(Concept::read_verb);
  const bool asked = is_question();
  const bool deployish = has(Concept::deploy) || has(Concept::deploy_soft) || has(Concept::upgrade) ||
                         has(Concept::redeploy) || has(Concept::restart) || has(Concept::undo);

  if (has(Concept::whoami) && distinct(Kind::target).empty()) {
    return request("whoami", json::object(), kNluExplicit);
  }
  if (has(Concept::approval_noun)) {
    return request("approvals.list", json::object(), kNluExplicit);
  }
  if (has(Concept::audit_word) || has(Concept::changed) || (has(Concept::who) && has(Concept::past_write))) {
    return simple_read("audit.show", kNluExplicit, true);
  }
  const bool deployed_question = question && !has(Concept::who) &&
                                 std::any_of(items_.begin(), items_.end(), [&](const Item& it) {
                                   return it.kind == Kind::phrase && it.meaning == Concept::past_write &&
                                          norms_[it.first] == "deployed";
                                 });
  // A question about a deploy is about its progress: "how's the payments
  // deploy going", "is the new search build out", "did 2.3.0 make it to prod".
  const bool deploy_noun = has(Concept::deploy) || has(Concept::deploy_soft);
  if (has(Concept::status) || (has(Concept::status_done) && (deployish || asked)) ||
      ((has(Concept::version_word) || has(Concept::running)) && (question || (asked && !has(Concept::symptom)))) ||
      deployed_question || (asked && deploy_noun && !has(Concept::symptom)) ||
      std::any_of(items_.begin(), items_.end(), [](const Item& it) {
        return it.kind == Kind::phrase && it.meaning == Concept::running && it.last > it.first + 1;  // "what's running"
      })) {
    return simple_read("rollout.status", kNluExplicit, true);
  }
  if (has(Concept::alerts_word)) {
    return simple_read("alerts.list", kNluExplicit, true);
  }
  const bool has_quote = std::any_of(items_.begin(), items_.end(), [](const Item& it) { return it.kind == Kind::quote; });
  if (has(Concept::logs_word) || has(Concept::grep) || has(Concept::contain_word) ||
      (has_quote && !distinct(Kind::target).empty())) {
    return logs(kNluExplicit);
  }
  if (has(Concept::investigate)) {
    return simple_read("triage", kNluExplicit, true);
  }
  if (has(Concept::health)) {
    return simple_read("triage", kNluInferred, false);
  }
  // A complaint outranks the metric it names: "cart latency is spiking",
  // "error rate on search is through the roof"; "is pay ok?" asks the same.
  if (has(Concept::symptom) && !asked) {
    return simple_read("triage", kNluInferred, false);
  }
  if (norms_.size() >= 3 && (norms_.front() == "is" || norms_.front() == "are") && !distinct(Kind::target).empty()) {
    static constexpr std::string_view kStates[] = {"ok", "okay", "fine", "alright", "healthy", "up", "good", "working"};
    if (std::find(std::begin(kStates), std::end(kStates), norms_.back()) != std::end(kStates)) {
      return simple_read("triage", kNluInferred, false);
    }
  }
  // Metrics named outright; "how many times has cart restarted" too.
  std::vector<std::string> named;
  for (const auto& it : items_) {
    if (it.kind == Kind::phrase && it.meaning == Concept::metric && !it.muted &&
        std::find(named.begin(), named.end(), it.value) == named.end()) {
      named.emplace_back(it.value);
    }
  }
  if (named.empty() && has(Concept::how_often) && (has(Concept::past_write) || has(Concept::restart))) {
    named.emplace_back("restarts");
  }
  if (named.size() > 1) {
    return clarify("Which metric: " + join_names(named, " or ") + "? I show one at a time.", named);
  }
  if (named.size() == 1) {
    return metrics(named.front(), kNluExplicit);
  }
  if (has(Concept::unsupported_metric)) {
    return clarify("I have p99 and p50 latency. Which one?", {"latency_p99", "latency_p50"});
  }
  const bool symptom_object = std::any_of(items_.begin(), items_.end(), [](const Item& it) {
    return it.kind == Kind::phrase && it.meaning == Concept::symptom_verb && it.number == 1;
  });
  if (has(Concept::symptom) || symptom_object) {
    return simple_read("triage", kNluInferred, false);
  }
  if (has(Concept::latency)) {
    return metrics("latency_p99", kNluInferred);
  }
  if (has(Concept::errors_noun) && has(Concept::metric_context)) {
    return metrics("error_rate", kNluInferred);
  }
  if (has(Concept::errors_noun) || has(Concept::warn_noun)) {
    if (question) {
      return logs(kNluInferred);
    }
    if (!distinct(Kind::target).empty()) {
      return logs(kNluWeak);
    }
  }
  // "timeouts on cart" is a complaint; "I restarted cart yesterday" is news.
  if (has(Concept::symptom_noun)) {
    return simple_read("triage", kNluWeak, false);
  }
  if (has(Concept::help) && distinct(Kind::target).empty()) {
    // "can anyone help me move my desk" is not addressed to us.
    std::size_t unknown = 0;
    for (const auto& it : items_) {
      if (it.kind == Kind::word && !nlu::is_filler(norms_[it.first]) && !nlu::is_polite(norms_[it.first])) {
        ++unknown;
      }
    }
    if (unknown <= 1) {
      return request("help", json::object(), kNluExplicit);
    }
  }
  return std::nullopt;
}

ParseResult Analysis::decide() const {
  if (items_.empty()) {
    return none();
  }
  const auto intents = imperative_intents();
  std::vector<std::string> actions;
  for (const auto& in : intents) {
    if (std::find(actions.begin(), actions.end(), in.action) == actions.end()) {
      actions.push_back(in.action);
    }
  }
  if (actions.size() > 1) {
    return two_intents(intents);
  }
  if (actions.size() == 1) {
    const Intent& in = intents.front();
    if (in.action == "approve" || in.action == "deny" || in.action == "cancel") {
      return approval_hint(in);
    }
    return write(in);
  }
  if (auto r = read()) {
    return *r;
  }
  // "make it stop", "fix this", "stop it": a request with nothing we can act
  // on: a question back, never silence, unless it is the speaker's own plan.
  if (const auto head = clause_head(0); head && concept_at(*head, Concept::vague) && distinct(Kind::target).empty() &&
                                        !first_person(-1)) {
    return clarify("What should I do, and to which service? For example `restart cart in staging`, "
                   "`roll back checkout in prod` or `error rate of cart`.",
                   {});
  }
  return none();
}

}  // namespace

NluParser::NluParser(std::shared_ptr<const Inventory> inventory)
    : inventory_(std::move(inventory)), vocabulary_(build_vocabulary(*inventory_)) {}

NluParser::~NluParser() = default;

ParseResult NluParser::parse(std::string_view text) const {
  if (text.size() > kNluMaxMessageBytes) {
    return ParseResult::none(std::string(kParserName));
  }
  const std::string cleaned = nlu::clean_message(text);
  std::string_view body = nlu::trim(cleaned);
  // The command prefixes mean nothing more here; the command parser has
  // already had its chance.
  if (!body.empty() && body.front() == '!') {
    body = nlu::trim(body.substr(1));
  } else if (body.size() >= 4 && to_lower(body.substr(0, 4)) == "/ops" &&
             (body.size() == 4 || body[4] == ' ')) {
    body = nlu::trim(body.substr(4));
  }
  if (body.empty()) {
    return ParseResult::none(std::string(kParserName));
  }
  if (body.find_first_not_of("? ") == std::string_view::npos) {
    // A lone "?" (or "??") addressed to us asks what we can do.
    ParseResult r;
    r.kind = ParseKind::request;
    r.request.action = "help";
    r.request.params = json::object();
    r.confidence = kNluExplicit;
    r.parser = std::string(kParserName);
    return r;
  }
  if (auto query = promql_query(body)) {
    if (query->empty()) {
      return ParseResult::clarify(std::string(kParserName), "Which PromQL query? Write it after `promql:`.");
    }
    ParseResult r;
    r.kind = ParseKind::request;
    r.request.action = "metrics.promql";
    r.request.params = json{{"query", nlu::sanitize_utf8(*query, kMaxQueryBytes + 1)}};
    r.confidence = kNluConfident;
    r.parser = std::string(kParserName);
    return r;
  }
  return Analysis(*inventory_, *vocabulary_, body).decide();
}

}  // namespace opsgate::intent
