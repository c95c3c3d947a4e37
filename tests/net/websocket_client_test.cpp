#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "src/net/websocket_client.hpp"
#include "tests/support/k8s_stand_in.hpp"
#include "tests/support/process.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace std::chrono_literals;
using asio::as_tuple;
using asio::use_awaitable;
using opsgate::Errc;
using opsgate::Result;
using opsgate::net::WebSocketClient;
using opsgate::net::WebSocketOptions;

// What the loopback server does with each accepted connection.
enum class Mode {
  echo,          // echoes text frames; "close:<code>" makes it close with that code
  silent_tcp,    // accepts TCP and never answers the upgrade
  mute,          // completes the upgrade, then never reads again (pings go unanswered)
  ping_counter,  // reads (so pings are answered) and says "pinged" after the second ping
};

// A Beast WebSocket server on 127.0.0.1:0 with its own io thread; plain or
// TLS (certificate for IP 127.0.0.1 from a test CA). Records the close code
// each client sent. Stopped (bounded) at destruction.
class LoopbackWsServer {
 public:
  explicit LoopbackWsServer(Mode mode, std::optional<opsgate::test::K8sPki> pki = std::nullopt)
      : mode_(mode), acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    if (pki) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(pki->cert_file);
      tls_->use_private_key_file(pki->key_file, asio::ssl::context::pem);
    }
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LoopbackWsServer() {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    io_.stop();
    thread_.join();
  }
  LoopbackWsServer(const LoopbackWsServer&) = delete;
  LoopbackWsServer& operator=(const LoopbackWsServer&) = delete;

  std::string url(const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "wss://" : "ws://") + host + ":" + std::to_string(acceptor_.local_endpoint().port()) +
           "/gw?v=10";
  }
  std::vector<int> close_codes() const {
    std::lock_guard lock(mutex_);
    return close_codes_;
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(as_tuple(use_awaitable));
      if (ec) {
        co_return;
      }
      if (mode_ == Mode::silent_tcp) {
        held_.push_back(std::make_shared<asio::ip::tcp::socket>(std::move(socket)));
        continue;
      }
      if (tls_) {
        auto ws = std::make_shared<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *tls_);
        asio::co_spawn(io_, serve_tls(ws), asio::detached);
      } else {
        auto ws = std::make_shared<websocket::stream<beast::tcp_stream>>(std::move(socket));
        asio::co_spawn(io_, serve(ws), asio::detached);
      }
    }
  }

  asio::awaitable<void> serve_tls(std::shared_ptr<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> ws) {
    auto [tec] = co_await ws->next_layer().async_handshake(asio::ssl::stream_base::server, as_tuple(use_awaitable));
    if (tec) {
      co_return;
    }
    co_await serve(ws);
  }

  template <class Stream>
  asio::awaitable<void> serve(std::shared_ptr<Stream> ws) {
    beast::http::request<beast::http::empty_body> upgrade;
    beast::flat_buffer buffer;
    auto [rec, n] = co_await beast::http::async_read(ws->next_layer(), buffer, upgrade, as_tuple(use_awaitable));
    (void)n;
    if (rec) {
      co_return;
    }
    {
      std::lock_guard lock(mutex_);
      targets_.emplace_back(upgrade.target());
    }
    auto [aec] = co_await ws->async_accept(upgrade, as_tuple(use_awaitable));
    if (aec) {
      co_return;
    }
    auto pings = std::make_shared<int>(0);
    if (mode_ == Mode::ping_counter) {
      ws->control_callback([pings](websocket::frame_type kind, beast::string_view) {
        if (kind == websocket::frame_type::ping) {
          ++*pings;
        }
      });
    }
    if (mode_ == Mode::mute) {
      mute_.push_back(ws);  // kept open, never read: pings are not answered
      co_return;
    }
    if (mode_ == Mode::ping_counter) {
      // A pending read makes Beast answer pings; the count is looked at every
      // 10 ms (at most 10 s) and "pinged" sent once two have come.
      asio::co_spawn(io_, drain(ws), asio::detached);
      for (int tick = 0; tick < 1000 && ws->is_open(); ++tick) {
        asio::steady_timer pause(io_, 10ms);
        auto [pec] = co_await pause.async_wait(as_tuple(use_awaitable));
        (void)pec;
        if (*pings >= 2) {
          ws->text(true);
          auto [wec, wn] = co_await ws->async_write(asio::buffer(std::string("pinged")), as_tuple(use_awaitable));
          (void)wec;
          (void)wn;
          co_return;
        }
      }
      co_return;
    }
    for (;;) {
      beast::flat_buffer frame;
      auto [ec, bytes] = co_await ws->async_read(frame, as_tuple(use_awaitable));
      (void)bytes;
      if (ec) {
        std::lock_guard lock(mutex_);
        close_codes_.push_back(ws->reason().code);
        co_return;
      }
      const std::string text = beast::buffers_to_string(frame.data());
      if (text.rfind("close:", 0) == 0) {
        const auto code = static_cast<std::uint16_t>(std::stoi(text.substr(6)));
        auto [cec] = co_await ws->async_close(websocket::close_reason(static_cast<websocket::close_code>(code), "bye"), as_tuple(use_awaitable));
        (void)cec;
        co_return;
      }
      ws->text(true);
      auto [wec, wn] = co_await ws->async_write(asio::buffer(text), as_tuple(use_awaitable));
      (void)wn;
      if (wec) {
        co_return;
      }
    }
  }

  template <class Stream>
  asio::awaitable<void> drain(std::shared_ptr<Stream> ws) {
    for (;;) {
      beast::flat_buffer frame;
      auto [ec, bytes] = co_await ws->async_read(frame, as_tuple(use_awaitable));
      (void)bytes;
      if (ec) {
        co_return;
      }
    }
  }

  Mode mode_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::optional<asio::ssl::context> tls_;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> held_;
  std::vector<std::shared_ptr<void>> mute_;
  mutable std::mutex mutex_;
  std::vector<int> close_codes_;
  std::vector<std::string> targets_;
  std::thread thread_;
};

