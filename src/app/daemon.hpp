#pragma once
// Runs opsgate: the audit log, the pipeline, the HTTP server and the adapters
// on one io_context, until a signal (or, for the shell, end of input).

#include <optional>
#include <string>

#include "src/core/config.hpp"

namespace opsgate::app {

struct DaemonOptions {
  bool http = true;                        // `serve`: yes; `shell`: no
  bool force_shell = false;                // `shell`: the terminal adapter even if config disables it
  std::string shell_user;                  // `shell --user NAME`
  std::optional<std::string> config_path;  // re-read on SIGHUP
};

// Returns the process exit code.
int run_daemon(const Config& config, const DaemonOptions& options);

}  // namespace opsgate::app
