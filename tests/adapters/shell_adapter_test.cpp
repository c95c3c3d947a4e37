#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

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

}  // namespace

TEST_SUITE("adapters/shell") {
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