// Runs `body` on a fresh io_context (the client's), bounded to 20 s.
template <class T>
T run_client(std::function<asio::awaitable<T>(asio::any_io_executor)> body) {
  asio::io_context io;
  std::promise<T> done;
  auto result = done.get_future();
  asio::co_spawn(io, body(io.get_executor()), [&done](std::exception_ptr e, T value) {
    if (e) {
      done.set_exception(e);
    } else {
      done.set_value(std::move(value));
    }
  });
  io.run_for(20s);
  REQUIRE(result.wait_for(0s) == std::future_status::ready);
  return result.get();
}

struct Outcome {
  bool connected = false;
  Errc connect_error = Errc::internal;
  std::string connect_message;
  std::vector<std::string> read;
  std::optional<opsgate::Error> read_error;
  int close_code = 0;
};

// Connects, sends each of `frames`, reads one answer per frame (or the error).
asio::awaitable<Outcome> exchange(asio::any_io_executor executor, std::string url, WebSocketOptions options,
                                  std::vector<std::string> frames, int reads) {
  Outcome out;
  WebSocketClient client(executor, options);
  auto connected = co_await client.connect(url);
  if (!connected) {
    out.connect_error = connected.error().code;
    out.connect_message = connected.error().message;
    co_return out;
  }
  out.connected = true;
  for (const auto& frame : frames) {
    auto written = co_await client.write(frame);
    if (!written) {
      out.read_error = written.error();
      co_return out;
    }
  }
  for (int i = 0; i < reads; ++i) {
    auto message = co_await client.read();
    if (!message) {
      out.read_error = message.error();
      out.close_code = client.close_code();
      co_return out;
    }
    out.read.push_back(*message);
  }
  co_await client.close(4000);
  co_return out;
}

Outcome talk(std::string url, WebSocketOptions options, std::vector<std::string> frames, int reads) {
  return run_client<Outcome>([=](asio::any_io_executor executor) { return exchange(executor, url, options, frames, reads); });
}

