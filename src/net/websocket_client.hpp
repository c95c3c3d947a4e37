#pragma once
// A WebSocket client (RFC 6455) for chat platforms' outbound connections
// (Slack Socket Mode, Discord's gateway): wss:// over TLS with certificate
// and host name verification, ws:// for loopback tests. Beast lives only in
// websocket_client.cpp. A watchdog pings when the peer is idle and fails the
// read when nothing (not even a pong) comes back within idle_timeout.
// Owned by one coroutine; one read and one write may be outstanding at a
// time (callers serialise their writes), on the executor given.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"

namespace boost::asio::ssl {
class context;
}

namespace opsgate::net {

struct WebSocketOptions {
  std::chrono::milliseconds connect_timeout{10000};  // TCP + TLS + upgrade
  std::chrono::milliseconds idle_timeout{30000};     // a ping at half of it; no answer by then: closed
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CA bundle
};

class WebSocketClientImpl;

class WebSocketClient {
 public:
  WebSocketClient(boost::asio::any_io_executor executor, WebSocketOptions options = {});
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // ws://host:port/path or wss://host[:port]/path?query. Errors:
  // Errc::invalid_input (bad URL), Errc::unavailable (DNS, TCP, TLS, upgrade refused),
  // Errc::timeout.
  boost::asio::awaitable<Result<void>> connect(std::string url);
  // The next text or binary message. Errc::unavailable when the peer closed
  // (message says why) or the watchdog gave up.
  boost::asio::awaitable<Result<std::string>> read();
  boost::asio::awaitable<Result<void>> write(std::string text);
  // A close handshake, bounded by connect_timeout; then the socket is gone.
  boost::asio::awaitable<void> close();
  bool is_open() const;
  // Closes the socket at once (no handshake): a pending read or write fails.
  // For shutdown; same executor as the other calls.
  void cancel();

 private:
  boost::asio::any_io_executor executor_;
  WebSocketOptions options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<WebSocketClientImpl> impl_;
};

}  // namespace opsgate::net
