#pragma once
// The Discord gateway session (API v10): Hello → heartbeats with jitter,
// Identify with the configured intents, zombie detection (no ACK between two
// heartbeats), Resume with the last sequence on resume_gateway_url (without
// asking GET /gateway/bot), re-Identify after a random 1-5 s on an invalid
// session (op 9), and no reconnect after a fatal close code. Runs inside the
// adapter's run() on its executor; returns when cancelled or on a fatal close.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/chat_event.hpp"
#include "src/core/secret.hpp"

namespace opsgate::adapters::discord {

class DiscordRest;

struct GatewayOptions {
  Secret bot_token;
  std::string url;  // empty: GET /gateway/bot
  std::int64_t intents = 0;
  std::chrono::milliseconds reconnect_delay{1000};  // net::Backoff base: the ceiling doubles per failed attempt, at most 60 s
  std::string ca_file;
  bool verify_tls = true;
  // Uniform in [0, 1): heartbeat and reconnect jitter. Empty: a PRNG.
  std::function<double()> random;
  // The pause between two connections. Empty: a steady_timer; tests record it.
  std::function<boost::asio::awaitable<void>(std::chrono::milliseconds)> pause;
};

// Discord asks for a random 1-5 s before identifying again after op 9.
std::chrono::milliseconds invalid_session_pause(double unit_random);

struct GatewayHooks {
  std::function<void(ChatEvent)> on_message;               // a message addressed to the bot
  std::function<void(bool ok, std::string detail)> on_status;  // for /readyz
};

// Close codes after which reconnecting cannot help (4004, 4010-4014).
bool fatal_close_code(int code);
// "4014 disallowed intents: ..." — what the code means and what to do.
std::string describe_close_code(int code);

boost::asio::awaitable<void> run_gateway(GatewayOptions options, DiscordRest& rest, GatewayHooks hooks);

}  // namespace opsgate::adapters::discord