TEST_SUITE("net/websocket_client") {
  TEST_CASE("text frames go both ways and the client's close code reaches the server") {
    LoopbackWsServer server(Mode::echo);
    const auto out = talk(server.url(), {}, {"hello", "{\"op\":1}"}, 2);
    REQUIRE(out.connected);
    CHECK(out.read == std::vector<std::string>{"hello", "{\"op\":1}"});
    CHECK_FALSE(out.read_error);
    CHECK(server.targets() == std::vector<std::string>{"/gw?v=10"});
    // The server records the close after the client's handshake finished.
    for (int i = 0; i < 200 && server.close_codes().empty(); ++i) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(server.close_codes() == std::vector<int>{4000});
  }

  TEST_CASE("the server's close code and reason end the read and are kept") {
    LoopbackWsServer server(Mode::echo);
    const auto out = talk(server.url(), {}, {"close:4004"}, 1);
    REQUIRE(out.connected);
    REQUIRE(out.read_error);
    CHECK(out.read_error->code == Errc::unavailable);
    CHECK(out.read_error->message.find("4004") != std::string::npos);
    CHECK(out.read_error->message.find("bye") != std::string::npos);
    CHECK(out.close_code == 4004);
  }

  TEST_CASE("an idle peer is pinged, and its pongs keep the connection") {
    LoopbackWsServer server(Mode::ping_counter);
    WebSocketOptions options;
    options.idle_timeout = 200ms;  // a ping every 100 ms while idle
    const auto out = talk(server.url(), options, {}, 1);
    REQUIRE(out.connected);
    CHECK_FALSE(out.read_error);
    CHECK(out.read == std::vector<std::string>{"pinged"});
  }

  TEST_CASE("a server that stops answering (no pong) ends the read within the idle timeout") {
    LoopbackWsServer server(Mode::mute);
    WebSocketOptions options;
    options.idle_timeout = 200ms;
    const auto out = talk(server.url(), options, {}, 1);
    REQUIRE(out.connected);
    REQUIRE(out.read_error);
    CHECK(out.read_error->code == Errc::unavailable);
    CHECK(out.read_error->message.find("idle timeout") != std::string::npos);
  }

  TEST_CASE("a server that accepts TCP but never answers the upgrade is a timeout") {
    LoopbackWsServer server(Mode::silent_tcp);
    WebSocketOptions options;
    options.connect_timeout = 200ms;
    const auto out = talk(server.url(), options, {}, 0);
    CHECK_FALSE(out.connected);
    CHECK(out.connect_error == Errc::timeout);
    CHECK(out.connect_message.find("no answer within 200 ms") != std::string::npos);
  }

  TEST_CASE("wss: the test CA's certificate for 127.0.0.1 is accepted, an unknown CA or another name is refused") {
    opsgate::test::TempDir dir;
    const auto pki = opsgate::test::make_k8s_pki(dir.path());
    LoopbackWsServer server(Mode::echo, pki);
    WebSocketOptions trusted;
    trusted.ca_file = pki.ca_file;
    const auto ok = talk(server.url(), trusted, {"over tls"}, 1);
    REQUIRE(ok.connected);
    CHECK(ok.read == std::vector<std::string>{"over tls"});

    const auto unknown_ca = talk(server.url(), {}, {}, 0);  // the system's CAs do not know the test CA
    CHECK_FALSE(unknown_ca.connected);
    CHECK(unknown_ca.connect_error == Errc::unavailable);
    CHECK(unknown_ca.connect_message.find("TLS handshake") != std::string::npos);

    const auto wrong_name = talk(server.url("localhost"), trusted, {}, 0);  // the certificate names 127.0.0.1 only
    CHECK_FALSE(wrong_name.connected);
    CHECK(wrong_name.connect_error == Errc::unavailable);
  }

  TEST_CASE("plain ws:// only to loopback, no userinfo, only ws and wss") {
    using opsgate::net::parse_websocket_url;
    CHECK(parse_websocket_url("ws://127.0.0.1:9/gw"));
    CHECK(parse_websocket_url("ws://localhost/"));
    const auto v6 = parse_websocket_url("ws://[::1]:9090/x?y=1");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->host_header == "[::1]:9090");
    CHECK(v6->target == "/x?y=1");
    const auto wss = parse_websocket_url("wss://gateway.discord.gg?v=10&encoding=json");
    REQUIRE(wss);
    CHECK(wss->port == "443");
    CHECK(wss->host_header == "gateway.discord.gg");
    CHECK(wss->target == "/?v=10&encoding=json");
    for (const char* bad : {"ws://localhost.evil.com/", "ws://127.0.0.1.nip.io/", "ws://localhost@evil.com/",
                            "wss://user:pw@gateway.discord.gg/", "https://gateway.discord.gg/", "ws:///nohost",
                            "gateway.discord.gg", "ws://[::1/"}) {
      const std::string shown = bad;
      CAPTURE(shown);
      const auto refused = parse_websocket_url(bad);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == Errc::invalid_input);
    }
    // Refused before any connection is tried.
    const auto out = talk("ws://localhost.evil.com:1/", {}, {}, 0);
    CHECK_FALSE(out.connected);
    CHECK(out.connect_error == Errc::invalid_input);
    CHECK(out.connect_message.find("loopback") != std::string::npos);
  }
}

}  // namespace
