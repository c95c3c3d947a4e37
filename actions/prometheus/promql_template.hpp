#pragma once
// PromQL templates of named metrics. Placeholders are `$name`, not `{name}`,
// because PromQL's own braces (label matchers) would clash:
//   http_requests_total{$selector,code=~"5.."}
// Known placeholders:
//   $selector   the placement's label matchers, without braces: app="checkout",namespace="shop-prod"
//   $range      the asked range as a PromQL duration: 15m, 1h30m
//   $target     the target's name;  $env  the environment's name
//   $namespace  the placement's Kubernetes namespace
// `$$` is a literal `$`; a `$` not followed by a letter or `_` stays as it is
// (regex anchors such as =~"api$" need no escaping).

#include <optional>
#include <string>
#include <string_view>

namespace opsgate::actions::prometheus {

struct TemplateValues {
  std::string selector;
  std::string range;
  std::string target;
  std::string env;
  std::string namespace_name;
};

// Why a template cannot be used (an unknown placeholder, or no $selector when
// `needs_selector`), or nullopt.
std::optional<std::string> template_problem(std::string_view text, bool needs_selector);

// The template with every placeholder replaced. Call only with a template
// that template_problem accepted: unknown placeholders are left as they are.
std::string render_template(std::string_view text, const TemplateValues& values);

}  // namespace opsgate::actions::prometheus
