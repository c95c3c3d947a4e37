#pragma once
// The one WebSocket client (RFC 6455) for chat platforms' outbound
// connections (Slack Socket Mode, Discord's gateway): wss:// over TLS with
// certificate and host name verification; plain ws:// only to a loopback host
// (the outbound URL rule, outbound_url.hpp: tokens travel on these
// connections). Beast lives only in websocket_client.cpp. A watchdog pings
// when the peer is idle and fails the read when nothing (not even a pong)
// comes back within idle_timeout.
// Owned by one coroutine; one read and one write may be outstanding at a
// time (callers serialise their writes), on the executor given.

#include <chrono>
#include <cstddef>
#include <cstdint>
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
  std::chrono::milliseconds connect_timeout{10000};  // TCP + TLS + upgrade; also bounds the close handshake
  std::chrono::milliseconds idle_timeout{30000};     // a ping at half of it; no answer by then: closed. 0: none
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CA bundle
};

// Where a ws:// or wss:// URL leads, as the client connects to it.
struct WebSocketTarget {
  bool tls = false;
  std::string host;         // without IPv6 brackets
  std::string port;         // "443"/"80" when the URL names none
  std::string host_header;  // host[:port] as sent in Host (brackets for IPv6; the port only when not the default)
  std::string target;       // path and query, at least "/"
};

// Parses `url` (boost::url) and applies the rule: ws:// or wss://, no
// userinfo, plain ws:// only to a loopback host. invalid_input says what is
// wrong without quoting the URL (its query may hold a ticket).
Result<WebSocketTarget> parse_websocket_url(std::string_view url);

class WebSocketClientImpl;

class WebSocketClient {
 public:
  WebSocketClient(boost::asio::any_io_executor executor, WebSocketOptions options = {});
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // ws://host:port/path or wss://host[:port]/path?query. Errors:
  // Errc::invalid_input (bad URL, or the rule above), Errc::unavailable (DNS,
  // TCP, TLS, upgrade refused), Errc::timeout.
  boost::asio::awaitable<Result<void>> connect(std::string url);
  // The next text or binary message. Errc::unavailable when the peer closed
  // (message says why; close_code() tells the code) or the watchdog gave up.
  boost::asio::awaitable<Result<std::string>> read();
  boost::asio::awaitable<Result<void>> write(std::string text);
  // A close handshake with `code`, bounded by connect_timeout; then the socket is gone.
  boost::asio::awaitable<void> close(std::uint16_t code = 1000);
  bool is_open() const;
  // The code of the peer's close frame once a read failed because the peer
  // closed; 0 before that, or when the connection ended without one.
  int close_code() const;
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
