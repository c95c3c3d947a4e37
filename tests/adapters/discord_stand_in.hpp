#pragma once
// A stand-in Discord for the adapter's tests: REST (recording every call and
// answering like Discord: message objects, rate-limit headers, 429s when
// scripted) and the gateway WebSocket, on one 127.0.0.1:0 port with its own
// thread. Beast lives in discord_stand_in.cpp only. Plus Ed25519 helpers
// that sign requests with a real key generated per test.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace opsgate::test {

// A real Ed25519 key pair (OpenSSL); signs like Discord does.
class Ed25519Signer {
 public:
  Ed25519Signer();
  ~Ed25519Signer();
  Ed25519Signer(const Ed25519Signer&) = delete;
  Ed25519Signer& operator=(const Ed25519Signer&) = delete;
  std::string public_key_hex() const;
  std::string sign_hex(const std::string& message) const;  // 128 hex digits

 private:
  void* key_;  // EVP_PKEY*
};

struct RestCall {
  std::string method;
  std::string path;  // without the /api/v10 prefix, with the query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(std::string_view name) const;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct RestReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One gateway connection as the test sees it. Thread-safe.
class GatewayPeer {
 public:
  virtual ~GatewayPeer() = default;
  virtual void send(const nlohmann::json& frame) = 0;
  // The next frame the client sent, or nullopt after `timeout` or when closed.
  virtual std::optional<nlohmann::json> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5)) = 0;
  virtual void close(int code) = 0;
  // The close code the client sent (0: none yet); waits up to `timeout` for it or the end of the connection.
  virtual int client_close_code(std::chrono::milliseconds timeout = std::chrono::seconds(5)) = 0;
  virtual std::string target() const = 0;  // the request target ("/?v=10&encoding=json")
};

class DiscordStandIn {
 public:
  DiscordStandIn();
  ~DiscordStandIn();
  DiscordStandIn(const DiscordStandIn&) = delete;
  DiscordStandIn& operator=(const DiscordStandIn&) = delete;

  std::uint16_t port() const;
  std::string api_base() const { return "http://127.0.0.1:" + std::to_string(port()) + "/api/v10"; }
  std::string gateway_url() const { return "ws://127.0.0.1:" + std::to_string(port()) + "/gw"; }

  // Scripted answers: the first script returning a reply wins; otherwise
  // Discord's usual answer (a message object for message routes, 204 else).
  void script(std::function<std::optional<RestReply>(const RestCall&)> script);
  std::vector<RestCall> calls() const;
  // Waits (bounded) until `predicate` holds for the calls so far.
  bool wait_for(const std::function<bool(const std::vector<RestCall>&)>& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // The next gateway connection (nullptr after `timeout`).
  std::shared_ptr<GatewayPeer> accept_gateway(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace opsgate::test
