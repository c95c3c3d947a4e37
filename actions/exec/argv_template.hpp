#pragma once
// Command templates of the exec backend: an argv whose arguments may contain
// placeholders ({target}, {env}, ... and the optional whole-argument form
// {revision?}). Templates are checked once at start-up; values are checked on
// every request before they are substituted, so chat text never reaches argv
// unless it is a plain name, number or version. Private to actions/exec.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/action_catalogue.hpp"
#include "src/core/action_request.hpp"
#include "src/core/error.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::actions::exec {

// Every placeholder a template may use. The first five are request
// parameters; namespace and deployment come from the inventory placement.
inline constexpr std::string_view kPlaceholders[] = {"target",   "env",       "replicas",  "version",
                                                     "revision", "namespace", "deployment"};

// Returns why `argv` is not a valid template for `spec`, or nullopt when it is.
// The text is meant for ConfigNode::fail, which adds file, line and key.
std::optional<std::string> check_argv_template(const std::vector<std::string>& argv, const ActionSpec& spec);

// The names of the placeholders a (valid) template uses, without braces or '?'.
std::vector<std::string> placeholders_in(const std::vector<std::string>& argv);

// True when `value` may be substituted: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$.
// No shell metacharacters, whitespace, control characters or a leading '-'.
bool is_safe_value(std::string_view value);

// Placeholder values for one request: its parameters (integers as decimal
// text) and, when the inventory knows where target runs in env, namespace and
// deployment. A parameter that is neither text nor an integer is refused.
Result<std::map<std::string, std::string>> placeholder_values(const ActionRequest& request,
                                                              const Inventory& inventory);

// Substitutes `values` into a template checked by check_argv_template. Every
// value is checked with is_safe_value first (Errc::invalid_input names the
// parameter); an optional placeholder without a value drops its argument; a
// required one without a value is Errc::invalid_input.
Result<std::vector<std::string>> render_argv(const std::vector<std::string>& argv,
                                             const std::map<std::string, std::string>& values,
                                             std::string_view action);

}  // namespace opsgate::actions::exec
