#pragma once
// Slack's inbound payloads (Events API envelope, slash command form,
// block_actions) turned into one plain struct. Pure functions on untrusted
// input: they never throw and ignore what they do not understand.

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/net/url_encoding.hpp"

namespace opsgate::adapters::slack {

struct SlackInbound {
  enum class Kind { ignore, url_verification, message };
  Kind kind = Kind::ignore;
  std::string reason;     // why ignored (for a debug log line)
  std::string challenge;  // url_verification
  std::string event_id;   // Events API: the dedup key of retries
  std::string team;
  std::string user;
  std::string channel;
  std::string thread;      // the thread replies go in; empty: top level (slash commands)
  std::string message_id;  // the platform's id of the triggering message or click
  std::string text;        // what the pipeline parses (mentions stripped)
  bool addressed = false;
  bool slash_command = false;
  // A click on an approval button: the message that carries the buttons.
  std::string approval_id;
  std::string approval_message_ts;
  std::string approval_message_text;
};

// An Events API body (HTTP) or an events_api envelope's payload (Socket Mode).
SlackInbound parse_event(const nlohmann::json& body);

// A slash command: the form fields (HTTP) or the payload object (Socket Mode).
SlackInbound parse_slash_command(const std::map<std::string, std::string>& fields);
std::map<std::string, std::string> fields_of(const nlohmann::json& object);

// An interactivity payload (block_actions): buttons for approve, deny and suggestions.
SlackInbound parse_interaction(const nlohmann::json& payload);

// Slack's form bodies (slash commands, interactions): net::decode_form.
using net::decode_form;

// "<@U0BOT> restart cart" -> "restart cart"; other markup is kept.
std::string strip_mentions(std::string_view text);

// An approval id is short and plain; anything else in a button value is refused.
bool plausible_approval_id(std::string_view id);

}  // namespace opsgate::adapters::slack
