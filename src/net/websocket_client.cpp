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

namespace opsgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
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
  const std::size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!out.target.empty() && out.target.front() == '?') {
    out.target = "/" + out.target;
  }
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return std::nullopt;
  }
  std::size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) {
      return std::nullopt;
    }
    out.host = authority.substr(1, close - 1);
    colon = authority.find(':', close);
  } else {
    out.host = authority.substr(0, colon);
  }
  out.port = colon == std::string::npos ? (out.tls ? "443" : "80") : authority.substr(colon + 1);
  if (out.host.empty() || out.port.empty()) {
    return std::nullopt;
  }
  return out;
}

std::string describe(const beast::error_code& ec) {
  if (ec == websocket::error::closed) {
    return "the server closed the connection";
  }
  if (ec == beast::error::timeout) {
    return "no data or pong within the idle timeout";
  }
  return ec.message();
}

}  // namespace

// One connection of either kind; the virtual interface keeps the two Beast
// stream types out of the header.
class WebSocketClientImpl {
 public:
  virtual ~WebSocketClientImpl() = default;
  virtual asio::awaitable<Result<std::string>> read() = 0;
  virtual asio::awaitable<Result<void>> write(std::string text) = 0;
  virtual asio::awaitable<void> close() = 0;
  virtual bool is_open() const = 0;
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
    timeout.idle_timeout = options_.idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.read_message_max(options_.max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& request) { request.set(beast::http::field::user_agent, "opsgate/0.1"); }));
  }

  asio::awaitable<Result<std::string>> read() override {
    beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_.async_read(buffer, as_tuple(use_awaitable));
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

  asio::awaitable<void> close() override {
    if (!ws_.is_open()) {
      co_return;
    }
    // The handshake timeout of the stream bounds the close handshake.
    auto [ec] = co_await ws_.async_close(websocket::close_code::normal, as_tuple(use_awaitable));
    (void)ec;
    cancel();
  }

  bool is_open() const override { return ws_.is_open(); }

  void cancel() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  WebSocketOptions options_;
  Stream ws_;
};

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

WebSocketClient::WebSocketClient(asio::any_io_executor executor, WebSocketOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

WebSocketClient::~WebSocketClient() = default;

asio::awaitable<Result<void>> WebSocketClient::connect(std::string url) {
  const auto parsed = parse_ws_url(url);
  if (!parsed) {
    co_return fail(Errc::invalid_input, "not a ws:// or wss:// URL");
  }
  const std::string where = parsed->host + ":" + parsed->port;
  asio::ip::tcp::resolver resolver(executor_);
  auto [rec, endpoints] = co_await resolver.async_resolve(parsed->host, parsed->port, as_tuple(use_awaitable));
  if (rec) {
    co_return fail(Errc::unavailable, "cannot resolve " + parsed->host + ": " + rec.message());
  }
  std::string host_header = parsed->host;
  if (parsed->port != (parsed->tls ? "443" : "80")) {
    host_header += ":" + parsed->port;
  }
  const std::string target = parsed->target;

  if (!parsed->tls) {
    auto connection = std::make_shared<Connection<PlainStream>>(options_, executor_);
    auto& lowest = beast::get_lowest_layer(connection->ws());
    lowest.expires_after(options_.connect_timeout);
    auto [cec, endpoint] = co_await lowest.async_connect(endpoints, as_tuple(use_awaitable));
    (void)endpoint;
    if (cec) {
      co_return fail(cec == beast::error::timeout ? Errc::timeout : Errc::unavailable,
                     "cannot connect to " + where + ": " + cec.message());
    }
    lowest.expires_never();
    connection->configure();
    auto [hec] = co_await connection->ws().async_handshake(host_header, target, as_tuple(use_awaitable));
    if (hec) {
      co_return fail(Errc::unavailable, "websocket upgrade at " + where + " failed: " + describe(hec));
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
  auto& lowest = beast::get_lowest_layer(connection->ws());
  lowest.expires_after(options_.connect_timeout);
  auto [cec, endpoint] = co_await lowest.async_connect(endpoints, as_tuple(use_awaitable));
  (void)endpoint;
  if (cec) {
    co_return fail(cec == beast::error::timeout ? Errc::timeout : Errc::unavailable,
                   "cannot connect to " + where + ": " + cec.message());
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
  lowest.expires_never();
  connection->configure();
  auto [hec] = co_await connection->ws().async_handshake(host_header, target, as_tuple(use_awaitable));
  if (hec) {
    co_return fail(Errc::unavailable, "websocket upgrade at " + where + " failed: " + describe(hec));
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

asio::awaitable<void> WebSocketClient::close() {
  if (!impl_) {
    co_return;
  }
  auto impl = impl_;
  co_await impl->close();
}

bool WebSocketClient::is_open() const { return impl_ && impl_->is_open(); }

void WebSocketClient::cancel() {
  if (impl_) {
    impl_->cancel();
  }
}

}  // namespace opsgate::net
