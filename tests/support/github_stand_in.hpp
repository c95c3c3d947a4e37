#pragma once
// A stand-in GitHub for deployment protection rules (specs/cicd-gates.md
// §1.8): POST /app/installations/{id}/access_tokens verifies the app's RS256
// JWT with the app's public key (iss, iat, exp − iat ≤ 600 s) and issues a
// token; POST /repos/{owner}/{repo}/actions/runs/{run}/deployment_protection_rule
// requires that token, a User-Agent and Accept: application/vnd.github+json,
// validates the body, answers 204, and 422 to a second decision for the same
// (run, environment). Also: the webhook delivery, signed as GitHub signs it.

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/teams/jwt.hpp"
#include "src/core/crypto.hpp"
#include "src/gates/gates_config.hpp"
#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test {

struct GithubReview {
  std::string path;
  nlohmann::json body;
  int status = 0;
};

class GithubStandIn {
 public:
  GithubStandIn(std::string public_key_pem, std::string issuer, std::set<std::string> environments)
      : state_(std::make_shared<State>()), server_(config()) {
    state_->public_key_pem = std::move(public_key_pem);
    state_->issuer = std::move(issuer);
    state_->environments = std::move(environments);
    auto state = state_;
    server_.route("POST", "/app/installations/*", [state](net::HttpRequest r) { return tokens(state, std::move(r)); });
    server_.route("POST", "/repos/*", [state](net::HttpRequest r) { return review(state, std::move(r)); });
    server_.start();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()); }
  std::vector<GithubReview> reviews() const {
    std::lock_guard lock(state_->mutex);
    return state_->reviews;
  }
  int tokens_issued() const {
    std::lock_guard lock(state_->mutex);
    return state_->issued;
  }
  int jwt_refused() const {
    std::lock_guard lock(state_->mutex);
    return state_->jwt_refused;
  }
  // The next review calls answer 502.
  void fail_reviews(int count) {
    std::lock_guard lock(state_->mutex);
    state_->review_failures = count;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::string public_key_pem;
    std::string issuer;
    std::set<std::string> environments;
    std::set<std::string> tokens;
    std::set<std::string> decided;  // run/environment
    std::vector<GithubReview> reviews;
    int issued = 0;
    int jwt_refused = 0;
    int review_failures = 0;
  };

  static net::HttpResponse error(int status, const std::string& message) {
    return net::HttpResponse::json(status, nlohmann::json{{"message", message},
                                                          {"documentation_url", "https://docs.github.com/rest"}});
  }

  static bool verify_rs256(const std::string& pem, const std::string& input, const std::string& signature) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
  }

  static boost::asio::awaitable<net::HttpResponse> tokens(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    const std::string auth(request.header_or_empty("Authorization"));
    if (request.path.find("/access_tokens") == std::string::npos || auth.rfind("Bearer ", 0) != 0) {
      ++state->jwt_refused;
      co_return error(401, "A JSON web token could not be decoded");
    }
    auto jwt = adapters::teams::decode_jwt(auth.substr(7));
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    if (!jwt || jwt->alg != "RS256" || !verify_rs256(state->public_key_pem, jwt->signing_input, jwt->signature) ||
        jwt->claims.value("iss", "") != state->issuer || !jwt->claims["iat"].is_number_integer() ||
        !jwt->claims["exp"].is_number_integer() || jwt->claims["iat"].get<std::int64_t>() > now + 60 ||
        jwt->claims["exp"].get<std::int64_t>() - jwt->claims["iat"].get<std::int64_t>() > 600 ||
        jwt->claims["exp"].get<std::int64_t>() < now) {
      ++state->jwt_refused;
      co_return error(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past / bad signature");
    }
    const std::string token = "ghs_stand_in_" + std::to_string(++state->issued);
    state->tokens.insert(token);
    co_return net::HttpResponse::json(201, nlohmann::json{{"token", token},
                                                          {"expires_at", "2099-01-01T00:00:00Z"},
                                                          {"permissions", {{"deployments", "write"}}},
                                                          {"repository_selection", "selected"}});
  }

  static boost::asio::awaitable<net::HttpResponse> review(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    GithubReview r;
    r.path = request.path;
    r.body = nlohmann::json::parse(request.body, nullptr, false);
    auto done = [&](net::HttpResponse response) {
      r.status = response.status;
      state->reviews.push_back(r);
      return response;
    };
    const std::string auth(request.header_or_empty("Authorization"));
    if (auth.rfind("Bearer ", 0) != 0 || state->tokens.count(auth.substr(7)) == 0) {
      co_return done(error(401, "Bad credentials"));
    }
    if (request.header_or_empty("User-Agent").empty()) {
      co_return done(error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"));
    }
    if (request.header_or_empty("Accept") != "application/vnd.github+json") {
      co_return done(error(415, "Unsupported 'Accept' header"));
    }
    const auto runs = request.path.find("/actions/runs/");
    const auto tail = request.path.find("/deployment_protection_rule");
    if (runs == std::string::npos || tail == std::string::npos) {
      co_return done(error(404, "Not Found"));
    }
    if (state->review_failures > 0) {
      --state->review_failures;
      co_return done(error(502, "Server Error"));
    }
    const nlohmann::json& b = r.body;
    const std::string env = b.is_object() ? b.value("environment_name", "") : "";
    const bool has_state = b.is_object() && b.contains("state");
    const std::string decision = has_state && b["state"].is_string() ? b["state"].get<std::string>() : "";
    const std::string comment = b.is_object() && b.contains("comment") && b["comment"].is_string() ? b["comment"].get<std::string>() : "";
    if (state->environments.count(env) == 0 || (has_state && decision != "approved" && decision != "rejected") ||
        (!has_state && comment.empty()) || comment.size() > 1024) {
      co_return done(error(422, "Invalid request."));
    }
    if (has_state) {
      const std::string key = request.path.substr(runs, tail - runs) + "/" + env;
      if (!state->decided.insert(key).second) {
        co_return done(error(422, "No pending deployment requests to approve or reject"));
      }
    }
    co_return done(net::HttpResponse::text(204, ""));
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

// A deployment_protection_rule delivery as GitHub sends it (§1.2), signed.
inline std::string github_delivery(const std::string& secret, const std::string& delivery_id, const nlohmann::json& body) {
  const std::string raw = body.dump();
  return "POST /webhooks/github HTTP/1.1\r\nHost: opsgate\r\nContent-Type: application/json\r\n"
         "User-Agent: GitHub-Hookshot/abc123\r\nX-GitHub-Event: deployment_protection_rule\r\nX-GitHub-Delivery: " +
         delivery_id + "\r\nX-GitHub-Hook-ID: 292430182\r\nX-Hub-Signature-256: sha256=" +
         crypto::hmac_sha256_hex(secret, raw) + "\r\nContent-Length: " + std::to_string(raw.size()) + "\r\n\r\n" + raw;
}

inline nlohmann::json github_requested(const std::string& environment, std::int64_t run_id, const std::string& creator) {
  const std::string callback = "https://api.github.com/repos/acme/shop/actions/runs/" + std::to_string(run_id) +
                               "/deployment_protection_rule";
  return {{"action", "requested"},
          {"environment", environment},
          {"event", "push"},
          {"deployment_callback_url", callback},
          {"deployment", {{"id", 1234567890}, {"sha", "47efb7196c2a1a2fd3f52f2c59f0e2dd3d0e4d54"}, {"ref", "main"},
                          {"creator", {{"login", creator}, {"id", 101}, {"type", "User"}}}}},
          {"sha", "47efb7196c2a1a2fd3f52f2c59f0e2dd3d0e4d54"},
          {"ref", "main"},
          {"workflow_run", {{"id", run_id}}},
          {"repository", {{"id", 1192056896}, {"name", "shop"}, {"full_name", "acme/shop"},
                          {"owner", {{"login", "acme"}, {"id", 9001}}}}},
          {"sender", {{"login", creator}, {"id", 101}, {"type", "User"}}},
          {"installation", {{"id", 119022551}}}};
}

}  // namespace opsgate::test
