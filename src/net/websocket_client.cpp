#include "src/net/websocket_client.hpp"

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "src/net/outbound_url.hpp"

namespace opsgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

std::string describe(const beast::error_code& ec) {
  if (ec == websocket::error::closed) {
    return "the server closed the connection";
  }
  if (ec == asio::error::operation_aborted) {
    return "cancelled";
  }
  if (ec == beast::error::timeout) {
    return "no data or pong within the idle timeout";
  }
  return ec.message();
}

Error upgrade_failed(const beast::error_code& ec, const std::string& where, std::chrono::milliseconds limit) {
  if (ec == beast::error::timeout) {
    return Error{Errc::timeout, "websocket upgrade at " + where + ": no answer within " +
                                    std::to_string(limit.count()) + " ms"};
  }
  return Error{Errc::unavailable, "websocket upgrade at " + where + " failed: " + describe(ec)};
}

}  // namespace

// One connection of either kind; the virtual interface keeps the two Beast
// stream types out of the header.
class WebSocketClientImpl {
 public:
  virtual ~WebSocketClientImpl() = default;
  virtual asio::awaitable<Result<std::string>> read() = 0;
  virtual asio::awaitable<Result<void>> write(std::string text) = 0;
  virtual asio::awaitable<void> close(std::uint16_t code) = 0;
  virtual bool is_open() const = 0;
  virtual int close_code() const = 0;
  virtual void cancel() = 0;
};

namespace {

template <class Stream>
class Connection final : public WebSocketClientImpl {
 public:
  template <class... Args>
  explicit Connection(WebSocketOptions options, Args&&... args)
      : options_(std::move(options)), ws_(std::forward<Args>(args)...) {}

  Stream& ws() { return ws_; }

  void configure() {
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = options_.connect_timeout;
    if (options_.idle_timeout.count() > 0) {
      timeout.idle_timeout = options_.idle_timeout;
      timeout.keep_alive_pings = true;
    } else {
      timeout.idle_timeout = websocket::stream_base::none();
      timeout.keep_alive_pings = false;
    }
    ws_.set_option(timeout);
    ws_.read_message_max(options_.max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& request) { request.set(beast::http::field::user_agent, "opsgate/0.1"); }));
  }

  // The TCP connect, within connect_timeout (which goes on bounding a TLS handshake).
  asio::awaitable<Result<void>> connect_tcp(asio::ip::tcp::resolver::results_type endpoints, std::string where) {
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_after(options_.connect_timeout);
    auto [ec, endpoint] = co_await lowest.async_connect(endpoints, as_tuple(use_awaitable));
    (void)endpoint;
    if (ec) {
      co_return fail(ec == beast::error::timeout ? Errc::timeout : Errc::unavailable,
                     "cannot connect to " + where + ": " + ec.message());
    }
    co_return Result<void>{};
  }

  // The WebSocket upgrade; from here on the stream's own timeouts apply.
  asio::awaitable<Result<void>> upgrade(std::string host_header, std::string target, std::string where) {
    beast::get_lowest_layer(ws_).expires_never();
    configure();
    auto [ec] = co_await ws_.async_handshake(host_header, target, as_tuple(use_awaitable));
    if (ec) {
      co_return tl::unexpected(upgrade_failed(ec, where, options_.connect_timeout));
    }
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::string>> read() override {
    beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_.async_read(buffer, as_tuple(use_awaitable));
    if (ec == websocket::error::closed) {
      const auto& reason = ws_.reason();
      close_code_ = reason.code;
      std::string why = "the server closed the connection (" + std::to_string(reason.code);
      if (!reason.reason.empty()) {
        why += " " + std::string(reason.reason.data(), std::min<std::size_t>(reason.reason.size(), 123));
      }
      co_return fail(Errc::unavailable, "websocket read: " + why + ")");
    }
    if (ec) {
      co_return fail(Errc::unavailable, "websocket read: " + describe(ec));
    }
    (void)n;
    co_return beast::buffers_to_string(buffer.data());
  }

  asio::awaitable<Result<void>> write(std::string text) override {
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text), as_tuple(use_awaitable));
    (void)n;
    if (ec) {
      co_return fail(Errc::unavailable, "websocket write: " + describe(ec));
    }
    co_return Result<void>{};
  }

  asio::awaitable<void> close(std::uint16_t code) override {
    if (!ws_.is_open()) {
      cancel();
      co_return;
    }
    // The stream's handshake timeout (connect_timeout) bounds the close handshake.
    auto [ec] = co_await ws_.async_close(websocket::close_reason(code), as_tuple(use_awaitable));
    (void)ec;
    cancel();
  }

  bool is_open() const override { return ws_.is_open(); }
  int close_code() const override { return close_code_; }

  void cancel() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  WebSocketOptions options_;
  Stream ws_;
  int close_code_ = 0;
};

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

