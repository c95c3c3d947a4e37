// The Discord gateway's WebSocket transport: the adapters' only Beast TU.
#include "adapters/discord/websocket.hpp"

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace opsgate::adapters::discord {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

std::optional<ParsedUrl> parse_ws_url(const std::string& url) {
  ParsedUrl out;
  std::string rest;
  if (url.rfind("wss://", 0) == 0) {
    out.tls = true;
    rest = url.substr(6);
  } else if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (out.target.front() == '?') {
    out.target = "/" + out.target;
  }
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = out.tls ? "443" : "80";
  }
  if (out.host.empty() || out.port.empty()) {
    return std::nullopt;
  }
  return out;
}

template <class Stream>
class BeastConnection final : public WebSocketConnection {
 public:
  template <class... Args>
  explicit BeastConnection(std::unique_ptr<asio::ssl::context> tls, Args&&... args)
      : tls_(std::move(tls)), ws_(std::forward<Args>(args)...) {}

  websocket::stream<Stream>& ws() { return ws_; }

  asio::awaitable<WebSocketRead> read() override {
    beast::flat_buffer buffer;
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec, n] = co_await ws_.async_read(buffer, token);
    WebSocketRead result;
    if (ec == websocket::error::closed) {
      result.close_code = ws_.reason().code;
      result.error = "closed by the server (" + std::to_string(result.close_code) + " " + std::string(ws_.reason().reason.data(), ws_.reason().reason.size()) + ")";
      co_return result;
    }
    if (ec) {
      result.error = ec.message();
      co_return result;
    }
    result.ok = true;
    result.text = beast::buffers_to_string(buffer.data());
    co_return result;
  }

  asio::awaitable<Result<void>> write(std::string text) override {
    ws_.text(true);
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text), token);
    if (ec) {
      co_return fail(Errc::unavailable, "gateway write failed: " + ec.message());
    }
    co_return Result<void>{};
  }

  asio::awaitable<void> close(int code) override {
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec] = co_await ws_.async_close(websocket::close_reason(static_cast<std::uint16_t>(code)), token);
    (void)ec;
  }

 private:
  std::unique_ptr<asio::ssl::context> tls_;  // outlives the stream that uses it
  websocket::stream<Stream> ws_;
};

}  // namespace

asio::awaitable<Result<std::unique_ptr<WebSocketConnection>>> connect_websocket(std::string url, WebSocketOptions options) {
  const auto parsed = parse_ws_url(url);
  if (!parsed) {
    co_return fail(Errc::invalid_input, "not a ws:// or wss:// URL: " + url.substr(0, url.find('?')));
  }
  const std::string where = (parsed->tls ? "wss://" : "ws://") + parsed->host + ":" + parsed->port;
  const auto executor = co_await asio::this_coro::executor;
  auto token = asio::as_tuple(asio::use_awaitable);
  tcp::resolver resolver(executor);
  const std::string host = parsed->host;
  const std::string port = parsed->port;
  auto [rec, endpoints] = co_await resolver.async_resolve(host, port, token);
  if (rec) {
    co_return fail(Errc::unavailable, "cannot resolve " + where + ": " + rec.message());
  }
  const std::string host_header = (port == "443" || port == "80") ? host : host + ":" + port;
  const std::string target = parsed->target;
  websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
  timeouts.handshake_timeout = options.connect_timeout;

  if (!parsed->tls) {
    auto connection = std::make_unique<BeastConnection<beast::tcp_stream>>(nullptr, executor);
    auto& ws = connection->ws();
    beast::get_lowest_layer(ws).expires_after(options.connect_timeout);
    auto [cec, ep] = co_await beast::get_lowest_layer(ws).async_connect(endpoints, token);
    if (cec) {
      co_return fail(Errc::unavailable, "cannot connect to " + where + ": " + cec.message());
    }
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(timeouts);
    ws.read_message_max(options.max_message_bytes);
    auto [hec] = co_await ws.async_handshake(host_header, target, token);
    if (hec) {
      co_return fail(Errc::unavailable, "WebSocket handshake with " + where + " failed: " + hec.message());
    }
    co_return std::unique_ptr<WebSocketConnection>(std::move(connection));
  }

  auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ctx_ec;
  if (options.ca_file.empty()) {
    tls->set_default_verify_paths(ctx_ec);
  } else {
    tls->load_verify_file(options.ca_file, ctx_ec);
  }
  if (ctx_ec) {
    co_return fail(Errc::unavailable, "cannot load CA certificates" +
                                          (options.ca_file.empty() ? std::string() : " from " + options.ca_file) + ": " +
                                          ctx_ec.message());
  }
  tls->set_verify_mode(options.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
  auto& context = *tls;
  auto connection = std::make_unique<BeastConnection<beast::ssl_stream<beast::tcp_stream>>>(std::move(tls), executor, context);
  auto& ws = connection->ws();
  auto& ssl = ws.next_layer();
  if (SSL_set_tlsext_host_name(ssl.native_handle(), host.c_str()) != 1) {
    co_return fail(Errc::unavailable, "cannot set TLS server name for " + where);
  }
  if (options.verify_tls) {
    ssl.set_verify_callback(asio::ssl::host_name_verification(host));
  }
  beast::get_lowest_layer(ws).expires_after(options.connect_timeout);
  auto [cec, ep] = co_await beast::get_lowest_layer(ws).async_connect(endpoints, token);
  if (cec) {
    co_return fail(Errc::unavailable, "cannot connect to " + where + ": " + cec.message());
  }
  auto [sec] = co_await ssl.async_handshake(asio::ssl::stream_base::client, token);
  if (sec) {
    co_return fail(Errc::unavailable, "TLS handshake with " + where + " failed: " + sec.message());
  }
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(timeouts);
  ws.read_message_max(options.max_message_bytes);
  auto [hec] = co_await ws.async_handshake(host_header, target, token);
  if (hec) {
    co_return fail(Errc::unavailable, "WebSocket handshake with " + where + " failed: " + hec.message());
  }
  co_return std::unique_ptr<WebSocketConnection>(std::move(connection));
}

}  // namespace opsgate::adapters::discord
