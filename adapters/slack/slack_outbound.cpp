#include "adapters/slack/slack_outbound.hpp"

#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "adapters/slack/slack_blocks.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr std::size_t kMaxRemembered = 10000;              // approval messages and slash-command threads
constexpr std::size_t kMaxClickedText = 4000;              // longer: not kept (the update shows the outcome only)
constexpr std::size_t kMaxClickedBytes = 4 * 1024 * 1024;  // all clicked messages kept, together
}  // namespace

SlackOutbound::SlackOutbound(WebApi& api)
    : api_(api),
      approval_messages_(kMaxRemembered),
      clicked_messages_(kMaxRemembered, kMaxClickedBytes),
      request_threads_(kMaxRemembered) {}

void SlackOutbound::remember_clicked(const std::string& approval_id, PostedMessage message) {
  if (approval_id.empty() || approval_messages_.find(approval_id) != nullptr || message.text.size() > kMaxClickedText) {
    return;
  }
  const std::size_t bytes = approval_id.size() + message.channel.size() + message.ts.size() + message.text.size();
  clicked_messages_.put(approval_id, std::move(message), bytes);
}

asio::awaitable<Result<PostedMessage>> SlackOutbound::deliver(OutboundMessage message) {
  std::string thread = message.thread;
  if (thread.empty()) {
    // A slash command has no message to thread under: its first reply is
    // top level and the rest of that request's replies go in its thread.
    if (const auto* first = request_threads_.find(message.request_id)) {
      thread = first->ts;
    }
  }
  if (!message.approval_id.empty() && !message.approval_outcome.empty()) {
    OutboundMessage decided = message;
    co_await update_approval(std::move(decided));
  }
  json payload;
  if (!message.approval_id.empty() && message.approval_outcome.empty()) {
    payload = render_approval_request(message);
  } else {
    payload = render_result(message);
  }
  payload["channel"] = message.channel;
  if (!thread.empty()) {
    payload["thread_ts"] = thread;
  }
  payload["unfurl_links"] = false;
  const std::string text = payload["text"];
  auto answer = co_await api_.post_message(std::move(payload));
  if (!answer) {
    spdlog::error("[{}] slack: reply to {} lost: {}", message.request_id, message.channel, answer.error().message);
    co_return tl::unexpected<Error>(answer.error());
  }
  PostedMessage posted{answer->value("channel", message.channel), answer->value("ts", ""), text};
  if (thread.empty() && !message.request_id.empty()) {
    request_threads_.put(message.request_id, posted);
  }
  if (!message.approval_id.empty() && message.approval_outcome.empty()) {
    approval_messages_.put(message.approval_id, posted);
  }
  co_return posted;
}

// The request message loses its buttons and shows the decision.
asio::awaitable<void> SlackOutbound::update_approval(OutboundMessage message) {
  const PostedMessage* request = approval_messages_.find(message.approval_id);
  if (request == nullptr) {
    request = clicked_messages_.find(message.approval_id);
  }
  if (request == nullptr) {
    spdlog::info("[{}] slack: no message of approval {} to update (posted before a restart?)", message.request_id,
                 message.approval_id);
    co_return;
  }
  json payload = render_approval_decided(request->text, message);
  payload["channel"] = request->channel;
  payload["ts"] = request->ts;
  std::string method = "chat.update";
  auto answer = co_await api_.call(std::move(method), std::move(payload));
  if (!answer) {
    spdlog::error("[{}] slack: could not update the approval message of {}: {}", message.request_id,
                  message.approval_id, answer.error().message);
  }
}

}  // namespace opsgate::adapters::slack
