#pragma once
// `opsgate audit tail|show|verify|export`: read the audit log from the CLI.

#include <optional>
#include <string>
#include <vector>

#include "src/audit/audit_reader.hpp"

namespace opsgate::app {

struct AuditCommandOptions {
  audit::AuditSource database{""};  // the config's storage: a SQLite file or PostgreSQL
  std::optional<std::string> format;  // export: jsonl | csv
  std::optional<std::string> output;  // export: file instead of stdout
  std::optional<std::string> count;   // tail: -n
};

// Returns the exit code: 0 ok, 1 failure (or a broken chain), 2 usage.
int run_audit_command(const std::string& sub, const std::vector<std::string>& args, const AuditCommandOptions& options);

}  // namespace opsgate::app
