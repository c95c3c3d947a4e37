#include <algorithm>

#include "adapters/discord/discord_adapter.hpp"
#include "adapters/discord/ed25519.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::adapters::discord {

namespace {

bool snowflake(const std::string& s) {
  return !s.empty() && s.size() <= 25 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::int64_t intent_bit(const std::string& name) {
  if (name == "guilds") return 1;
  if (name == "guild_messages") return 512;
  if (name == "direct_messages") return 4096;
  if (name == "message_content") return 32768;
  return 0;
}

}  // namespace

DiscordConfig parse_discord_config(const ConfigNode& node) {
  DiscordConfig c;
  c.enabled = node.boolean_or("enabled", true);
  c.application_id = node.str("application_id");
  if (!snowflake(c.application_id)) {
    node.fail("application_id", "expected the application's numeric id (Developer Portal → General Information), got '" +
                                    c.application_id + "'");
  }
  c.public_key = node.str("public_key");
  if (!Ed25519PublicKey::from_hex(c.public_key)) {
    node.fail("public_key", "expected the 64 hex digits of the application's Public Key (Developer Portal → General Information)");
  }
  if (c.enabled) {
    c.bot_token = node.secret("bot_token");
  } else {
    (void)node.optional_child("bot_token");  // not resolved: a disabled adapter needs no credential
  }
  c.api_base = node.str_or("api_base", c.api_base);
  while (!c.api_base.empty() && c.api_base.back() == '/') {
    c.api_base.pop_back();
  }
  net::require_outbound_url(node, "api_base", c.api_base, net::UrlSecrecy::sensitive);
  c.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(node.duration_or("timeout", std::chrono::seconds(10)));
  c.ca_file = node.str_or("ca_file", "");
  c.verify_tls = !node.boolean_or("insecure_skip_verify", false);
  c.command_name = node.str_or("command_name", c.command_name);
  if (c.command_name.empty() || c.command_name.size() > 32 ||
      !std::all_of(c.command_name.begin(), c.command_name.end(),
                   [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'; })) {
    node.fail("command_name", "expected 1-32 lowercase letters, digits, '-' or '_' (Discord's rule for command names)");
  }
  c.guilds = node.strings_or("guilds");
  for (const auto& guild : c.guilds) {
    if (!snowflake(guild)) {
      node.fail("guilds", "'" + guild + "' is not a guild id (right-click the server → Copy Server ID)");
    }
  }
  if (const auto gateway = node.optional_child("gateway")) {
    c.gateway = gateway->boolean_or("enabled", true);
    c.gateway_url = gateway->str_or("url", "");
    if (!c.gateway_url.empty()) {
      // The bot token goes over this socket in IDENTIFY.
      net::require_outbound_url(*gateway, "url", c.gateway_url, net::UrlSecrecy::sensitive, net::UrlTransport::websocket);
    }
    const auto names = gateway->strings_or("intents", {"guilds", "guild_messages", "direct_messages", "message_content"});
    c.intents = 0;
    for (const auto& name : names) {
      const std::int64_t bit = intent_bit(name);
      if (bit == 0) {
        gateway->fail("intents", "unknown intent '" + name + "' (available: guilds, guild_messages, direct_messages, message_content)");
      }
      c.intents |= bit;
    }
    gateway->finish();
  }
  node.finish();
  return c;
}

}  // namespace opsgate::adapters::discord
