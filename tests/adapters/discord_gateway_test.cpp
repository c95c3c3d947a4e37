#include <doctest/doctest.h>

#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/discord/discord_rest.hpp"
#include "adapters/discord/gateway.hpp"
#include "tests/adapters/discord_stand_in.hpp"

namespace asio = boost::asio;
using nlohmann::json;
using namespace opsgate;
using namespace opsgate::adapters::discord;
using opsgate::test::DiscordStandIn;
using opsgate::test::GatewayPeer;
using opsgate::test::RestCall;

namespace {

constexpr const char* kBotUser = "999000000000000001";

// run_gateway on its own thread against the stand-in; cancelled in the destructor.
struct Gateway {
  DiscordStandIn& discord;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  net::HttpClient http;
  DiscordRest rest;
  asio::cancellation_signal cancel;
  std::mutex mutex;
  std::vector<ChatEvent> messages;
  std::vector<std::pair<bool, std::string>> statuses;
  std::vector<std::chrono::milliseconds> pauses;  // asked between connections
  bool finished = false;
  std::thread thread;

  explicit Gateway(DiscordStandIn& d, bool ask_for_url = false) : discord(d), rest(http, options_for(d)) {
    GatewayOptions options;
    options.bot_token = Secret("bot-token-for-tests", "test");
    options.url = ask_for_url ? "" : discord.gateway_url();
    options.intents = 1 | 512 | 4096 | 32768;
    options.reconnect_delay = std::chrono::milliseconds(10);
    options.random = [] { return 0.5; };
    options.pause = [this](std::chrono::milliseconds pause) { return record_pause(this, pause); };
    GatewayHooks hooks;
    hooks.on_message = [this](ChatEvent event) {
      std::lock_guard lock(mutex);
      messages.push_back(std::move(event));
    };
    hooks.on_status = [this](bool ok, std::string detail) {
      std::lock_guard lock(mutex);
      statuses.emplace_back(ok, std::move(detail));
    };
    asio::co_spawn(io, run_gateway(options, rest, hooks), asio::bind_cancellation_slot(cancel.slot(), [this](std::exception_ptr) {
                     std::lock_guard lock(mutex);
                     finished = true;
                   }));
    thread = std::thread([this] { io.run(); });
  }

