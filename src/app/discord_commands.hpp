#pragma once
// `opsgate discord register-commands [GUILD_ID]` (registers the /ops slash
// command with Discord) and `opsgate discord show-commands` (prints the
// request instead, for those who prefer curl).

#include <string>
#include <vector>

#include "src/core/config.hpp"

namespace opsgate::app {

int run_discord_command(const Config& config, const std::string& sub, const std::vector<std::string>& positional);

}  // namespace opsgate::app
