// The config loader as `opsgate config check` runs it: YAML parsed, the core
// sections loaded, every component built. A ConfigError is the expected answer
// to a bad config; anything a sanitizer reports is a bug.
#include <boost/asio/io_context.hpp>

#include "fuzz/fuzz_support.hpp"
#include "src/app/components.hpp"
#include "src/app/cross_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(opsgate::fuzz::as_text(data, size));
  try {
    const opsgate::Config config = opsgate::load_config(opsgate::ConfigNode::parse(text, "fuzz.yaml"));
    boost::asio::io_context io;
    const auto components = opsgate::app::build_components(config, io.get_executor());
    (void)opsgate::app::check_cross_sections(config, components);
  } catch (const opsgate::ConfigError&) {
    // The expected refusal of a bad config.
  } catch (const std::exception&) {
    // main prints these too (a missing file, a database that cannot be opened).
  }
  return 0;
}
