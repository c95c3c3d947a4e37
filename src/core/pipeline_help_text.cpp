#include "src/core/pipeline.hpp"

// The answers to `help` and `whoami`: from the catalogue, the inventory and
// the policy, never from the message text.

#include "src/core/action_catalogue.hpp"

namespace opsgate {

std::string Pipeline::help_text(const Principal& principal) const {
  std::string text = "I can run these for you (" + principal.id + "):\n";
  const auto policy = deps_.policy();
  for (const auto& spec : action_catalogue()) {
    text += "  " + spec.usage + " — " + spec.summary;
    if (spec.kind == ActionKind::write) {
      text += " [write]";
    }
    text += "\n";
  }
  text += "Targets: ";
  const auto names = deps_.inventory->target_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    text += (i ? ", " : "") + names[i];
  }
  text += ". Environments: ";
  const auto envs = deps_.inventory->env_names();
  for (std::size_t i = 0; i < envs.size(); ++i) {
    text += (i ? ", " : "") + envs[i];
  }
  text += " (default " + deps_.inventory->default_env() + " for reads; writes always name one).";
  return text;
}

std::string Pipeline::whoami_text(const Principal& principal) const {
  // Appended into one string sized up front: the `+` temporaries cost an
  // allocation each, for every whoami.
  const std::string policy_view = deps_.policy()->describe(principal);
  std::string text;
  text.reserve(64 + principal.id.size() + principal.display_name.size() + policy_view.size() +
               principal.groups.size() * 24);
  text += "You are ";
  text += principal.id;
  if (!principal.display_name.empty()) {
    text += " (";
    text += principal.display_name;
    text += ")";
  }
  if (principal.groups.empty()) {
    text += ", in no platform groups.";
  } else {
    text += ", in groups: ";
    for (std::size_t i = 0; i < principal.groups.size(); ++i) {
      text += i ? ", " : "";
      text += principal.groups[i];
    }
    text += ".";
  }
  text += " In the policy: ";
  text += policy_view;
  text += ".";
  return text;
}

}  // namespace opsgate
