#include "src/gates/github.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <charconv>
#include <mutex>

#include <spdlog/spdlog.h>

#include "src/gates/gate_api.hpp"
#include "src/gates/gates_config.hpp"
#include "src/core/encoding.hpp"

namespace opsgate::gates {

namespace asio = boost::asio;
using nlohmann::json;

GithubConfig parse_github_config(const ConfigNode& node, const Inventory& inventory) {
  GithubConfig config;
  config.webhook_secret = node.secret("webhook_secret");
  if (config.webhook_secret.reveal().size() < 16) {
    node.fail("webhook_secret", "is shorter than 16 characters; use a high-entropy secret (openssl rand -hex 32)");
  }
  config.issuer = node.str_or("client_id", node.str_or("app_id", ""));
  if (config.issuer.empty()) {
    node.fail("client_id", "give the GitHub App's client_id (or app_id): it signs the app's JWT");
  }
  config.private_key = node.secret("private_key");
  if (config.private_key.reveal().find("PRIVATE KEY-----") == std::string::npos) {
    node.fail("private_key", "is not a PEM private key (GitHub App settings → Generate a private key)");
  }
  if (!github_app_jwt(config.private_key.reveal(), config.issuer, 1'800'000'000)) {
    node.fail("private_key", "cannot be read as an RSA private key");
  }
  config.api_base = node.str_or("api_base", config.api_base);
  while (!config.api_base.empty() && config.api_base.back() == '/') config.api_base.pop_back();
  config.path = node.str_or("path", config.path);
  config.client = node.str_or("client", config.client);
  config.repositories = read_platform_targets(node.child("repositories"), inventory);
  if (const auto envs = node.optional_child("environments")) {
    config.environments = read_platform_environments(*envs, inventory);
  }
  node.finish();
  return config;
}

bool github_signature_ok(std::string_view secret, std::string_view raw_body, std::string_view header) {
  const std::string expected = "sha256=" + crypto::hmac_sha256_hex(secret, raw_body);
  return crypto::constant_time_equal(expected, header);
}

Result<std::string> github_app_jwt(const std::string& private_key_pem, const std::string& issuer, std::int64_t now_s) {
  BIO* bio = BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size()));
  EVP_PKEY* key = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (key == nullptr) {
    return fail(Errc::invalid_input, "the GitHub App private key is not a PEM RSA key");
  }
  const json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  const json claims = {{"iat", now_s - 60}, {"exp", now_s + 540}, {"iss", issuer}};
  const std::string input = encoding::base64url_encode(header.dump()) + "." +
                            encoding::base64url_encode(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  std::string signature;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) {
    return fail(Errc::invalid_input, "signing the GitHub App JWT failed (is the key RSA?)");
  }
  return input + "." + encoding::base64url_encode(signature);
}

namespace {

std::string text_at(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return {};
    at = &(*at)[key];
  }
  if (at->is_string()) return at->get<std::string>();
  if (at->is_number_integer()) return std::to_string(at->get<std::int64_t>());
  return {};
}

struct Hook {
  GateService& service;
  GithubConfig config;
  std::shared_ptr<const Inventory> inventory;
};

