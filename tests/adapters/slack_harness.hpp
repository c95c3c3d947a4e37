#pragma once
// The Slack adapter in-process: its webhook routes on a real net::HttpServer
// (127.0.0.1:0), its Web API pointed at the stand-in Slack, and a sink that
// records events and answers "echo: <text>" in the event's thread (or hangs
// on "hang", as a stuck backend would). Everything runs on one io thread.

#include <future>
#include <mutex>
#include <thread>

#include <atomic>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/slack/slack_adapter.hpp"
#include "tests/support/replay_store.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/slack_stand_in.hpp"

namespace opsgate::test {

inline constexpr const char* kSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5";

class EchoSink final : public EventSink {
 public:
  adapters::slack::SlackAdapter* adapter = nullptr;

  boost::asio::awaitable<void> on_event(ChatEvent event) override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
    }
    if (event.text == "hang") {
      {
        std::lock_guard lock(mutex_);
        ++hanging_;
      }
      auto executor = co_await boost::asio::this_coro::executor;
      boost::asio::steady_timer never(executor, std::chrono::hours(1));
      co_await never.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      co_return;
    }
    OutboundMessage reply;
    reply.platform = "slack";
    reply.channel = event.channel;
    reply.thread = event.thread;
    reply.request_id = "req-" + event.message_id;
    reply.text = "echo: " + event.text;
    co_await adapter->send(std::move(reply));
  }

  std::vector<ChatEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  int hanging() const {
    std::lock_guard lock(mutex_);
    return hanging_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ChatEvent> events_;
  int hanging_ = 0;
};

class SlackHarness {
 public:
  // `clock`: the adapter's clock (requests are signed at its time); the system clock by default.
  explicit SlackHarness(SlackStandIn& slack, const std::string& db_path, std::vector<std::string> usergroups = {},
                        bool socket_mode = false, std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>(),
                        std::chrono::milliseconds api_timeout = std::chrono::seconds(10))
      : SlackHarness(slack, test::open_replay_store(db_path), std::move(usergroups), socket_mode, std::move(clock),
                     api_timeout) {}
  // With a replay store the test opened itself (to reach its database).
  SlackHarness(SlackStandIn& slack, std::shared_ptr<audit::ReplayStore> replays, std::vector<std::string> usergroups = {},
               bool socket_mode = false, std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>(),
               std::chrono::milliseconds api_timeout = std::chrono::seconds(10))
      : slack_(slack), clock_(clock) {
    adapters::slack::SlackConfig config;
    config.mode = socket_mode ? "socket" : "http";
    config.app_token = Secret("xapp-1-A0BBB-test", "test");
    config.bot_token = Secret("xoxb-test-bot-token", "test");
    config.signing_secret = Secret(kSigningSecret, "test");
    config.api_base = slack.api_base();
    config.usergroups = std::move(usergroups);
    config.post_interval = std::chrono::milliseconds(10);
    config.api_timeout = api_timeout;
    http_ = std::make_unique<net::HttpClient>();
    net::HttpServerConfig server_config;
    server_config.listen = "127.0.0.1:0";
    server_config.drain_timeout = std::chrono::seconds(1);
    server_ = std::make_unique<net::HttpServer>(io_.get_executor(), server_config);
    adapter_ = adapters::slack::make_slack_adapter(
        config, adapters::slack::SlackServices{io_.get_executor(), *http_, clock, std::move(replays)});
    sink_.adapter = adapter_.get();
    adapter_->install_routes(*server_, sink_);
    auto started = server_->start();
    if (!started) {
      throw std::runtime_error(started.error().message);
    }
    socket_mode_ = socket_mode;
    if (socket_mode) {
      boost::asio::co_spawn(io_, adapter_->run(sink_),
                            boost::asio::bind_cancellation_slot(cancel_.slot(), [this](std::exception_ptr) { run_ended_ = true; }));
    }
    thread_ = std::thread([this] { io_.run(); });
  }

  ~SlackHarness() {
    boost::asio::post(io_, [this] { cancel_.emit(boost::asio::cancellation_type::terminal); });
    for (int i = 0; i < 250 && socket_mode_ && !run_ended_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    boost::asio::co_spawn(io_, server_->stop(), [done](std::exception_ptr) { done->set_value(); });
    stopped.wait_for(std::chrono::seconds(10));
    work_.reset();
    io_.stop();
    thread_.join();
  }
  SlackHarness(const SlackHarness&) = delete;
  SlackHarness& operator=(const SlackHarness&) = delete;

  EchoSink& sink() { return sink_; }
  std::uint16_t port() const { return server_->local_port(); }
  std::int64_t now_s() const { return std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count(); }
  // Socket Mode: whether run() returned (link_disabled, or shutdown).
  bool run_ended() const { return run_ended_; }
  adapters::slack::SlackAdapter& adapter() { return *adapter_; }

  // Sends raw bytes and reads one response (nullopt: no answer within 5 s).
  std::optional<TestResponse> send(const std::string& raw) {
    HttpTestConnection connection(server_->local_port());
    if (!connection.connected() || !connection.send(raw)) {
      return std::nullopt;
    }
    return connection.read_response();
  }
  std::optional<TestResponse> post_event(const nlohmann::json& body, const std::string& extra_headers = "") {
    return send(signed_slack_request("/slack/events", "application/json", body.dump(), kSigningSecret, now_s(),
                                     extra_headers));
  }
  std::optional<TestResponse> post_click(const nlohmann::json& payload) {
    return send(signed_slack_request("/slack/interactions", "application/x-www-form-urlencoded",
                                     "payload=" + form_value(payload.dump()), kSigningSecret, now_s()));
  }
  // Runs one coroutine on the io thread and waits for it.
  void run(std::function<boost::asio::awaitable<void>()> make) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    boost::asio::co_spawn(io_, make(), [done](std::exception_ptr) { done->set_value(); });
    finished.wait_for(std::chrono::seconds(30));
  }

 private:
  [[maybe_unused]] SlackStandIn& slack_;  // kept for the lifetime it promises; no call reads it yet
  std::shared_ptr<const Clock> clock_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<adapters::slack::SlackAdapter> adapter_;
  EchoSink sink_;
  boost::asio::cancellation_signal cancel_;
  std::atomic<bool> run_ended_{false};
  std::thread thread_;
  bool socket_mode_ = false;
};

}  // namespace opsgate::test
