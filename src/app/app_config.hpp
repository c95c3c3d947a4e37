#pragma once
// Loading the daemon's config: a file named with --config, or the embedded
// config/demo.yaml when none is given.

#include <optional>
#include <string>
#include <string_view>

#include "src/audit/audit_reader.hpp"
#include "src/core/config.hpp"
#include "src/core/leadership.hpp"

namespace opsgate::app {

extern const std::string_view kEmbeddedDemoConfig;
extern const std::string_view kEmbeddedDemoPolicy;
inline constexpr std::string_view kEmbeddedName = "<embedded config/demo.yaml>";
inline constexpr std::string_view kEmbeddedPolicyName = "<embedded config/policy.yaml>";

// Throws ConfigError (file:line: key: what is wrong).
Config load_app_config(const std::optional<std::string>& path);

// Where the config's audit log is: storage.path, or PostgreSQL with storage.backend: postgres.
audit::AuditSource audit_source(const Config& config);

// The leader lease's settings: storage.postgres.leader_lease, or the defaults
// (on SQLite the one process owning the file always leads).
LeadershipOptions leadership_options(const Config& config);

}  // namespace opsgate::app
