#include "src/core/inventory.hpp"

#include <algorithm>
#include <cctype>

namespace opsgate {

Inventory::Inventory(std::vector<Target> targets, std::vector<Environment> envs, std::string default_env)
    : targets_(std::move(targets)), envs_(std::move(envs)), default_env_(std::move(default_env)) {}

const Target* Inventory::find_target(std::string_view name_or_alias) const {
  const std::string wanted = to_lower(name_or_alias);
  for (const auto& target : targets_) {
    if (to_lower(target.name) == wanted) {
      return &target;
    }
    for (const auto& alias : target.aliases) {
      if (to_lower(alias) == wanted) {
        return &target;
      }
    }
  }
  return nullptr;
}

const Environment* Inventory::find_env(std::string_view name_or_synonym) const {
  const std::string wanted = to_lower(name_or_synonym);
  for (const auto& env : envs_) {
    if (to_lower(env.name) == wanted) {
      return &env;
    }
    for (const auto& synonym : env.synonyms) {
      if (to_lower(synonym) == wanted) {
        return &env;
      }
    }
  }
  return nullptr;
}

const TargetPlacement* Inventory::placement(std::string_view target, std::string_view env) const {
  const Target* t = find_target(target);
  if (t == nullptr) {
    return nullptr;
  }
  auto it = t->placements.find(std::string(env));
  return it == t->placements.end() ? nullptr : &it->second;
}

std::vector<std::string> Inventory::target_names() const {
  std::vector<std::string> names;
  for (const auto& target : targets_) {
    names.push_back(target.name);
  }
  return names;
}

std::vector<std::string> Inventory::env_names() const {
  std::vector<std::string> names;
  for (const auto& env : envs_) {
    names.push_back(env.name);
  }
  return names;
}

}  // namespace opsgate
