#include "src/app/discord_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/discord/discord_adapter.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::app {

namespace asio = boost::asio;
namespace discord = adapters::discord;

int run_discord_command(const Config& config, const std::string& sub, const std::vector<std::string>& positional) {
  if (sub != "register-commands" && sub != "show-commands") {
    std::fprintf(stderr, "opsgate: unknown discord subcommand '%s' (register-commands, show-commands)\n", sub.c_str());
    return 2;
  }
  if (!config.adapters || !config.adapters->has("discord")) {
    std::fprintf(stderr, "opsgate: the config has no adapters.discord section (see README, \"Connect Discord\")\n");
    return 1;
  }
  const discord::DiscordConfig settings = discord::parse_discord_config(config.adapters->child("discord"));
  const std::string guild = positional.empty() ? "" : positional.front();
  if (positional.size() > 1 || (!guild.empty() && !std::all_of(guild.begin(), guild.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
    std::fprintf(stderr, "opsgate: discord %s takes at most one guild id (digits; right-click the server → Copy Server ID)\n",
                 sub.c_str());
    return 2;
  }
  const std::string path = "/applications/" + settings.application_id + (guild.empty() ? "" : "/guilds/" + guild) + "/commands";
  if (sub == "show-commands") {
    std::cout << "PUT " << settings.api_base << path << "\nAuthorization: Bot <token>\nContent-Type: application/json\n\n"
              << discord::command_definitions(settings).dump(2) << "\n";
    return 0;
  }
  asio::io_context io;
  net::HttpClient http;
  std::optional<Result<std::string>> outcome;
  asio::co_spawn(io, discord::register_commands(settings, http, guild),
                 [&outcome](std::exception_ptr error, Result<std::string> result) {
                   outcome = error ? Result<std::string>(fail(Errc::internal, "registration failed unexpectedly"))
                                   : std::move(result);
                 });
  io.run();
  if (!outcome || !*outcome) {
    std::fprintf(stderr, "opsgate: %s\n", outcome ? (*outcome).error().message.c_str() : "registration did not complete");
    return 1;
  }
  std::cout << **outcome << "\n";
  return 0;
}

}  // namespace opsgate::app