asio::awaitable<net::HttpResponse> on_webhook(std::shared_ptr<Hook> hook, net::HttpRequest request) {
  const std::string delivery(request.header_or_empty("X-GitHub-Delivery"));
  if (!github_signature_ok(hook->config.webhook_secret.reveal(), request.body,
                           request.header_or_empty("X-Hub-Signature-256"))) {
    spdlog::warn("github: refused delivery {} from {}: X-Hub-Signature-256 does not match gates.github.webhook_secret",
                 delivery, request.remote_address);
    co_return net::HttpResponse::text(401, "signature mismatch\n");
  }
  if (request.header_or_empty("X-GitHub-Event") != "deployment_protection_rule") {
    co_return net::HttpResponse::text(200, "ignored: not a deployment_protection_rule event\n");
  }
  const json body = json::parse(request.body, nullptr, false);
  if (!body.is_object() || text_at(body, {"action"}) != "requested") {
    co_return net::HttpResponse::text(200, "ignored: action is not requested\n");
  }
  const std::string environment = text_at(body, {"environment"});
  const std::string installation = text_at(body, {"installation", "id"});
  const std::string full_name = text_at(body, {"repository", "full_name"});
  std::string run_id = text_at(body, {"workflow_run", "id"});
  const std::string callback_url = text_at(body, {"deployment_callback_url"});
  if (run_id.empty()) {
    const auto runs = callback_url.find("/actions/runs/");
    const auto end = callback_url.find("/deployment_protection_rule");
    if (runs != std::string::npos && end != std::string::npos && end > runs + 14) {
      run_id = callback_url.substr(runs + 14, end - runs - 14);
    }
  }
  const bool numeric_run = !run_id.empty() && run_id.find_first_not_of("0123456789") == std::string::npos;
  if (environment.empty() || installation.empty() || full_name.empty() || !numeric_run) {
    spdlog::warn("github: delivery {} lacks environment, installation.id, repository or the run id; no gate", delivery);
    co_return net::HttpResponse::text(200, "ignored: incomplete payload\n");
  }
  const auto target = hook->config.repositories.find(full_name);
  std::string env;
  if (const auto mapped = hook->config.environments.find(environment); mapped != hook->config.environments.end()) {
    env = mapped->second;
  } else if (const Environment* e = hook->inventory->find_env(environment)) {
    env = e->name;
  }
  if (target == hook->config.repositories.end() || env.empty()) {
    spdlog::warn("github: delivery {}: repository {} or environment {} is not mapped (gates.github.repositories, "
                 "environments); no gate",
                 delivery, full_name, environment);
    co_return net::HttpResponse::text(200, "ignored: repository or environment not mapped\n");
  }
  const std::string sha = text_at(body, {"deployment", "sha"}).empty() ? text_at(body, {"sha"})
                                                                        : text_at(body, {"deployment", "sha"});
  const std::string ref = text_at(body, {"deployment", "ref"});
  GateAsk ask;
  ask.client = hook->config.client;
  ask.source = "github";
  ask.dedup_key = "github:" + text_at(body, {"repository", "id"}) + ":" + run_id + ":" + environment + ":" +
                  text_at(body, {"deployment", "id"});
  ask.request.target = target->second;
  ask.request.env = env;
  ask.request.version = sha.size() > 12 ? sha.substr(0, 12) : (sha.empty() ? ref : sha);
  ask.request.commit = sha;
  ask.request.run_url = "https://github.com/" + full_name + "/actions/runs/" + run_id;
  ask.request.summary = "GitHub Actions, " + text_at(body, {"event"}) + " on " + ref + " to environment " + environment;
  ask.request.triggered_by = text_at(body, {"deployment", "creator", "login"});
  ask.require_known_trigger = false;
  ask.callback_kind = "github";
  // The review URL is built from the repository and the run, never taken
  // from the payload: the token must go to the configured API only.
  ask.callback = json{{"installation_id", installation},
                      {"repository", full_name},
                      {"run_id", run_id},
                      {"environment", environment}};
  auto created = co_await hook->service.create(std::move(ask));
  if (!created) {
    spdlog::warn("github: delivery {}: no gate: {}", delivery, created.error().message);
    // 200 all the same: GitHub does not retry, and a 4xx only marks the delivery failed.
    co_return net::HttpResponse::json(200, json{{"accepted", false}, {"reason", created.error().message}});
  }
  co_return net::HttpResponse::json(200, json{{"accepted", true}, {"gate", created->gate.id}});
}

class GithubNotifier final : public Notifier {
 public:
  GithubNotifier(GithubConfig config, net::HttpClient& http, const Clock& clock)
      : config_(std::move(config)), http_(http), clock_(clock) {}
  std::string_view kind() const override { return "github"; }

  asio::awaitable<DeliveryOutcome> deliver(Gate gate, json /*gate_json*/) override {
    const std::string installation = gate.callback.value("installation_id", "");
    auto token = co_await installation_token(installation, false);
    if (!token) {
      co_return DeliveryOutcome{token.error().code == Errc::denied ? DeliveryOutcome::Kind::terminal
                                                                    : DeliveryOutcome::Kind::retry,
                                token.error().message, {}};
    }
    auto answer = co_await review(gate, *token);
    if (answer && answer->status == 401) {
      // The token expired under us: one fresh token, one more try.
      token = co_await installation_token(installation, true);
      if (!token) {
        co_return DeliveryOutcome{DeliveryOutcome::Kind::retry, token.error().message, {}};
      }
      answer = co_await review(gate, *token);
    }
    if (answer && answer->status == 403 && answer->header("x-ratelimit-remaining").value_or("") == "0") {
      std::int64_t reset = 0;
      const std::string_view value = answer->header("x-ratelimit-reset").value_or("");
      std::from_chars(value.data(), value.data() + value.size(), reset);
      const std::int64_t wait = std::max<std::int64_t>(1, reset - to_unix_ms(clock_.now()) / 1000);
      co_return DeliveryOutcome{DeliveryOutcome::Kind::retry, "GitHub rate limit", std::chrono::seconds(std::min<std::int64_t>(wait, 3600))};
    }
    DeliveryOutcome outcome = classify(answer);
    if (answer && answer->status == 422) {
      outcome.detail += " (nothing pending for this app and environment: decided already, run cancelled, or an admin bypassed the rule)";
    }
    co_return outcome;
  }