  ~Gateway() {
    asio::post(io, [this] { cancel.emit(asio::cancellation_type::terminal); });
    for (int i = 0; i < 100 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    work.reset();
    io.stop();
    thread.join();
  }

  // Records the pause the gateway asked for and waits at most 20 ms of it.
  static asio::awaitable<void> record_pause(Gateway* self, std::chrono::milliseconds pause) {
    {
      std::lock_guard lock(self->mutex);
      self->pauses.push_back(pause);
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, std::min(pause, std::chrono::milliseconds(20)));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  std::vector<std::chrono::milliseconds> seen_pauses() {
    std::lock_guard lock(mutex);
    return pauses;
  }

  static DiscordRestOptions options_for(const DiscordStandIn& d) {
    DiscordRestOptions o;
    o.api_base = d.api_base();
    o.bot_token = Secret("bot-token-for-tests", "test");
    return o;
  }

  bool done() {
    std::lock_guard lock(mutex);
    return finished;
  }
  std::vector<std::pair<bool, std::string>> seen_statuses() {
    std::lock_guard lock(mutex);
    return statuses;
  }
  bool wait_for_message(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    for (auto waited = std::chrono::milliseconds(0); waited < limit; waited += std::chrono::milliseconds(10)) {
      {
        std::lock_guard lock(mutex);
        if (!messages.empty()) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

// The next frame with this op, answering heartbeats with ACKs on the way when `ack`.
std::optional<json> next_op(GatewayPeer& peer, int op, bool ack = true) {
  for (int i = 0; i < 50; ++i) {
    auto frame = peer.receive();
    if (!frame) {
      return std::nullopt;
    }
    if ((*frame)["op"] == 1 && ack && op != 1) {
      peer.send(json{{"op", 11}});
    }
    if ((*frame)["op"] == op) {
      return frame;
    }
  }
  return std::nullopt;
}

void hello(GatewayPeer& peer, int interval_ms) { peer.send(json{{"op", 10}, {"d", {{"heartbeat_interval", interval_ms}}}, {"s", nullptr}, {"t", nullptr}}); }

void ready(GatewayPeer& peer, const DiscordStandIn& discord, int seq) {
  peer.send(json{{"op", 0},
                 {"t", "READY"},
                 {"s", seq},
                 {"d", {{"session_id", "session-1"}, {"resume_gateway_url", discord.gateway_url() + "-resume"}, {"user", {{"id", kBotUser}}}}}});
}

}  // namespace

TEST_SUITE("adapters/discord/gateway") {
  TEST_CASE("Hello, Identify with the configured intents, heartbeats with the last sequence, mentions become events") {
    DiscordStandIn discord;
    Gateway gateway(discord, true);  // the URL comes from GET /gateway/bot
    auto peer = discord.accept_gateway();
    REQUIRE(peer);
    CHECK(peer->target().find("v=10&encoding=json") != std::string::npos);
    hello(*peer, 100);
    const auto identify = next_op(*peer, 2);
    REQUIRE(identify);
    CHECK((*identify)["d"]["intents"] == 37377);
    CHECK((*identify)["d"]["token"] == "bot-token-for-tests");
    ready(*peer, discord, 1);
    peer->send(json{{"op", 0},
                    {"t", "MESSAGE_CREATE"},
                    {"s", 2},
                    {"d", {{"id", "5"}, {"channel_id", "7"}, {"guild_id", "8"}, {"content", std::string("<@") + kBotUser + "> status cart"},
                           {"author", {{"id", "42"}, {"username", "alice"}}}, {"mentions", {{{"id", kBotUser}}}}}}});
    // Heartbeats arrive on their own and carry the last sequence seen.
    bool saw_seq_2 = false;
    for (int i = 0; i < 20 && !saw_seq_2; ++i) {
      const auto beat = next_op(*peer, 1, false);
      REQUIRE(beat);
      peer->send(json{{"op", 11}});
      saw_seq_2 = (*beat)["d"] == 2;
    }
    CHECK(saw_seq_2);
    REQUIRE(gateway.wait_for_message());
    CHECK(gateway.messages[0].text == "status cart");
    CHECK(gateway.messages[0].principal.id == "discord:42");
    // A heartbeat request (op 1) is answered at once.
    peer->send(json{{"op", 1}, {"d", nullptr}});
    CHECK(next_op(*peer, 1, false));
    const auto statuses = gateway.seen_statuses();
    REQUIRE_FALSE(statuses.empty());
    CHECK(statuses.back().first);
  }

  TEST_CASE("no ACK between two heartbeats: the zombie connection is closed (not 1000/1001) and resumed") {
    DiscordStandIn discord;
    Gateway gateway(discord);
    auto first = discord.accept_gateway();
    REQUIRE(first);
    hello(*first, 100);
    REQUIRE(next_op(*first, 2));
    ready(*first, discord, 7);
    // Never ACK: the client must give up on this connection.
    const int code = first->client_close_code(std::chrono::seconds(5));
    CHECK(code != 1000);
    CHECK(code != 1001);
    CHECK(code == 4000);
    auto second = discord.accept_gateway();
    REQUIRE(second);
    CHECK(second->target().rfind("/gw-resume", 0) == 0);  // resume_gateway_url
    hello(*second, 1000);
    const auto resume = next_op(*second, 6);
    REQUIRE(resume);
    CHECK((*resume)["d"]["session_id"] == "session-1");
    CHECK((*resume)["d"]["seq"] == 7);
  }

  TEST_CASE("op 7 resumes, invalid session (op 9, false) identifies again, a non-fatal close reconnects") {
    DiscordStandIn discord;
    Gateway gateway(discord);
    auto first = discord.accept_gateway();
    REQUIRE(first);
    hello(*first, 1000);
    REQUIRE(next_op(*first, 2));
    ready(*first, discord, 3);
    first->send(json{{"op", 7}, {"d", nullptr}});
    auto second = discord.accept_gateway();
    REQUIRE(second);
    hello(*second, 1000);
    const auto resume = next_op(*second, 6);
    REQUIRE(resume);
    CHECK((*resume)["d"]["seq"] == 3);
    second->send(json{{"op", 9}, {"d", false}});
    auto third = discord.accept_gateway();
    REQUIRE(third);
    hello(*third, 1000);
    const auto identify = third->receive();
    REQUIRE(identify);
    CHECK((*identify)["op"] == 2);  // a new session, not a resume
    ready(*third, discord, 1);
    third->close(4000);  // unknown error: reconnect and resume
    auto fourth = discord.accept_gateway();
    REQUIRE(fourth);
    hello(*fourth, 1000);
    CHECK(next_op(*fourth, 6));
  }

  TEST_CASE("op 9 waits a random 1-5 s before identifying, a resume skips GET /gateway/bot and uses resume_gateway_url") {
    DiscordStandIn discord;
    Gateway gateway(discord, true);  // the URL of a new session comes from GET /gateway/bot
    const auto gateway_bot_calls = [&discord] {
      const auto calls = discord.calls();
      return std::count_if(calls.begin(), calls.end(),
                           [](const RestCall& c) { return c.method == "GET" && c.path.rfind("/gateway/bot", 0) == 0; });
    };
    auto first = discord.accept_gateway();
    REQUIRE(first);
    hello(*first, 1000);
    REQUIRE(next_op(*first, 2));
    ready(*first, discord, 3);
    CHECK(gateway_bot_calls() == 1);

    first->send(json{{"op", 7}, {"d", nullptr}});
    auto second = discord.accept_gateway();
    REQUIRE(second);
    CHECK(second->target().rfind("/gw-resume", 0) == 0);
    hello(*second, 1000);
    REQUIRE(next_op(*second, 6));
    CHECK(gateway_bot_calls() == 1);  // nothing asked before the resume

    second->send(json{{"op", 9}, {"d", false}});
    auto third = discord.accept_gateway();
    REQUIRE(third);
    CHECK(third->target().rfind("/gw?", 0) == 0);  // a new session: the URL from GET /gateway/bot
    hello(*third, 1000);
    const auto identify = third->receive();
    REQUIRE(identify);
    CHECK((*identify)["op"] == 2);
    const auto pauses = gateway.seen_pauses();
    REQUIRE(pauses.size() == 2);
    CHECK(pauses[0] < std::chrono::milliseconds(1000));   // op 7: the usual short backoff
    CHECK(pauses[1] == std::chrono::milliseconds(3000));  // op 9: 1 s + 0.5 × 4 s
    CHECK(invalid_session_pause(0.0) == std::chrono::milliseconds(1000));
    CHECK(invalid_session_pause(0.9999) <= std::chrono::milliseconds(5000));
  }

  TEST_CASE("a fatal close code (4014) stops the gateway, says why, and does not reconnect") {
    DiscordStandIn discord;
    Gateway gateway(discord);
    auto peer = discord.accept_gateway();
    REQUIRE(peer);
    hello(*peer, 1000);
    REQUIRE(next_op(*peer, 2));
    peer->close(4014);
    // The positive signal first: the gateway's run returned. Any reconnection
    // would have happened before that, and would be queued at the stand-in.
    for (int i = 0; i < 2000 && !gateway.done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(gateway.done());
    CHECK(discord.accept_gateway(std::chrono::milliseconds(0)) == nullptr);
    const auto statuses = gateway.seen_statuses();
    REQUIRE_FALSE(statuses.empty());
    CHECK_FALSE(statuses.back().first);
    CHECK(statuses.back().second.find("MESSAGE_CONTENT") != std::string::npos);
    CHECK(statuses.back().second.find("not reconnecting") != std::string::npos);
  }
}
