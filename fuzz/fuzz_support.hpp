#pragma once
// Shared by the libFuzzer targets of fuzz/: the demo inventory (from
// config/demo.yaml of the source tree, parsed once) and small input helpers.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "src/core/config.hpp"
#include "src/core/config_node.hpp"

namespace opsgate::fuzz {

// The demo config's inventory: targets, environments and placements as a new user has them.
inline const Config& demo_config() {
  static const Config config = load_config(ConfigNode::load_file(OPSGATE_SOURCE_DIR "/config/demo.yaml"));
  return config;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits the input at the first NUL: two independent strings from one input.
inline std::pair<std::string_view, std::string_view> split_two(std::string_view text) {
  const auto nul = text.find('\0');
  if (nul == std::string_view::npos) {
    return {text, {}};
  }
  return {text.substr(0, nul), text.substr(nul + 1)};
}

}  // namespace opsgate::fuzz
