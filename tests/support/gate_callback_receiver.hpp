#pragma once
// A CI system's end of opsgate's generic gate callback: POST /hook with the
// gate JSON, refused with 401 unless X-Opsgate-Signature-256 is the
// HMAC-SHA256 of the raw body under the shared secret. It can be told to
// answer 503 a number of times first; it records what it accepted.

#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/crypto.hpp"
#include "src/gates/gates_config.hpp"
#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test {

class GateCallbackReceiver {
 public:
  explicit GateCallbackReceiver(std::string secret) : state_(std::make_shared<State>()), server_(config()) {
    state_->secret = std::move(secret);
    auto state = state_;
    server_.route("POST", "/hook", [state](net::HttpRequest request) { return handle(state, std::move(request)); });
    server_.start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()) + "/hook"; }
  void fail_next(int count) {
    std::lock_guard lock(state_->mutex);
    state_->failures = count;
  }
  std::vector<nlohmann::json> accepted() const {
    std::lock_guard lock(state_->mutex);
    return state_->accepted;
  }
  int refused() const {
    std::lock_guard lock(state_->mutex);
    return state_->refused;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::string secret;
    int failures = 0;
    int refused = 0;
    std::vector<nlohmann::json> accepted;
  };

  static boost::asio::awaitable<net::HttpResponse> handle(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    const std::string expected = "sha256=" + crypto::hmac_sha256_hex(state->secret, request.body);
    if (!crypto::constant_time_equal(request.header_or_empty("X-Opsgate-Signature-256"), expected)) {
      ++state->refused;
      co_return net::HttpResponse::text(401, "bad signature\n");
    }
    if (state->failures > 0) {
      --state->failures;
      co_return net::HttpResponse::text(503, "busy\n");
    }
    state->accepted.push_back(nlohmann::json::parse(request.body, nullptr, false));
    co_return net::HttpResponse::text(200, "ok\n");
  }

  static net::HttpServerConfig config() {
    net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.drain_timeout = std::chrono::seconds(1);
    return c;
  }

  std::shared_ptr<State> state_;
  LoopbackHttpServer server_;
};

}  // namespace opsgate::test
