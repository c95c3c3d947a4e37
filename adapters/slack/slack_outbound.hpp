#pragma once
// What opsgate posts to Slack: replies in the request's thread (a slash
// command's first reply opens the thread), approval requests with buttons,
// and the update of an approval message once it is decided. Remembers which
// message holds an approval's buttons (posted by opsgate, or seen in a click:
// the clicker's word, kept apart and bounded by bytes).
// Owned by the Slack adapter; on the daemon's io_context.

#include <string>

#include <boost/asio/awaitable.hpp>

#include "adapters/slack/slack_web_api.hpp"
#include "src/core/adapter.hpp"
#include "src/core/bounded_map.hpp"
#include "src/core/error.hpp"

namespace opsgate::adapters::slack {

struct PostedMessage {
  std::string channel;
  std::string ts;
  std::string text;
};

class SlackOutbound {
 public:
  explicit SlackOutbound(WebApi& api);

  // Posts `message` (and first updates the approval message it decides); the message as Slack stored it.
  boost::asio::awaitable<Result<PostedMessage>> deliver(OutboundMessage message);
  // A click names the message that holds approval `approval_id`'s buttons:
  // kept (unless opsgate posted it itself, or the text is too long) so the
  // decision can update it even after a restart.
  void remember_clicked(const std::string& approval_id, PostedMessage message);

 private:
  boost::asio::awaitable<void> update_approval(OutboundMessage message);

  WebApi& api_;
  BoundedMap<PostedMessage> approval_messages_;  // posted by opsgate
  BoundedMap<PostedMessage> clicked_messages_;   // seen in clicks (caller's word)
  BoundedMap<PostedMessage> request_threads_;
};

}  // namespace opsgate::adapters::slack
