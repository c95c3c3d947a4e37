#pragma once
// The language parser's insides (private to src/intent; NluParser is the
// public face, nlu_parser.hpp): the inventory's names as a vocabulary, small
// word tests, and Analysis, one message analysed. Analysis is defined across
// nlu_analysis.cpp (building, queries, results), nlu_writes.cpp and
// nlu_reads.cpp. Pure; nothing here is shared between parse() calls but the
// vocabulary, which is immutable.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"
#include "src/intent/nlu_fuzzy.hpp"
#include "src/intent/nlu_lexicon.hpp"
#include "src/intent/nlu_numbers.hpp"
#include "src/intent/nlu_parser.hpp"
#include "src/intent/nlu_text.hpp"

namespace opsgate::intent::nlu {

using nlohmann::json;

inline constexpr std::string_view kParserName = "nlu";
inline constexpr std::size_t kMaxContainsBytes = 200;
inline constexpr std::size_t kMaxQueryBytes = 2000;

// The inventory's names as the parser matches them, built once per parser.
struct Vocabulary {
  std::unordered_map<std::string, int> targets;  // phrase -> index into Inventory::targets()
  std::unordered_map<std::string, int> envs;     // phrase -> index into Inventory::environments()
  std::vector<Spelling> target_spellings;        // for typo tolerance and "did you mean"
  std::vector<Spelling> env_spellings;
  std::size_t longest = 1;                       // words in the longest phrase
};

// The vocabulary of an inventory (nlu_vocabulary.cpp).
std::unique_ptr<const Vocabulary> build_vocabulary(const Inventory& inventory);

// Word tests (nlu_words.cpp).
std::string join_names(const std::vector<std::string>& names, std::string_view last_sep);
bool is_name_like(std::string_view word);
std::optional<std::string> past_write_action(std::string_view word);
bool is_write_verb(Concept c);
std::string verb_text(std::string_view action);
std::vector<std::string> plain_words(std::string_view text);
bool any_of_words(const std::vector<std::string>& words, std::span<const std::string_view> set);
bool looks_like_promql(std::string_view q);
std::optional<std::string> promql_query(std::string_view body);

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

}  // namespace opsgate::intent::nlu
