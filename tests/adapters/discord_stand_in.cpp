// The stand-in Discord's Beast side (test-only: the one Beast TU of the tests).
#include "tests/adapters/discord_stand_in.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <openssl/evp.h>

#include "adapters/discord/ed25519.hpp"
#include "src/core/encoding.hpp"

namespace opsgate::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using nlohmann::json;

// --- Ed25519 ---------------------------------------------------------------

Ed25519Signer::Ed25519Signer() : key_(nullptr) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1) {
    EVP_PKEY_CTX_free(ctx);
    throw std::runtime_error("Ed25519 key generation failed");
  }
  EVP_PKEY_CTX_free(ctx);
  key_ = key;
}

Ed25519Signer::~Ed25519Signer() { EVP_PKEY_free(static_cast<EVP_PKEY*>(key_)); }

std::string Ed25519Signer::public_key_hex() const {
  unsigned char raw[32];
  std::size_t size = sizeof raw;
  EVP_PKEY_get_raw_public_key(static_cast<EVP_PKEY*>(key_), raw, &size);
  return encoding::hex_encode(std::string_view(reinterpret_cast<const char*>(raw), size));
}

std::string Ed25519Signer::sign_hex(const std::string& message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char signature[64];
  std::size_t size = sizeof signature;
  const bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(key_)) == 1 &&
                  EVP_DigestSign(ctx, signature, &size, reinterpret_cast<const unsigned char*>(message.data()),
                                 message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    throw std::runtime_error("Ed25519 signing failed");
  }
  return encoding::hex_encode(std::string_view(reinterpret_cast<const char*>(signature), size));
}

std::string RestCall::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) {
      return v;
    }
  }
  return "";
}

// --- gateway peer ------------------------------------------------------------

namespace {

class Peer final : public GatewayPeer, public std::enable_shared_from_this<Peer> {
 public:
  Peer(beast::tcp_stream stream, std::string target) : ws_(std::move(stream)), target_(std::move(target)) {}

  asio::awaitable<void> run(http::request<http::string_body> request, std::function<void(std::shared_ptr<Peer>)> ready) {
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [accept_ec] = co_await ws_.async_accept(request, token);
    if (accept_ec) {
      co_return;
    }
    ready(self);
    for (;;) {
      beast::flat_buffer buffer;
      auto [ec, n] = co_await ws_.async_read(buffer, token);
      std::lock_guard lock(mutex_);
      if (ec) {
        if (ec == websocket::error::closed) {
          client_code_ = ws_.reason().code;
        }
        ended_ = true;
        cv_.notify_all();
        co_return;
      }
      inbox_.push_back(json::parse(beast::buffers_to_string(buffer.data()), nullptr, false));
      cv_.notify_all();
    }
  }

  void send(const json& frame) override { queue(Out{false, frame.dump(), 0}); }
  void close(int code) override { queue(Out{true, "", code}); }

