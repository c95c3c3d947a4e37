// PromQL templates (config) filled with values (inventory and chat): the
// template check, then the substitution, with fuzzed template and values.
#include <string>

#include "actions/prometheus/promql_template.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace opsgate::actions::prometheus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [tmpl, value] = opsgate::fuzz::split_two(opsgate::fuzz::as_text(data, size));
  const bool needs_selector = size % 2 == 0;
  if (template_problem(tmpl, needs_selector)) {
    return 0;
  }
  TemplateValues values;
  values.selector = std::string(value);
  values.range = "5m";
  values.target = std::string(value.substr(0, value.size() / 2));
  values.env = "prod";
  values.namespace_name = std::string(value.substr(value.size() / 2));
  (void)render_template(tmpl, values);
  return 0;
}
