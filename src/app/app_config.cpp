#include "src/app/app_config.hpp"

namespace opsgate::app {

Config load_app_config(const std::optional<std::string>& path) {
  if (path) {
    return load_config(ConfigNode::load_file(*path));
  }
  return load_config(ConfigNode::parse(std::string(kEmbeddedDemoConfig), std::string(kEmbeddedName)));
}

audit::AuditSource audit_source(const Config& config) {
  if (config.storage_backend == StorageBackend::postgres && config.postgres) {
    return audit::AuditSource::postgres(config.postgres->dsn.reveal());
  }
  return config.storage_path;
}

LeadershipOptions leadership_options(const Config& config) {
  LeadershipOptions options;
  if (config.storage_backend == StorageBackend::postgres && config.postgres) {
    options.ttl = config.postgres->lease_ttl;
    options.safety_margin = config.postgres->lease_safety_margin;
  }
  return options;
}

}  // namespace opsgate::app
