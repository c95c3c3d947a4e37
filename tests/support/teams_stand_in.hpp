#pragma once
// Stand-ins for Microsoft's side of a Teams bot, on 127.0.0.1:0: the OpenID
// metadata and JWKS (keys of a real RSA key generated here), the token
// endpoint, and the Bot Framework connector, which records every call. Plus a
// signer that makes real RS256/384/512 tokens (and forged ones) and a clock
// tests can move.

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "adapters/teams/connector_client.hpp"
#include "adapters/teams/jwt.hpp"
#include "src/core/clock.hpp"
#include "src/net/http_server.hpp"
#include "tests/support/slow_answer.hpp"

namespace opsgate::test {

using nlohmann::json;

// A clock the test moves; any thread may read it.
class MovableClock final : public Clock {
 public:
  explicit MovableClock(std::int64_t unix_s = 1767225600) : now_s_(unix_s) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(now_s_.load()));
  }
  std::int64_t seconds() const { return now_s_.load(); }
  void advance(std::chrono::seconds by) { now_s_ += by.count(); }

 private:
  std::atomic<std::int64_t> now_s_;
};

// A freshly generated 2048-bit RSA key that signs JWTs.
class RsaSigner {
 public:
  explicit RsaSigner(std::string kid) : kid_(std::move(kid)), pkey_(EVP_RSA_gen(2048)) {
    if (pkey_ == nullptr) {
      throw std::runtime_error("EVP_RSA_gen failed");
    }
  }
  ~RsaSigner() { EVP_PKEY_free(pkey_); }
  RsaSigner(const RsaSigner&) = delete;
  RsaSigner& operator=(const RsaSigner&) = delete;

  const std::string& kid() const { return kid_; }

  json jwk(std::vector<std::string> endorsements = {"msteams"}) const {
    json key = {{"kty", "RSA"}, {"use", "sig"}, {"kid", kid_}, {"n", bn_param(OSSL_PKEY_PARAM_RSA_N)},
                {"e", bn_param(OSSL_PKEY_PARAM_RSA_E)}};
    if (!endorsements.empty()) {
      key["endorsements"] = endorsements;
    }
    return key;
  }

  // The public key as PEM: what an attacker would use as an HMAC secret.
  std::string public_pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey_);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return pem;
  }

  std::string sign(const json& claims, const std::string& alg = "RS256", const std::string& kid_override = "") const {
    const json header = {{"alg", alg}, {"typ", "JWT"}, {"kid", kid_override.empty() ? kid_ : kid_override}};
    const std::string input = adapters::teams::base64url_encode(header.dump()) + "." +
                              adapters::teams::base64url_encode(claims.dump());
    const EVP_MD* md = alg == "RS384" ? EVP_sha384() : alg == "RS512" ? EVP_sha512() : EVP_sha256();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t length = 0;
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey_);
    EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string signature(length, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    signature.resize(length);
    return input + "." + adapters::teams::base64url_encode(signature);
  }

 private:
  std::string bn_param(const char* name) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(pkey_, name, &bn);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return adapters::teams::base64url_encode(bytes);
  }

  std::string kid_;
  EVP_PKEY* pkey_;
};

// One key "key-1" for the whole test run: RSA key generation is the slow part
// of these tests, and a test that needs another key makes its own.
inline const RsaSigner& shared_signer() {
  static const RsaSigner signer("key-1");
  return signer;
}

// A token "signed" with HMAC-SHA256 using `secret` (the classic alg confusion forgery).
inline std::string hs256_token(const json& claims, const std::string& kid, const std::string& secret) {
  const json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", kid}};
  const std::string input =
      adapters::teams::base64url_encode(header.dump()) + "." + adapters::teams::base64url_encode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &length);
  return input + "." + adapters::teams::base64url_encode(std::string(reinterpret_cast<char*>(mac), length));
}

inline std::string unsigned_token(const json& claims, const std::string& kid) {
  const json header = {{"alg", "none"}, {"typ", "JWT"}, {"kid", kid}};
  return adapters::teams::base64url_encode(header.dump()) + "." + adapters::teams::base64url_encode(claims.dump()) + ".";
}

// One call the connector stand-in received.
struct ConnectorCall {
  std::string method;
  std::string path;
  std::string authorization;
  json body;
};

// OpenID metadata + JWKS + token endpoint + connector. Owned by one test;
// setters and readers from the test's thread, handlers on the stand-in's
// own threads (hence the mutex).
class TeamsStandIn {
 public:
  static constexpr const char* kMetadataPath = "/v1/.well-known/openidconfiguration";
  static constexpr const char* kKeysPath = "/v1/.well-known/keys";
  static constexpr const char* kTokenPath = "/botframework.com/oauth2/v2.0/token";

  TeamsStandIn() : state_(std::make_shared<State>()), server_(io_.get_executor(), config()) {
    auto state = state_;
    server_.route("GET", kMetadataPath, [state, this](net::HttpRequest) { return metadata(state, url()); });
    server_.route("GET", kKeysPath, [state](net::HttpRequest) { return keys(state); });
    server_.route("POST", kTokenPath, [state](net::HttpRequest request) { return token(state, std::move(request)); });
    auto started = server_.start();
    if (!started) {
      throw std::runtime_error(started.error().message);
    }
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }

  ~TeamsStandIn() {
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    boost::asio::co_spawn(io_, server_.stop(), [done](std::exception_ptr) { done->set_value(); });
    stopped.wait_for(std::chrono::seconds(10));
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  TeamsStandIn(const TeamsStandIn&) = delete;
  TeamsStandIn& operator=(const TeamsStandIn&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()); }
  std::string metadata_url() const { return url() + kMetadataPath; }
  std::string token_url() const { return url() + kTokenPath; }
  std::string service_url() const { return url() + "/"; }

