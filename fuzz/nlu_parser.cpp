// The built-in language parser (everyday English, no network) on any text,
// with the demo inventory; every request it returns is validated as the pipeline does.
#include "fuzz/fuzz_support.hpp"
#include "src/core/action_catalogue.hpp"
#include "src/intent/nlu_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const opsgate::intent::NluParser parser(opsgate::fuzz::demo_config().inventory);
  const auto result = parser.parse(opsgate::fuzz::as_text(data, size));
  if (result.kind == opsgate::ParseKind::request) {
    (void)opsgate::validate_request(result.request, *opsgate::fuzz::demo_config().inventory);
  }
  return 0;
}
