#pragma once
// The actions this daemon can run, by canonical name. Filled once at start-up
// by the registration code in src/app; read-only afterwards.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/action.hpp"

namespace opsgate {

class ActionRegistry {
 public:
  // Refuses a second backend for the same action name (returns false).
  bool add(std::unique_ptr<Action> action);
  Action* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<Action>, std::less<>> actions_;
};

}  // namespace opsgate
