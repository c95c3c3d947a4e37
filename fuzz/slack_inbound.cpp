// Slack's inbound bodies: an Events API JSON body, a slash command form body
// and an interactivity form body (payload=<json>), as the HTTP routes get them.
#include <nlohmann/json.hpp>

#include "adapters/slack/slack_chatter.hpp"
#include "adapters/slack/slack_inbound.hpp"
#include "adapters/slack/slack_signature.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace opsgate::adapters::slack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = opsgate::fuzz::as_text(data, size);
  const auto body = nlohmann::json::parse(text, nullptr, false);
  if (!body.is_discarded()) {
    (void)parse_event(body);
    (void)parse_interaction(body);
    (void)parse_slash_command(fields_of(body));
  }
  // Differential: the cheap chatter probe answers 200 without the full parse,
  // so whatever it calls chatter must be valid JSON that parse_event ignores.
  if (is_channel_chatter(text) && (body.is_discarded() || parse_event(body).kind != SlackInbound::Kind::ignore)) {
    __builtin_trap();
  }
  const auto form = decode_form(text);
  (void)parse_slash_command(form);
  if (const auto payload = form.find("payload"); payload != form.end()) {
    const auto inner = nlohmann::json::parse(payload->second, nullptr, false);
    if (!inner.is_discarded()) {
      (void)parse_interaction(inner);
    }
  }
  (void)strip_mentions(text);
  (void)plausible_approval_id(text);
  // The signature check reads a timestamp header before anything is authenticated.
  const auto [timestamp, signature] = opsgate::fuzz::split_two(text);
  (void)verify_signature("secret", timestamp, signature, text, std::chrono::system_clock::now());
  return 0;
}
