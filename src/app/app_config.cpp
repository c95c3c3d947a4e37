#include "src/app/app_config.hpp"

namespace opsgate::app {

Config load_app_config(const std::optional<std::string>& path) {
  if (path) {
    return load_config(ConfigNode::load_file(*path));
  }
  return load_config(ConfigNode::parse(std::string(kEmbeddedDemoConfig), std::string(kEmbeddedName)));
}

}  // namespace opsgate::app
