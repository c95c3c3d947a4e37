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
#include <optional>
#include <set>
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
#include "tests/support/form_decode.hpp"
#include "tests/support/loopback_http_server.hpp"
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
    const std::string input = encoding::base64url_encode(header.dump()) + "." +
                              encoding::base64url_encode(claims.dump());
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
    return input + "." + encoding::base64url_encode(signature);
  }

 private:
  std::string bn_param(const char* name) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(pkey_, name, &bn);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return encoding::base64url_encode(bytes);
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
      encoding::base64url_encode(header.dump()) + "." + encoding::base64url_encode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &length);
  return input + "." + encoding::base64url_encode(std::string(reinterpret_cast<char*>(mac), length));
}

inline std::string unsigned_token(const json& claims, const std::string& kid) {
  const json header = {{"alg", "none"}, {"typ", "JWT"}, {"kid", kid}};
  return encoding::base64url_encode(header.dump()) + "." + encoding::base64url_encode(claims.dump()) + ".";
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
// own threads (hence the mutex). Checks what Microsoft checks
// (../shared/specs/teams.md): the token endpoint takes only a form with
// grant_type=client_credentials, this bot's client_id and secret and the Bot
// Framework scope (AAD's 400/401 error bodies otherwise); the connector takes
// only a bearer token that endpoint issued (401) and a JSON activity with a
// type and, for a message, text or attachments (400 BadArgument).
class TeamsStandIn {
 public:
  static constexpr const char* kMetadataPath = "/v1/.well-known/openidconfiguration";
  static constexpr const char* kKeysPath = "/v1/.well-known/keys";
  static constexpr const char* kTokenPath = "/botframework.com/oauth2/v2.0/token";

  // The bot's Microsoft App ID and password, as opsgate is configured with them.
  TeamsStandIn(std::string app_id, std::string app_password)
      : state_(std::make_shared<State>(std::move(app_id), std::move(app_password))), server_(config()) {
    auto state = state_;
    server_.route("GET", kMetadataPath, [state, this](net::HttpRequest) { return metadata(state, url()); });
    server_.route("GET", kKeysPath, [state](net::HttpRequest) { return keys(state); });
    server_.route("POST", kTokenPath, [state](net::HttpRequest request) { return token(state, std::move(request)); });
    server_.start();
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
    State(std::string id, std::string password) : app_id(std::move(id)), app_password(std::move(password)) {}
    const std::string app_id;
    const std::string app_password;
    mutable std::mutex mutex;
    std::set<std::string> issued;  // access tokens the token endpoint handed out
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

  static net::HttpResponse aad_error(int status, const std::string& error, const std::string& description) {
    return net::HttpResponse::json(status, {{"error", error}, {"error_description", description}, {"error_codes", json::array()}});
  }

  static boost::asio::awaitable<net::HttpResponse> token(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    ++state->token_requests;
    state->last_token_form = request.body;
    const auto form = decode_form_strict(request.body);
    if (request.header_or_empty("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0 || !form) {
      co_return aad_error(400, "invalid_request",
                          "AADSTS900144: The request body must contain the following parameter: 'grant_type'.");
    }
    const auto field = [&form](const char* name) {
      const auto it = form->find(name);
      return it == form->end() ? std::string() : it->second;
    };
    if (field("grant_type") != "client_credentials") {
      co_return aad_error(400, "unsupported_grant_type",
                          "AADSTS70003: The app requested an unsupported grant type '" + field("grant_type") + "'.");
    }
    if (field("client_id") != state->app_id) {
      co_return aad_error(400, "unauthorized_client", "AADSTS700016: Application with identifier '" +
                                                          field("client_id") + "' was not found in the directory.");
    }
    if (field("client_secret") != state->app_password) {
      co_return aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    if (field("scope") != "https://api.botframework.com/.default") {
      co_return aad_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope " + field("scope") +
                                                    " is not valid. Client credential flows must have a scope value "
                                                    "with /.default suffixed to the resource identifier.");
    }
    const std::string issued = "bf-token-" + std::to_string(state->token_requests);
    state->issued.insert(issued);
    co_return net::HttpResponse::json(200, {{"token_type", "Bearer"},
                                            {"expires_in", state->token_lifetime},
                                            {"ext_expires_in", state->token_lifetime},
                                            {"access_token", issued}});
  }

  // What the connector refuses before it looks at the conversation; nullopt when it would take the call.
  static std::optional<net::HttpResponse> connector_refusal(const State& state, const net::HttpRequest& request,
                                                            const json& body) {
    const std::string_view authorization = request.header_or_empty("Authorization");
    if (authorization.rfind("Bearer ", 0) != 0 || state.issued.count(std::string(authorization.substr(7))) == 0) {
      return net::HttpResponse::json(401, {{"message", "Authorization has been denied for this request."}});
    }
    const auto bad = [](const std::string& message) {
      return net::HttpResponse::json(400, {{"error", {{"code", "BadArgument"}, {"message", message}}}});
    };
    if (request.header_or_empty("Content-Type").rfind("application/json", 0) != 0 || !body.is_object()) {
      return bad("The request body is not a JSON activity.");
    }
    if (!body.contains("type") || !body["type"].is_string()) {
      return bad("Activity must have a type.");
    }
    if (body["type"] == "message") {
      const bool has_text = body.contains("text") && body["text"].is_string() && !body["text"].get<std::string>().empty();
      const bool has_attachments = body.contains("attachments") && body["attachments"].is_array() &&
                                   !body["attachments"].empty();
      if (!has_text && !has_attachments) {
        return bad("Message must have text or attachments.");
      }
      if (has_attachments) {
        for (const auto& a : body["attachments"]) {
          if (!a.is_object() || !a.contains("contentType") || !a["contentType"].is_string()) {
            return bad("Attachment must have a contentType.");
          }
        }
      }
    }
    return std::nullopt;
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
    auto refused = connector_refusal(*state, request, call.body);
    state->calls.push_back(std::move(call));
    if (refused) {
      return std::move(*refused);
    }
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
  LoopbackHttpServer server_;
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
