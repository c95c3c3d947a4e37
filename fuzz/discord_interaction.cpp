// Discord: an interaction body (POST /discord/interactions) and a gateway
// MESSAGE_CREATE payload, plus the button custom_id and the outbound text helpers.
#include <nlohmann/json.hpp>

#include "adapters/discord/discord_messages.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace opsgate::adapters::discord;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = opsgate::fuzz::as_text(data, size);
  if (const auto interaction = parse_interaction(text)) {
    (void)parse_custom_id(interaction->custom_id);
    (void)principal_of(interaction->user_id, interaction->user_name, interaction->roles);
  }
  const auto d = nlohmann::json::parse(text, nullptr, false);
  if (!d.is_discarded()) {
    (void)gateway_message_event(d, "150000000000000001");
  }
  (void)parse_custom_id(text);
  (void)split_content(mention_principals(std::string(text)), 64);
  return 0;
}
