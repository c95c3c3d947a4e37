#include "src/intent/nlu_analysis.hpp"

namespace opsgate::intent::nlu {

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
      params["contains"] = text::sanitize_utf8(it.text, kMaxContainsBytes);
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
        params["contains"] = text::sanitize_utf8(text, kMaxContainsBytes);
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

}  // namespace opsgate::intent::nlu
