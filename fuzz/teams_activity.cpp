// Teams: an activity body (POST /api/messages), its card actions, and the
// Markdown neutraliser applied to echoed text.
#include <nlohmann/json.hpp>

#include "adapters/teams/activity.hpp"
#include "adapters/teams/cards.hpp"
#include "fuzz/fuzz_support.hpp"
#include "src/core/json_get.hpp"

using namespace opsgate::adapters::teams;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = opsgate::fuzz::as_text(data, size);
  const auto body = nlohmann::json::parse(text, nullptr, false);
  if (!body.is_discarded()) {
    const Activity activity = parse_activity(body);
    (void)card_action_from_invoke(activity.value);
    (void)card_action_from_submit(activity.value);
    bool mentioned = false;
    (void)strip_bot_mentions(activity.text, opsgate::json_get::object_at(body, "entities"), "28:bot", mentioned);
  }
  (void)inert_markdown(text);
  return 0;
}
