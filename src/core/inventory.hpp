#pragma once
// The targets opsgate knows and the environments they run in. Built once from
// config and shared read-only; nothing from chat ever adds to it.

#include <map>
#include "src/core/text.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opsgate {

// Where one target lives in one environment.
struct TargetPlacement {
  std::string namespace_name;       // Kubernetes namespace
  std::string deployment;           // Kubernetes deployment
  std::string prometheus_selector;  // label matchers without braces: app="checkout",namespace="shop-prod"
  std::string loki_selector;        // a full stream selector: {app="checkout",namespace="shop-prod"}
};

struct Target {
  std::string name;
  std::vector<std::string> aliases;
  std::string team;  // owning team, for "team shop may restart its own services"
  std::map<std::string, TargetPlacement> placements;  // env name -> placement
};

struct Environment {
  std::string name;
  std::vector<std::string> synonyms;
};

class Inventory {
 public:
  Inventory() = default;
  Inventory(std::vector<Target> targets, std::vector<Environment> envs, std::string default_env);

  // Exact name or alias, case-insensitive. Never guesses.
  const Target* find_target(std::string_view name_or_alias) const;
  // Exact name or synonym, case-insensitive.
  const Environment* find_env(std::string_view name_or_synonym) const;
  const TargetPlacement* placement(std::string_view target, std::string_view env) const;

  const std::vector<Target>& targets() const { return targets_; }
  const std::vector<Environment>& environments() const { return envs_; }
  const std::string& default_env() const { return default_env_; }
  std::vector<std::string> target_names() const;
  std::vector<std::string> env_names() const;

 private:
  std::vector<Target> targets_;
  std::vector<Environment> envs_;
  std::string default_env_;
};

// ASCII lower case (src/core/text.hpp), under the name callers use.
using text::to_lower;

}  // namespace opsgate
