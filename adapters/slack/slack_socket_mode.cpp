#include "adapters/slack/slack_socket_mode.hpp"

#include <memory>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "adapters/slack/slack_inbound.hpp"
#include "src/net/backoff.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using nlohmann::json;

SlackSocketMode::SlackSocketMode(asio::any_io_executor executor, WebApi& app_api, std::chrono::milliseconds idle_timeout,
                                 SlackDispatch& dispatch)
    : executor_(std::move(executor)), app_api_(app_api), idle_timeout_(idle_timeout), dispatch_(dispatch) {}

void SlackSocketMode::stop() {
  stopping_ = true;
  if (socket_) {
    socket_->cancel();
  }
}

asio::awaitable<void> SlackSocketMode::run(EventSink* sink) {
  co_await asio::this_coro::throw_if_cancelled(false);  // shutdown ends the loop, not an exception
  // Shutdown cancels this coroutine (a pending read ends with
  // operation_aborted) and, through stop(), sets stopping_.
  const auto state = co_await asio::this_coro::cancellation_state;
  const auto stop_requested = [this, &state] { return stopping_ || state.cancelled() != asio::cancellation_type::none; };
  net::Backoff backoff({std::chrono::seconds(1), std::chrono::seconds(60)});
  std::unique_ptr<net::WebSocketClient> old;
  while (!stop_requested()) {
    auto url = co_await open_socket_url();
    std::unique_ptr<net::WebSocketClient> ws;
    if (url) {
      net::WebSocketOptions options;
      options.idle_timeout = idle_timeout_;
      ws = std::make_unique<net::WebSocketClient>(executor_, options);
      const std::string target = *url;
      auto connected = co_await ws->connect(target);
      if (!connected) {
        url = tl::unexpected<Error>(connected.error());
      }
    }
    if (old) {
      // The replacement is up (or failed): the old connection goes now.
      co_await old->close();
      old.reset();
    }
    if (!url) {
      if (stop_requested()) {
        break;
      }
      const auto pause = backoff.next();
      spdlog::warn("slack: Socket Mode connection failed: {}; retrying in {} ms", url.error().message, pause.count());
      asio::steady_timer timer(executor_, pause);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    backoff.reset();
    socket_ = ws.get();
    const Ending ending = co_await serve_socket(*ws, sink);
    socket_ = nullptr;
    if (ending == Ending::link_disabled) {
      spdlog::error("slack: Slack disabled this app's Socket Mode link (disconnect: link_disabled): Socket Mode "
                    "was turned off or the app token was revoked; opsgate stops using Slack until restarted");
      co_await ws->close();
      co_return;
    }
    if (ending == Ending::refresh) {
      old = std::move(ws);  // open the new connection before closing this one
      continue;
    }
    if (ending == Ending::stopping || stop_requested()) {
      break;
    }
    spdlog::warn("slack: Socket Mode connection dropped; reconnecting");
  }
}

asio::awaitable<Result<std::string>> SlackSocketMode::open_socket_url() {
  std::string method = "apps.connections.open";
  json args = json::object();
  auto answer = co_await app_api_.call(std::move(method), std::move(args));
  if (!answer) {
    co_return tl::unexpected<Error>(answer.error());
  }
  const std::string url = answer->value("url", "");
  if (url.empty()) {
    co_return fail(Errc::upstream, "apps.connections.open answered without a url");
  }
  co_return url;
}

asio::awaitable<SlackSocketMode::Ending> SlackSocketMode::serve_socket(net::WebSocketClient& ws, EventSink* sink) {
  for (;;) {
    auto frame = co_await ws.read();
    if (!frame) {
      const auto state = co_await asio::this_coro::cancellation_state;
      if (stopping_ || state.cancelled() != asio::cancellation_type::none) {
        co_return Ending::stopping;
      }
      spdlog::warn("slack: Socket Mode: {}", frame.error().message);
      co_return Ending::dropped;
    }
    const json message = json::parse(*frame, nullptr, false);
    if (!message.is_object()) {
      spdlog::warn("slack: Socket Mode frame that is not a JSON object ignored");
      continue;
    }
    const std::string type = message.value("type", "");
    if (type == "hello") {
      spdlog::info("slack: Socket Mode connected ({} connection(s))", message.value("num_connections", 0));
      continue;
    }
    if (type == "disconnect") {
      const std::string reason = message.value("reason", "");
      spdlog::info("slack: Socket Mode disconnect: {}", reason);
      if (reason == "link_disabled") {
        co_return Ending::link_disabled;
      }
      co_return Ending::refresh;
    }
    const std::string envelope_id = message.value("envelope_id", "");
    if (envelope_id.empty()) {
      continue;
    }
    // Acknowledge first (Slack's 3 s), work afterwards.
    json ack = {{"envelope_id", envelope_id}};
    if (type == "slash_commands") {
      ack["payload"] = {{"response_type", "ephemeral"}, {"text", kWorkingOnIt}};
    }
    std::string ack_text = ack.dump();
    auto acked = co_await ws.write(std::move(ack_text));
    if (!acked) {
      spdlog::warn("slack: Socket Mode ack of {} failed: {}", envelope_id, acked.error().message);
      co_return Ending::dropped;
    }
    const json& payload = message.contains("payload") ? message["payload"] : json();
    // Slack redelivers an envelope it saw no ack for: the envelope id (the
    // event id for events) is the replay key.
    const std::string envelope_key = "slack:envelope:" + envelope_id;
    if (type == "events_api") {
      SlackInbound in = parse_event(payload);
      const std::string key = in.event_id.empty() ? envelope_key : "slack:event:" + in.event_id;
      dispatch_.accept_later(std::move(in), sink, "event", key);
    } else if (type == "slash_commands") {
      dispatch_.accept_later(parse_slash_command(fields_of(payload)), sink, "slash command", envelope_key);
    } else if (type == "interactive") {
      dispatch_.accept_later(parse_interaction(payload), sink, "interaction", envelope_key);
    }
  }
}

}  // namespace opsgate::adapters::slack
