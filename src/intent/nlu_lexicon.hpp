#pragma once
// The built-in vocabulary of everyday operations English: which words and
// phrases mean which concept ("bounce" -> restart, "tail latency" -> p99).
// A static, immutable table; lookups are safe from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace opsgate::intent::nlu {

enum class Concept : std::uint8_t {
  // Write verbs. The *_soft ones only count with the right company: "give"
  // is scale only next to "replicas", "push" deploy only with a version.
  restart,
  scale,
  scale_soft,
  deploy,
  deploy_soft,
  upgrade,
  redeploy,
  undo,
  // Rollout status.
  status,
  status_done,
  running,
  version_word,
  revision_word,
  replica_word,
  relative,
  // Logs.
  logs_word,
  lines_word,
  grep,
  contain_word,
  limit_word,
  errors_noun,
  warn_noun,
  info_noun,
  level_word,
  // Alerts and audit.
  alerts_word,
  audit_word,
  who,
  past_write,
  changed,
  how_often,
  // Metrics.
  metric,             // value: a canonical metric name
  latency,            // "latency", "response time": p99 unless told otherwise
  metric_context,     // "how many", "graph", "count": "errors" means a rate here
  unsupported_metric, // "p95": we only have p50 and p99
  // Triage.
  symptom,            // "is slow", "on fire", "timing out"
  symptom_verb,       // "throwing", "seeing": makes the next "errors" a symptom
  symptom_noun,       // "500s", "timeouts", "exceptions"
  investigate,        // "investigate", "look into": explicit, asks for a target
  health,             // "what's going on with", "how is X doing": needs a target
  read_verb,          // "show", "what", "any": a question or a read
  vague,              // "stop", "fix", "make it stop": an imperative that names nothing we do
  // Meta.
  approve,
  deny,
  cancel,
  approval_noun,
  pending,
  help,
  whoami,
  neutral,            // phrases that must not be read word by word ("kick off")
};

struct LexEntry {
  Concept meaning;
  std::string_view value;  // canonical value for metrics; empty otherwise
};

struct PhraseMatch {
  LexEntry entry;
  std::size_t words = 0;
};

inline constexpr std::size_t kMaxPhraseWords = 4;

// The longest built-in phrase starting at words[i] (words are normalised:
// lowercase, apostrophes resolved).
std::optional<PhraseMatch> match_phrase(std::span<const std::string> words, std::size_t i);

// Everyday inflections and typos of the vocabulary's content words, so the
// table lists each meaning once:
// - the verb a gerund stands for ("bouncing" -> "bounce", "shipping" ->
//   "ship"), when that verb is in the table;
// - the content word a typo stands for ("restrat" -> "restart", "lgos" ->
//   "logs"): one edit (a swap of neighbours counts one) from exactly one
//   keyword; four-letter words only by a swap. Callers only ask for words
//   that are nothing else (not a name, not a known word).
std::optional<std::string> verb_of_gerund(std::string_view word);
std::optional<std::string_view> keyword_for_typo(std::string_view word);

// Whether a word starts a yes/no or wh- question ("is", "has", "where").
bool is_question_opener(std::string_view word);

// Words that carry no meaning for any action ("the", "service", "please"):
// never an unknown target, never counted as noise.
bool is_filler(std::string_view word);

// Words that may come before an imperative verb: "please", "can you",
// "go ahead and", "i'd like to".
bool is_polite(std::string_view word);

// Clause separators: "and", "then", "also". A message that asks for two
// changes does so in two clauses.
bool is_conjunction(std::string_view word);

// Durations markers that are not themselves meaningful: "last", "past", "ago".
bool is_duration_marker(std::string_view word);

}  // namespace opsgate::intent::nlu
