#include "src/core/action_registry.hpp"

namespace opsgate {

bool ActionRegistry::add(std::unique_ptr<Action> action) {
  const std::string name = action->spec().name;
  return actions_.emplace(name, std::move(action)).second;
}

Action* ActionRegistry::find(std::string_view name) const {
  const auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ActionRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, action] : actions_) {
    out.push_back(name);
  }
  return out;
}

}  // namespace opsgate