  std::optional<json> receive(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return !inbox_.empty() || ended_; });
    if (inbox_.empty()) {
      return std::nullopt;
    }
    json frame = std::move(inbox_.front());
    inbox_.pop_front();
    return frame;
  }

  int client_close_code(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return ended_; });
    return client_code_;
  }

  std::string target() const override { return target_; }

 private:
  struct Out {
    bool close = false;
    std::string text;
    int code = 0;
  };

  void queue(Out out) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), out = std::move(out)]() mutable {
      self->outbox_.push_back(std::move(out));
      if (!self->writing_) {
        self->write_next();
      }
    });
  }

  void write_next() {
    if (outbox_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    Out& out = outbox_.front();
    auto self = shared_from_this();
    if (out.close) {
      ws_.async_close(websocket::close_reason(static_cast<std::uint16_t>(out.code)), [self](beast::error_code) {
        self->outbox_.clear();
        self->writing_ = false;
      });
      return;
    }
    ws_.text(true);
    ws_.async_write(asio::buffer(out.text), [self](beast::error_code ec, std::size_t) {
      self->outbox_.pop_front();
      if (ec) {
        self->outbox_.clear();
        self->writing_ = false;
        return;
      }
      self->write_next();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::string target_;
  std::deque<Out> outbox_;  // on the io thread
  bool writing_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<json> inbox_;
  bool ended_ = false;
  int client_code_ = 0;
};

}  // namespace

// --- server ---------------------------------------------------------------------

struct DiscordStandIn::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::vector<RestCall> calls;
  std::vector<std::function<std::optional<RestReply>(const RestCall&)>> scripts;
  std::deque<std::shared_ptr<Peer>> peers;
  std::map<std::string, std::string> original_ids;  // interaction token -> @original's id
  long long next_id = 900000000000000001;
  std::uint16_t port = 0;

  RestReply answer(const RestCall& call) {
    std::vector<std::function<std::optional<RestReply>(const RestCall&)>> copy;
    {
      std::lock_guard lock(mutex);
      calls.push_back(call);
      copy = scripts;
    }
    cv.notify_all();
    for (const auto& script : copy) {
      if (auto reply = script(call)) {
        return *reply;
      }
    }
    const std::string path = call.path.substr(0, call.path.find('?'));
    if (call.method == "GET" && path == "/gateway/bot") {
      return RestReply{200, json{{"url", "ws://127.0.0.1:" + std::to_string(port) + "/gw"}, {"shards", 1}}.dump(), {}};
    }
    const bool message_route = path.find("/messages") != std::string::npos || path.rfind("/webhooks/", 0) == 0;
    if (!message_route || call.method == "DELETE") {
      return RestReply{call.method == "PUT" ? 200 : 204, call.method == "PUT" ? call.body : "", {}};
    }
    const json sent = call.json();
    json message = sent.is_object() ? sent : json::object();
    std::lock_guard lock(mutex);
    std::string id = std::to_string(next_id++);
    if (path.size() > 19 && path.substr(path.size() - 19) == "/messages/@original") {
      auto [it, fresh] = original_ids.emplace(path, id);
      id = it->second;
    } else if (call.method == "PATCH") {
      id = path.substr(path.rfind('/') + 1);
    }
    message["id"] = id;
    if (path.rfind("/channels/", 0) == 0) {
      message["channel_id"] = path.substr(10, path.find('/', 10) - 10);
    }
    return RestReply{200, message.dump(), {{"X-RateLimit-Limit", "5"}, {"X-RateLimit-Remaining", "4"},
                                           {"X-RateLimit-Reset-After", "1.0"}}};
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    auto token = asio::as_tuple(asio::use_awaitable);
    for (int i = 0; i < 1000; ++i) {
      http::request<http::string_body> request;
      stream.expires_after(std::chrono::seconds(30));
      auto [ec, n] = co_await http::async_read(stream, buffer, request, token);
      if (ec) {
        co_return;
      }
      if (websocket::is_upgrade(request)) {
        auto peer = std::make_shared<Peer>(std::move(stream), std::string(request.target()));
        auto ready = [this](std::shared_ptr<Peer> p) {
          std::lock_guard lock(mutex);
          peers.push_back(std::move(p));
          cv.notify_all();
        };
        co_await peer->run(std::move(request), ready);
        co_return;
      }
      RestCall call;
      call.method = std::string(request.method_string());
      std::string target(request.target());
      const std::string prefix = "/api/v10";
      call.path = target.rfind(prefix, 0) == 0 ? target.substr(prefix.size()) : target;
      call.body = request.body();
      for (const auto& field : request) {
        call.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      const RestReply reply = answer(call);
      http::response<http::string_body> response{static_cast<http::status>(reply.status), request.version()};
      response.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : reply.headers) {
        response.set(name, value);
      }
      response.body() = reply.body;
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, response, token);
      if (wec || !response.keep_alive()) {
        co_return;
      }
    }
  }

  asio::awaitable<void> accept_loop() {
    auto token = asio::as_tuple(asio::use_awaitable);
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(token);
      if (ec) {
        co_return;
      }
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

DiscordStandIn::DiscordStandIn() : impl_(std::make_shared<Impl>()) {
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

DiscordStandIn::~DiscordStandIn() {
  impl_->io.stop();
  impl_->thread.join();
  std::lock_guard lock(impl_->mutex);
  impl_->peers.clear();
}

std::uint16_t DiscordStandIn::port() const { return impl_->port; }

void DiscordStandIn::script(std::function<std::optional<RestReply>(const RestCall&)> script) {
  std::lock_guard lock(impl_->mutex);
  impl_->scripts.push_back(std::move(script));
}

std::vector<RestCall> DiscordStandIn::calls() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->calls;
}

bool DiscordStandIn::wait_for(const std::function<bool(const std::vector<RestCall>&)>& predicate,
                              std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, timeout, [&] { return predicate(impl_->calls); });
}

std::shared_ptr<GatewayPeer> DiscordStandIn::accept_gateway(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->cv.wait_for(lock, timeout, [this] { return !impl_->peers.empty(); })) {
    return nullptr;
  }
  auto peer = impl_->peers.front();
  impl_->peers.pop_front();
  return peer;
}

}  // namespace opsgate::test
