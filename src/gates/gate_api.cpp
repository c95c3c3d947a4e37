#include "src/gates/gate_api.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

#include "src/core/duration.hpp"

namespace opsgate::gates {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/api/v1/gates/";
constexpr std::size_t kMaxKey = 128;
constexpr std::int64_t kMaxWaitS = 60;

std::string bearer(const net::HttpRequest& request) {
  const std::string_view header = request.header_or_empty("Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size() || !net::iequals_ascii(header.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return std::string(header.substr(kScheme.size()));
}

net::HttpResponse from_error(const Error& error) {
  switch (error.code) {
    case Errc::invalid_input:
      return api_error(400, "invalid_request", error.message, json::array({error.message}));
    case Errc::conflict:
      return api_error(409, "idempotency_conflict", error.message);
    case Errc::not_found:
      return api_error(404, "not_found", error.message);
    default:
      return api_error(503, "unavailable", error.message + "; try again");
  }
}

// Query parameter `name`, not decoded (the values here are plain).
std::string query_value(const std::string& query, std::string_view name) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const std::size_t end = std::min(query.find('&', at), query.size());
    const std::string_view pair(query.data() + at, end - at);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string{} : std::string(pair.substr(eq + 1));
    }
    at = end + 1;
  }
  return {};
}

struct Api {
  GateService& service;
  std::shared_ptr<const Inventory> inventory;
};

const GateClient* authenticate(const Api& api, const net::HttpRequest& request) {
  return api.service.config().client_by_token(bearer(request));
}

asio::awaitable<net::HttpResponse> create(std::shared_ptr<Api> api, net::HttpRequest request) {
  const GateClient* client = authenticate(*api, request);
  if (client == nullptr) {
    co_return api_error(401, "unauthenticated", "missing or unknown bearer token (Authorization: Bearer <client token>)");
  }
  const std::string key(request.header_or_empty("Idempotency-Key"));
  json details = json::array();
  if (key.empty() || key.size() > kMaxKey) {
    details.push_back("Idempotency-Key header: required, 1 to 128 characters (e.g. the CI run id and attempt)");
  }
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    details.push_back("body: expected a JSON object {\"target\",\"env\",\"version\",...}");
    co_return api_error(400, "invalid_request", "the request is not valid", details);
  }
  static const std::vector<std::string> kText = {"target", "env", "version", "commit", "change_url",
                                                 "summary", "run_url", "triggered_by"};
  for (const auto& [name, value] : body.items()) {
    const bool text = std::find(kText.begin(), kText.end(), name) != kText.end();
    if (name == "timeout_s") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1) {
        details.push_back("timeout_s: expected a positive integer (seconds)");
      }
    } else if (!text) {
      details.push_back(name + ": unknown field");
    } else if (!value.is_string() || (value.get<std::string>().size() > (name == "summary" ? 2000u : 500u))) {
      details.push_back(name + ": expected a string of at most " + (name == "summary" ? "2000" : "500") + " characters");
    }
  }
  for (const char* required : {"target", "env", "version"}) {
    if (!body.contains(required) || (body[required].is_string() && body[required].get<std::string>().empty())) {
      details.push_back(std::string(required) + ": required");
    }
  }
  if (!details.empty()) {
    co_return api_error(400, "invalid_request", "the request is not valid", details);
  }
  GateAsk ask;
  ask.client = client->name;
  ask.source = "api";
  ask.dedup_key = key;
  ask.request = request_from_json(body);
  const Target* target = api->inventory->find_target(ask.request.target);
  const Environment* env = api->inventory->find_env(ask.request.env);
  if (target != nullptr && env != nullptr && !client->may_gate(target->name, env->name)) {
    co_return api_error(403, "forbidden_env", "client " + client->name + " may not gate " + target->name + " in " +
                                                  env->name + " (gates.clients." + client->name + ".targets/envs)");
  }
  if (!client->callback_url.empty()) {
    ask.callback_kind = "webhook";
    ask.callback = json{{"client", client->name}};
  }
  auto created = co_await api->service.create(std::move(ask));
  if (!created) {
    co_return from_error(created.error());
  }
  json gate = co_await api->service.to_json(created->gate);
  net::HttpResponse response = net::HttpResponse::json(created->created ? 201 : 200, gate);
  response.headers.emplace_back("Location", gate.value("url", ""));
  co_return response;
}

asio::awaitable<net::HttpResponse> read(std::shared_ptr<Api> api, net::HttpRequest request) {
  const GateClient* client = authenticate(*api, request);
  if (client == nullptr) {
    co_return api_error(401, "unauthenticated", "missing or unknown bearer token (Authorization: Bearer <client token>)");
  }
  const std::string id = request.path.substr(kPrefix.size());
  if (id.empty() || id.find('/') != std::string::npos) {
    co_return api_error(404, "not_found", "no such gate");
  }
  std::int64_t wait_s = 0;
  const std::string wait = query_value(request.query, "wait");
  if (!wait.empty()) {
    std::int64_t plain = 0;
    const auto [end, ec] = std::from_chars(wait.data(), wait.data() + wait.size(), plain);
    if (ec == std::errc{} && end == wait.data() + wait.size()) {
      wait_s = plain;
    } else if (const auto parsed = parse_duration_seconds(wait)) {
      wait_s = *parsed;
    } else {
      co_return api_error(400, "invalid_request", "wait: expected seconds such as 30 or 30s",
                          json::array({"wait: expected 0 to 60 seconds"}));
    }
    wait_s = std::clamp<std::int64_t>(wait_s, 0, kMaxWaitS);
  }
  const auto executor = co_await asio::this_coro::executor;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  asio::steady_timer timer(executor);
  for (;;) {
    auto gate = co_await api->service.get(id);
    if (!gate || gate->client != client->name) {
      co_return api_error(404, "not_found", "no gate " + id + " for client " + client->name);
    }
    if (is_terminal(gate->state) || std::chrono::steady_clock::now() >= until) {
      json body = co_await api->service.to_json(*gate);
      net::HttpResponse response = net::HttpResponse::json(200, body);
      response.headers.emplace_back("Cache-Control", "no-store");
      co_return response;
    }
    // A poll of the database every 250 ms while a pipeline waits: one indexed
    // read; bounded by the 60 s cap.
    timer.expires_after(std::chrono::milliseconds(250));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return api_error(503, "unavailable", "opsgate is stopping; ask again");
    }
  }
}

