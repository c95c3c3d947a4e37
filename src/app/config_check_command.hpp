#pragma once
// `opsgate config check`: builds every component as start-up does (so it
// refuses the same mistakes) and prints what the config sets up.

#include "src/core/config.hpp"

namespace opsgate::app {

// Returns 0; a bad config throws ConfigError (file:line: key) like start-up.
int run_config_check(const Config& config);

}  // namespace opsgate::app
