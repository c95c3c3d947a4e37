// The exec backend's argv template: a template (config, one argument per
// line) checked, then rendered with request parameters (JSON from a parser or
// the LLM). A rendered argument must be a safe value or template text.
#include <nlohmann/json.hpp>

#include "actions/exec/argv_template.hpp"
#include "fuzz/fuzz_support.hpp"
#include "src/core/action_catalogue.hpp"

using namespace opsgate::actions::exec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [tmpl, params] = opsgate::fuzz::split_two(opsgate::fuzz::as_text(data, size));
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start <= tmpl.size() && argv.size() < 16) {
    const auto end = tmpl.find('\n', start);
    argv.emplace_back(tmpl.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  const opsgate::ActionSpec* spec = opsgate::find_action("scale");
  if (spec == nullptr || check_argv_template(argv, *spec)) {
    return 0;
  }
  (void)placeholders_in(argv);
  opsgate::ActionRequest request{"scale", nlohmann::json::parse(params, nullptr, false)};
  if (request.params.is_discarded()) {
    return 0;
  }
  const auto values = placeholder_values(request, *opsgate::fuzz::demo_config().inventory);
  if (!values) {
    return 0;
  }
  (void)render_argv(argv, *values, "scale");
  return 0;
}