asio::awaitable<net::HttpResponse> cancel(std::shared_ptr<Api> api, net::HttpRequest request) {
  const GateClient* client = authenticate(*api, request);
  if (client == nullptr) {
    co_return api_error(401, "unauthenticated", "missing or unknown bearer token (Authorization: Bearer <client token>)");
  }
  constexpr std::string_view kCancel = "/cancel";
  const std::string rest = request.path.substr(kPrefix.size());
  if (rest.size() <= kCancel.size() || rest.substr(rest.size() - kCancel.size()) != kCancel) {
    co_return api_error(404, "not_found", "POST /api/v1/gates/{id}/cancel is the only action on a gate");
  }
  const std::string id = rest.substr(0, rest.size() - kCancel.size());
  auto gate = co_await api->service.get(id);
  if (!gate || gate->client != client->name) {
    co_return api_error(404, "not_found", "no gate " + id + " for client " + client->name);
  }
  auto cancelled = co_await api->service.cancel(id);
  if (!cancelled) {
    if (cancelled.error().code == Errc::conflict) {
      co_return api_error(409, "already_decided", cancelled.error().message);
    }
    co_return from_error(cancelled.error());
  }
  json body = co_await api->service.to_json(*cancelled);
  co_return net::HttpResponse::json(200, body);
}

class WebhookNotifier final : public Notifier {
 public:
  WebhookNotifier(const GatesConfig& config, net::HttpClient& http) : config_(config), http_(http) {}
  std::string_view kind() const override { return "webhook"; }

  asio::awaitable<DeliveryOutcome> deliver(Gate gate, json gate_json) override {
    const GateClient* client = config_.client(gate.client);
    if (client == nullptr || client->callback_url.empty()) {
      co_return DeliveryOutcome{DeliveryOutcome::Kind::terminal, "client " + gate.client + " has no callback any more", {}};
    }
    net::HttpClientRequest request;
    request.method = "POST";
    request.url = client->callback_url;
    request.body = gate_json.dump(-1, ' ', false, json::error_handler_t::replace);
    request.headers = {{"Content-Type", "application/json"},
                       {"X-Opsgate-Gate", gate.id},
                       {"X-Opsgate-Signature-256", "sha256=" + crypto::hmac_sha256_hex(client->callback_secret.reveal(), request.body)}};
    request.connect_timeout = std::chrono::seconds(5);
    request.timeout = std::chrono::seconds(30);
    auto answer = co_await http_.send(std::move(request));
    co_return classify(answer);
  }

 private:
  const GatesConfig& config_;
  net::HttpClient& http_;
};

}  // namespace

net::HttpResponse api_error(int status, const std::string& code, const std::string& message, json details) {
  return net::HttpResponse::json(status, json{{"error", {{"code", code}, {"message", message}, {"details", details}}}});
}

DeliveryOutcome classify(const Result<net::HttpClientResponse>& answer) {
  if (!answer) {
    return DeliveryOutcome{DeliveryOutcome::Kind::retry, answer.error().message, {}};
  }
  const int status = answer->status;
  const std::string detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) {
    return DeliveryOutcome{DeliveryOutcome::Kind::done, detail, {}};
  }
  if (status == 429 || status >= 500) {
    std::chrono::seconds after{0};
    if (const auto retry = answer->header("Retry-After")) {
      std::int64_t seconds = 0;
      const auto [end, ec] = std::from_chars(retry->data(), retry->data() + retry->size(), seconds);
      if (ec == std::errc{} && seconds > 0) {
        after = std::chrono::seconds(std::min<std::int64_t>(seconds, 3600));
      }
    }
    return DeliveryOutcome{DeliveryOutcome::Kind::retry, detail, after};
  }
  std::string message = answer->body.substr(0, 300);
  const json body = json::parse(answer->body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    message = body["message"].get<std::string>();
  }
  return DeliveryOutcome{DeliveryOutcome::Kind::terminal, detail + (message.empty() ? "" : ": " + message), {}};
}

void install_gate_api(net::HttpServer& server, GateService& service, std::shared_ptr<const Inventory> inventory) {
  auto api = std::make_shared<Api>(Api{service, std::move(inventory)});
  server.route("POST", "/api/v1/gates", [api](net::HttpRequest request) { return create(api, std::move(request)); });
  server.route("GET", "/api/v1/gates/*", [api](net::HttpRequest request) { return read(api, std::move(request)); });
  server.route("POST", "/api/v1/gates/*", [api](net::HttpRequest request) { return cancel(api, std::move(request)); });
}

std::unique_ptr<Notifier> make_webhook_notifier(const GatesConfig& config, net::HttpClient& http) {
  return std::make_unique<WebhookNotifier>(config, http);
}

}  // namespace opsgate::gates
