#include "src/intent/nlu_analysis.hpp"

namespace opsgate::intent::nlu {

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
  // A word that is a near miss of one spelling of `kind` becomes it (fuzzy);
  // a tie between targets is kept, to ask which was meant.
  const auto correct_typos = [&](Kind kind, const auto& spellings, int max_distance) {
    for (auto& it : items_) {
      if (it.kind != Kind::word) {
        continue;
      }
      const std::string& n = norms_[it.first];
      if (nlu::is_filler(n) || nlu::is_polite(n) || !is_name_like(n)) {
        continue;
      }
      const auto r = nlu::closest(n, spellings, 5, 6, max_distance);
      if (r.outcome == nlu::FuzzyResult::Outcome::unique) {
        it.kind = kind;
        it.index = r.owner;
        it.fuzzy = true;
      } else if (kind == Kind::target && r.outcome == nlu::FuzzyResult::Outcome::tie && tied_targets_.empty()) {
        tied_targets_ = r.tied;
        tied_word_ = it.text;
      }
    }
  };
  // Typos are corrected only when the message names no target at all: with
  // a real name present, a near miss is more likely an ordinary word.
  if (plain_targets() == 0) {
    correct_typos(Kind::target, vocabulary_.target_spellings, 2);
  }
  if (std::none_of(items_.begin(), items_.end(), [](const Item& it) { return it.kind == Kind::env; })) {
    correct_typos(Kind::env, vocabulary_.env_spellings, 1);
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

}  // namespace opsgate::intent::nlu