  void publish(std::vector<json> jwks) {
    std::lock_guard lock(state_->mutex);
    state_->jwks = std::move(jwks);
  }
  void set_token_lifetime(int seconds) {
    std::lock_guard lock(state_->mutex);
    state_->token_lifetime = seconds;
  }
  // The next connector calls answer these statuses (then 200 again).
  void fail_next(std::vector<int> statuses) {
    std::lock_guard lock(state_->mutex);
    state_->failures = std::move(statuses);
  }

  // The next `count` connector calls are processed and recorded (a POST is
  // posted), then answered only after `delay`.
  void answer_slowly(int count, std::chrono::milliseconds delay) {
    std::lock_guard lock(state_->mutex);
    state_->slow = {count, delay};
  }

  // Accepts connector calls for `conversation_id`: new messages, replies to
  // `reply_ids` and to the ids it hands out (act-1 ...), updates of those.
  void add_conversation(const std::string& conversation_id, std::vector<std::string> reply_ids = {}) {
    const std::string base = "/v3/conversations/" + adapters::teams::percent_encode(conversation_id) + "/activities";
    auto state = state_;
    server_.route("POST", base, [state](net::HttpRequest request) { return connector(state, std::move(request)); });
    for (int i = 1; i <= 60; ++i) {
      reply_ids.push_back("act-" + std::to_string(i));
    }
    for (const auto& id : reply_ids) {
      const std::string path = base + "/" + adapters::teams::percent_encode(id);
      server_.route("POST", path, [state](net::HttpRequest request) { return connector(state, std::move(request)); });
      server_.route("PUT", path, [state](net::HttpRequest request) { return connector(state, std::move(request)); });
    }
  }

  std::vector<ConnectorCall> calls() const {
    std::lock_guard lock(state_->mutex);
    return state_->calls;
  }
  int metadata_fetches() const {
    std::lock_guard lock(state_->mutex);
    return state_->metadata_fetches;
  }
  int key_fetches() const {
    std::lock_guard lock(state_->mutex);
    return state_->key_fetches;
  }
  int token_requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->token_requests;
  }
  std::string last_token_form() const {
    std::lock_guard lock(state_->mutex);
    return state_->last_token_form;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::vector<json> jwks;
    int token_lifetime = 3600;
    std::vector<int> failures;
    std::pair<int, std::chrono::milliseconds> slow{0, std::chrono::milliseconds(0)};
    std::vector<ConnectorCall> calls;
    int metadata_fetches = 0;
    int key_fetches = 0;
    int token_requests = 0;
    int next_id = 0;
    std::string last_token_form;
  };

  static boost::asio::awaitable<net::HttpResponse> metadata(std::shared_ptr<State> state, std::string base) {
    {
      std::lock_guard lock(state->mutex);
      ++state->metadata_fetches;
    }
    co_return net::HttpResponse::json(200, {{"issuer", "https://api.botframework.com"},
                                            {"jwks_uri", base + kKeysPath},
                                            {"id_token_signing_alg_values_supported", {"RS256"}}});
  }

  static boost::asio::awaitable<net::HttpResponse> keys(std::shared_ptr<State> state) {
    std::lock_guard lock(state->mutex);
    ++state->key_fetches;
    co_return net::HttpResponse::json(200, {{"keys", state->jwks}});
  }

  static boost::asio::awaitable<net::HttpResponse> token(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    ++state->token_requests;
    state->last_token_form = request.body;
    if (request.body.find("client_secret=s3cret") == std::string::npos) {
      co_return net::HttpResponse::json(401, {{"error", "invalid_client"}});
    }
    co_return net::HttpResponse::json(200, {{"token_type", "Bearer"},
                                            {"expires_in", state->token_lifetime},
                                            {"ext_expires_in", state->token_lifetime},
                                            {"access_token", "bf-token-" + std::to_string(state->token_requests)}});
  }

  static boost::asio::awaitable<net::HttpResponse> connector(std::shared_ptr<State> state, net::HttpRequest request) {
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(state->mutex);
      if (state->slow.first > 0) {
        --state->slow.first;
        delay = state->slow.second;
      }
    }
    auto response = answer(state, request);  // recorded (and posted) now
    auto answered = co_await answer_after(std::move(response), delay);
    co_return answered;
  }

  static net::HttpResponse answer(const std::shared_ptr<State>& state, const net::HttpRequest& request) {
    std::lock_guard lock(state->mutex);
    ConnectorCall call{request.method, request.path, std::string(request.header_or_empty("Authorization")),
                       json::parse(request.body, nullptr, false)};
    state->calls.push_back(std::move(call));
    if (!state->failures.empty()) {
      const int status = state->failures.front();
      state->failures.erase(state->failures.begin());
      return net::HttpResponse::json(status, {{"error", {{"code", "Throttled"}}}});
    }
    if (request.method == "PUT") {
      return net::HttpResponse::json(200, {{"id", request.path.substr(request.path.rfind('/') + 1)}});
    }
    return net::HttpResponse::json(201, {{"id", "act-" + std::to_string(++state->next_id)}});
  }

  static net::HttpServerConfig config() {
    net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.drain_timeout = std::chrono::seconds(1);
    return c;
  }

  std::shared_ptr<State> state_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  net::HttpServer server_;
  std::vector<std::thread> threads_;
};

// Claims of a token the Bot Framework would send for this bot.
inline json bot_claims(const std::string& app_id, const std::string& service_url, std::int64_t now_s) {
  return {{"iss", "https://api.botframework.com"},
          {"aud", app_id},
          {"exp", now_s + 3600},
          {"nbf", now_s - 60},
          {"iat", now_s - 60},
          {"serviceurl", service_url}};
}

}  // namespace opsgate::test
