#pragma once
// Discord as a chat platform: the interactions endpoint (slash command
// `/ops`, Approve / Deny buttons) and, optionally, the gateway for plain
// messages that mention the bot or are DMs. The public header of
// adapters/discord: config, factory, command registration.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/leadership.hpp"
#include "src/core/secret.hpp"
#include "src/core/webhook_receiver.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::audit {
class ReplayStore;
}

namespace opsgate::adapters::discord {

inline constexpr const char* kInteractionsPath = "/discord/interactions";
// GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT
inline constexpr std::int64_t kDefaultIntents = 1 | 512 | 4096 | 32768;
// An interaction whose X-Signature-Timestamp is further than this from now is refused (401).
inline constexpr std::chrono::seconds kInteractionFreshness{300};

// `adapters.discord`, validated once; immutable afterwards.
struct DiscordConfig {
  bool enabled = true;
  std::string application_id;
  std::string public_key;  // hex, 64 digits (the portal's "Public Key")
  Secret bot_token;
  std::string api_base = "https://discord.com/api/v10";
  std::chrono::milliseconds timeout{10000};
  std::string ca_file;
  bool verify_tls = true;
  std::string command_name = "ops";
  // Allowed guild ids, for interactions and gateway messages; empty: any
  // guild. DMs are always served, with no roles (a DM vouches for no guild role).
  std::vector<std::string> guilds;
  bool gateway = true;
  std::string gateway_url;  // empty: asked from GET /gateway/bot
  std::int64_t intents = kDefaultIntents;
  // Not in YAML: tests shorten them.
  std::chrono::milliseconds token_lifetime{std::chrono::minutes(15) - std::chrono::seconds(30)};
  std::chrono::milliseconds click_answer_wait{2000};  // a click's answer is due within 3 s
  // A deferred `/ops` with no answer by then is completed with "still working"
  // (its token dies at 15 min); later answers follow it through the webhook.
  std::chrono::milliseconds deferred_deadline{std::chrono::minutes(14)};
  std::chrono::milliseconds reconnect_delay{1000};    // first gateway reconnect pause (then doubles, ≤ 60 s)
};

// `node` is `adapters.discord`. Throws ConfigError naming file:line:key.
DiscordConfig parse_discord_config(const ConfigNode& node);

// The adapter; install_routes() before the HTTP server starts. Owned by the
// daemon; send() and the route handler may run on any strand of its executor.
class DiscordAdapter : public WebhookAdapter {};

// `replays` is the daemon's replay store (interaction ids), opened before requests arrive.
// `leadership`: the gateway session runs only while this replica leads (one
// session across replicas; interactions are answered by every replica); null:
// always (one process).
std::unique_ptr<DiscordAdapter> make_discord_adapter(DiscordConfig config, boost::asio::any_io_executor executor,
                                                     net::HttpClient& http, const Clock& clock,
                                                     std::shared_ptr<audit::ReplayStore> replays,
                                                     std::shared_ptr<Leadership> leadership = nullptr);

// The slash command definitions opsgate registers (one `/ops text:` command).
nlohmann::json command_definitions(const DiscordConfig& config);

// PUT /applications/{id}/commands (or /guilds/{guild}/commands when guild_id
// is given: instant, where global commands take up to an hour). Returns a
// one-line summary, or what Discord said.
boost::asio::awaitable<Result<std::string>> register_commands(DiscordConfig config, net::HttpClient& http,
                                                              std::string guild_id);

}  // namespace opsgate::adapters::discord
