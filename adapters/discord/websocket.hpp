#pragma once
// A minimal WebSocket client for the Discord gateway: wss:// (TLS with
// certificate and host name checks) or ws:// (loopback tests). Beast lives
// in websocket.cpp only. One reader and one writer may be in flight at once;
// owned by the gateway loop, used from its executor.

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"

namespace opsgate::adapters::discord {

struct WebSocketRead {
  bool ok = false;
  std::string text;    // the message, when ok
  int close_code = 0;  // the peer's close code, when it closed the connection
  std::string error;   // what went wrong otherwise
};

class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  virtual boost::asio::awaitable<WebSocketRead> read() = 0;
  virtual boost::asio::awaitable<Result<void>> write(std::string text) = 0;
  virtual boost::asio::awaitable<void> close(int code) = 0;  // errors ignored: the connection goes anyway
};

struct WebSocketOptions {
  std::string ca_file;  // empty: the system's CA bundle
  bool verify_tls = true;
  std::chrono::milliseconds connect_timeout{10000};  // TCP, TLS and WebSocket handshakes together
  std::size_t max_message_bytes = 4 * 1024 * 1024;
};

// `url` is ws://host[:port][/path][?query] or wss://...
boost::asio::awaitable<Result<std::unique_ptr<WebSocketConnection>>> connect_websocket(std::string url,
                                                                                     WebSocketOptions options);

}  // namespace opsgate::adapters::discord