WebSocketClient::WebSocketClient(asio::any_io_executor executor, WebSocketOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

WebSocketClient::~WebSocketClient() = default;

Result<WebSocketTarget> parse_websocket_url(std::string_view url) {
  // NUL-terminated copy: Debian's Boost.URL 1.81 runs strlen over its argument
  // (see decode_form in url_encoding.cpp); everything read below is copied out.
  const std::string terminated(url);
  const auto parsed = boost::urls::parse_uri(terminated);
  if (!parsed) {
    return fail(Errc::invalid_input, "not a valid URL (" + parsed.error().message() + "); expected wss://host/path");
  }
  const boost::urls::url_view& u = *parsed;
  // Boost.URL 1.81 reads "ws://127.0.0.1.nip.io/" as host 127.0.0.1 and path
  // ".nip.io/" (a path after an authority must start with '/'): refused.
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') {
    return fail(Errc::invalid_input, "the URL's host is not a valid name or address; expected wss://host/path");
  }
  WebSocketTarget out;
  const std::string scheme(u.scheme());
  if (u.scheme_id() == boost::urls::scheme::wss) {
    out.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::ws) {
    return fail(Errc::invalid_input, "unsupported scheme '" + scheme.substr(0, 16) + "': expected wss://host/path");
  }
  if (u.has_userinfo()) {
    return fail(Errc::invalid_input, "a WebSocket URL with user:password@ is not supported: remove the userinfo");
  }
  out.host = u.host_address();
  if (out.host.empty()) {
    return fail(Errc::invalid_input, "the URL has no host; expected wss://host/path");
  }
  if (!out.tls && !is_loopback_host(out.host)) {
    return fail(Errc::invalid_input, "plain ws:// to '" + out.host.substr(0, 253) +
                                         "' would carry tokens unencrypted: use wss://, or ws:// only to a loopback "
                                         "host (127.0.0.0/8, ::1, localhost)");
  }
  const std::string default_port = out.tls ? "443" : "80";
  out.port = u.has_port() && !u.port().empty() ? std::string(u.port()) : default_port;
  const std::string bracketed =
      u.host_type() == boost::urls::host_type::ipv6 ? "[" + out.host + "]" : out.host;
  out.host_header = out.port == default_port ? bracketed : bracketed + ":" + out.port;
  out.target = std::string(u.encoded_target());
  if (out.target.empty() || out.target.front() != '/') {
    out.target = "/" + out.target;  // "wss://host?v=10": the path is empty
  }
  return out;
}

asio::awaitable<Result<void>> WebSocketClient::connect(std::string url) {
  const auto parsed = parse_websocket_url(url);
  if (!parsed) {
    co_return tl::unexpected(parsed.error());
  }
  const std::string where = parsed->host_header;
  asio::ip::tcp::resolver resolver(executor_);
  auto [rec, endpoints] = co_await resolver.async_resolve(parsed->host, parsed->port, as_tuple(use_awaitable));
  if (rec) {
    co_return fail(Errc::unavailable, "cannot resolve " + parsed->host + ": " + rec.message());
  }
  const std::string host_header = parsed->host_header;
  const std::string target = parsed->target;

  if (!parsed->tls) {
    auto connection = std::make_shared<Connection<PlainStream>>(options_, executor_);
    auto connected = co_await connection->connect_tcp(endpoints, where);
    if (!connected) {
      co_return connected;
    }
    auto upgraded = co_await connection->upgrade(host_header, target, where);
    if (!upgraded) {
      co_return upgraded;
    }
    impl_ = std::move(connection);
    co_return Result<void>{};
  }

  if (!tls_) {
    tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    if (options_.ca_file.empty()) {
      tls_->set_default_verify_paths(ec);
    } else {
      tls_->load_verify_file(options_.ca_file, ec);
    }
    if (ec) {
      co_return fail(Errc::unavailable, "cannot load CA certificates: " + ec.message());
    }
    tls_->set_verify_mode(options_.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
  }
  auto connection = std::make_shared<Connection<TlsStream>>(options_, executor_, *tls_);
  auto connected = co_await connection->connect_tcp(endpoints, where);
  if (!connected) {
    co_return connected;
  }
  auto& tls_stream = connection->ws().next_layer();
  // SNI, and the certificate must name the host we asked for.
  if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), parsed->host.c_str())) {
    co_return fail(Errc::unavailable, "cannot set TLS server name " + parsed->host);
  }
  if (options_.verify_tls) {
    tls_stream.set_verify_callback(asio::ssl::host_name_verification(parsed->host));
  }
  auto [tec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::client, as_tuple(use_awaitable));
  if (tec) {
    co_return fail(Errc::unavailable, "TLS handshake with " + where + " failed: " + tec.message());
  }
  auto upgraded = co_await connection->upgrade(host_header, target, where);
  if (!upgraded) {
    co_return upgraded;
  }
  impl_ = std::move(connection);
  co_return Result<void>{};
}

asio::awaitable<Result<std::string>> WebSocketClient::read() {
  if (!impl_) {
    co_return fail(Errc::unavailable, "websocket not connected");
  }
  auto impl = impl_;  // keeps the connection alive across the wait
  auto result = co_await impl->read();
  co_return result;
}

asio::awaitable<Result<void>> WebSocketClient::write(std::string text) {
  if (!impl_) {
    co_return fail(Errc::unavailable, "websocket not connected");
  }
  auto impl = impl_;
  auto result = co_await impl->write(std::move(text));
  co_return result;
}

asio::awaitable<void> WebSocketClient::close(std::uint16_t code) {
  if (!impl_) {
    co_return;
  }
  auto impl = impl_;
  co_await impl->close(code);
}

bool WebSocketClient::is_open() const { return impl_ && impl_->is_open(); }

int WebSocketClient::close_code() const { return impl_ ? impl_->close_code() : 0; }

void WebSocketClient::cancel() {
  if (impl_) {
    impl_->cancel();
  }
}

}  // namespace opsgate::net
