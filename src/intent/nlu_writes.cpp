#include "src/intent/nlu_analysis.hpp"

namespace opsgate::intent::nlu {

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

}  // namespace opsgate::intent::nlu
