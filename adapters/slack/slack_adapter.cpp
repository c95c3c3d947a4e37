// The Slack adapter: composes the parts, one purpose each — the config
// (slack_config.cpp), the HTTP receiver (slack_http_receiver), Socket Mode
// (slack_socket_mode), the inbound step both share (slack_dispatch), who a
// user is (slack_identity) and what opsgate posts (slack_outbound) on the Web
// API client (slack_web_api).
#include "adapters/slack/slack_adapter.hpp"

#include <stdexcept>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/slack/slack_dispatch.hpp"
#include "adapters/slack/slack_http_receiver.hpp"
#include "adapters/slack/slack_identity.hpp"
#include "adapters/slack/slack_outbound.hpp"
#include "adapters/slack/slack_socket_mode.hpp"
#include "adapters/slack/slack_web_api.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

class SlackAdapterImpl final : public SlackAdapter {
 public:
  SlackAdapterImpl(SlackConfig config, SlackServices services)
      : config_(std::move(config)),
        services_(std::move(services)),
        api_(services_.http, WebApiOptions{.api_base = config_.api_base,
                                           .token = config_.bot_token.reveal(),
                                           .post_interval = config_.post_interval,
                                           .timeout = config_.api_timeout}),
        app_api_(services_.http, WebApiOptions{.api_base = config_.api_base,
                                               .token = config_.app_token.reveal(),
                                               .post_interval = config_.post_interval,
                                               .timeout = config_.api_timeout}),
        identity_(config_, api_, services_.clock),
        outbound_(api_),
        dispatch_(services_.executor, services_.clock, services_.replays, identity_, outbound_),
        receiver_(config_, services_.clock, dispatch_),
        socket_mode_(services_.executor, app_api_, config_.socket_idle_timeout, dispatch_) {}

  std::string_view platform() const override { return "slack"; }

  void install_routes(net::HttpServer& server, EventSink& sink) override {
    if (config_.mode != "http") {
      return;
    }
    receiver_.install_routes(server, sink);
  }

  asio::awaitable<void> run(EventSink& sink) override {
    if (config_.mode == "socket") {
      EventSink* target = &sink;
      co_await (socket_mode_.run(target) || wait_for_stop());
      co_return;
    }
    co_await wait_for_stop();  // webhooks arrive through the routes
  }

  asio::awaitable<void> send(OutboundMessage message) override {
    auto posted = co_await outbound_.deliver(std::move(message));
    if (!posted) {
      throw std::runtime_error(posted.error().message);  // the pipeline records the failed reply
    }
  }

  asio::awaitable<Result<std::string>> post(OutboundMessage message) override {
    message.thread.clear();
    auto posted = co_await outbound_.deliver(std::move(message));
    if (!posted) {
      co_return tl::unexpected<Error>(posted.error());
    }
    co_return posted->ts;
  }

 private:
  asio::awaitable<void> wait_for_stop() {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer forever(executor, asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
    // Cancelled: shutdown. Close the socket so a pending read ends now.
    socket_mode_.stop();
  }

  SlackConfig config_;
  SlackServices services_;
  WebApi api_;
  WebApi app_api_;
  SlackIdentity identity_;
  SlackOutbound outbound_;
  SlackDispatch dispatch_;
  SlackHttpReceiver receiver_;
  SlackSocketMode socket_mode_;
};

}  // namespace

std::unique_ptr<SlackAdapter> make_slack_adapter(SlackConfig config, SlackServices services) {
  return std::make_unique<SlackAdapterImpl>(std::move(config), std::move(services));
}

}  // namespace opsgate::adapters::slack
