#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/shell/shell_adapter.hpp"

namespace asio = boost::asio;
using opsgate::OutboundMessage;
using opsgate::adapters::shell::make_shell_adapter;
using opsgate::adapters::shell::ShellConfig;

namespace {

// What the shell adapter writes for one message, read back from a pipe.
std::string rendered(OutboundMessage message) {
  int out[2];
  int in[2];
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::pipe(in) == 0);
  asio::io_context io;
  ShellConfig config;
  config.enabled = true;
  config.user = "alice";
  auto adapter = make_shell_adapter(config, io.get_executor(), in[0], out[1]);
  bool sent = false;
  asio::co_spawn(io, adapter->send(std::move(message)), [&](std::exception_ptr e) { sent = !e; });
  io.run();
  REQUIRE(sent);
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n = 0; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  ::close(in[0]);
  ::close(in[1]);
  return text;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

// A pipeline stand-in that lets every message go at once (hands off before
// doing anything) and answers them last first: the reply to message k waits
// until message k+1's reply is out, and the last one answers as soon as it
// arrives. Replies on the platform must still come out in input order.
class ReversingSink final : public opsgate::EventSink {
 public:
  ReversingSink(asio::io_context& io, std::size_t total) : io_(io), total_(total) {}
  opsgate::Adapter* adapter = nullptr;
  std::size_t most_in_flight = 0;

  asio::awaitable<void> on_event(opsgate::ChatEvent) override { co_return; }

  asio::awaitable<void> on_event_pipelined(opsgate::ChatEvent event, std::function<void()> handed_off) override {
    handed_off();
    const std::size_t number = std::stoul(event.message_id);
    ++in_flight_;
    most_in_flight = std::max(most_in_flight, in_flight_);
    if (number < total_) {
      auto& timer = gates_[number];
      timer = std::make_unique<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
      auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // cancelled: this one's turn
    }
    opsgate::OutboundMessage reply;
    reply.reply_to = event.message_id;
    reply.text = "answer to " + event.text;
    co_await adapter->send(std::move(reply));
    --in_flight_;
    if (number > 1) {
      gates_.at(number - 1)->cancel();
    }
  }

 private:
  asio::io_context& io_;
  std::size_t total_;
  std::size_t in_flight_ = 0;
  std::map<std::size_t, std::unique_ptr<asio::steady_timer>> gates_;
};

}  // namespace

TEST_SUITE("adapters/shell") {
  TEST_CASE("piped replies come out in input order even when the pipeline answers them last first") {
    int out[2];
    int in[2];
    REQUIRE(::pipe(out) == 0);
    REQUIRE(::pipe(in) == 0);
    constexpr std::size_t kMessages = 40;
    std::string input;
    std::string expected;
    for (std::size_t i = 1; i <= kMessages; ++i) {
      input += "m" + std::to_string(i) + "\n";
      expected += "answer to m" + std::to_string(i) + "\n";
    }
    REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
    ::close(in[1]);
    asio::io_context io;
    ShellConfig config;
    config.enabled = true;
    auto adapter = make_shell_adapter(config, io.get_executor(), in[0], out[1]);
    ReversingSink sink(io, kMessages);
    sink.adapter = adapter.get();
    bool finished = false;
    asio::co_spawn(io, adapter->run(sink), [&](std::exception_ptr e) { finished = !e; });
    io.run();
    REQUIRE(finished);
    CHECK(sink.most_in_flight == kMessages);  // all were in flight at once: the order was the adapter's to keep
    ::close(out[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n = 0; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) {
      text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    ::close(in[0]);
    CHECK(text == expected);
  }

  TEST_CASE("a suggestion the text already lists is printed once, others as arrow lines") {
    OutboundMessage message;
    message.text =
        "checkout in prod: error rate went up\nSuggested next steps (they ask for approval like any request):\n"
        "• roll back checkout: `!rollback checkout prod`";
    message.suggestions.push_back({"roll back checkout", "!rollback checkout prod"});
    message.suggestions.push_back({"show the errors", "!logs checkout prod level=error"});
    const std::string out = rendered(message);
    INFO(out);
    CHECK(count(out, "!rollback checkout prod") == 1);
    CHECK(count(out, "→ show the errors: `!logs checkout prod level=error`") == 1);
  }

  TEST_CASE("an approval request says how to approve and deny") {
    OutboundMessage message;
    message.text = "🔐 restart cart in prod — needs approval";
    message.approval_id = "7kq2m";
    const std::string out = rendered(message);
    CHECK(out.find("approve with `approve 7kq2m`, deny with `deny 7kq2m <reason>`") != std::string::npos);
  }
}