 private:
  std::vector<std::pair<std::string, std::string>> headers(const std::string& bearer) const {
    return {{"Accept", "application/vnd.github+json"},
            {"X-GitHub-Api-Version", "2022-11-28"},
            {"Authorization", "Bearer " + bearer},
            {"Content-Type", "application/json"}};
  }

  asio::awaitable<Result<net::HttpClientResponse>> review(const Gate& gate, const std::string& token) {
    const std::string repository = gate.callback.value("repository", "");
    const std::string run_id = gate.callback.value("run_id", "");
    net::HttpClientRequest request;
    request.method = "POST";
    request.url = config_.api_base + "/repos/" + repository + "/actions/runs/" + run_id + "/deployment_protection_rule";
    request.headers = headers(token);
    std::string comment = gate.comment;
    if (comment.size() > 1024) comment = comment.substr(0, 1020) + "…";
    request.body = json{{"environment_name", gate.callback.value("environment", "")},
                        {"state", gate.state == GateState::approved ? "approved" : "rejected"},
                        {"comment", comment}}
                       .dump(-1, ' ', false, json::error_handler_t::replace);
    request.connect_timeout = std::chrono::seconds(5);
    request.timeout = std::chrono::seconds(30);
    auto answer = co_await http_.send(std::move(request));
    co_return answer;
  }

  // Errc::denied when GitHub refuses the app (terminal); else retryable.
  asio::awaitable<Result<std::string>> installation_token(std::string installation, bool fresh) {
    const std::int64_t now_s = to_unix_ms(clock_.now()) / 1000;
    {
      std::lock_guard lock(mutex_);
      const auto cached = tokens_.find(installation);
      if (!fresh && cached != tokens_.end() && cached->second.second - 300 > now_s) {
        co_return cached->second.first;
      }
    }
    auto jwt = github_app_jwt(config_.private_key.reveal(), config_.issuer, now_s);
    if (!jwt) {
      co_return fail(Errc::denied, jwt.error().message);
    }
    net::HttpClientRequest request;
    request.method = "POST";
    request.url = config_.api_base + "/app/installations/" + installation + "/access_tokens";
    request.headers = headers(*jwt);
    request.body = R"({"permissions":{"deployments":"write"}})";
    request.connect_timeout = std::chrono::seconds(5);
    request.timeout = std::chrono::seconds(30);
    auto answer = co_await http_.send(std::move(request));
    if (!answer) {
      co_return fail(Errc::unavailable, "installation token: " + answer.error().message);
    }
    if (answer->status != 201) {
      const DeliveryOutcome why = classify(answer);
      co_return fail(why.kind == DeliveryOutcome::Kind::terminal ? Errc::denied : Errc::unavailable,
                     "installation token: " + why.detail);
    }
    const json body = json::parse(answer->body, nullptr, false);
    if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
      co_return fail(Errc::unavailable, "installation token: the answer has no token");
    }
    // Tokens live an hour; expires_at is not parsed, the hour is assumed.
    const std::string token = body["token"];
    std::lock_guard lock(mutex_);
    tokens_[installation] = {token, now_s + 3600};
    co_return token;
  }

  GithubConfig config_;
  net::HttpClient& http_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, std::int64_t>> tokens_;  // installation -> token, expiry (s)
};

}  // namespace

void install_github_webhook(net::HttpServer& server, GateService& service, const GithubConfig& config,
                            std::shared_ptr<const Inventory> inventory) {
  auto hook = std::make_shared<Hook>(Hook{service, config, std::move(inventory)});
  server.route("POST", config.path, [hook](net::HttpRequest request) { return on_webhook(hook, std::move(request)); });
}

std::unique_ptr<Notifier> make_github_notifier(const GithubConfig& config, net::HttpClient& http, const Clock& clock) {
  return std::make_unique<GithubNotifier>(config, http, clock);
}

}  // namespace opsgate::gates
