#include "src/intent/nlu_analysis.hpp"

// The inventory's names, aliases and synonyms as phrases and spellings.

namespace opsgate::intent::nlu {

namespace {

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

}  // namespace

std::unique_ptr<const Vocabulary> build_vocabulary(const Inventory& inventory) {
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

}  // namespace opsgate::intent::nlu
