#pragma once
// Discord's REST API on the shared HttpClient, within Discord's rate limits:
// per-route buckets (X-RateLimit-*), 429 retry_after, the global limit
// (50 requests/s, interaction webhooks exempt). Owned by the Discord adapter;
// call() from any strand (state behind a mutex).

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"
#include "src/core/secret.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::adapters::discord {

struct DiscordRestOptions {
  std::string api_base = "https://discord.com/api/v10";  // no trailing '/'
  Secret bot_token;
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds max_wait{30000};  // a longer rate-limit pause fails the call instead
  int max_429_retries = 3;
  int global_per_second = 50;
  std::string ca_file;
  bool verify_tls = true;
};

// What the limiter did, for tests and /metrics-style reporting.
struct RestStats {
  int bucket_waits = 0;       // paused because a bucket was empty
  int global_waits = 0;       // paused for the global limit
  int retries_after_429 = 0;  // resent after a 429
};

// The bucket a request falls in before Discord names it: method and path
// with ids generalised, except the major parameter (channel, guild, webhook).
struct RouteKey {
  std::string route;  // "POST /channels/{id}/messages"
  std::string major;  // "channels/140000000000000001"
};
RouteKey route_key(std::string_view method, std::string_view path);

class DiscordRest {
 public:
  DiscordRest(net::HttpClient& http, DiscordRestOptions options);

  // `path` starts with '/' (relative to api_base). Any HTTP status is a
  // response (a 429 only after the retries); errors are the client's.
  boost::asio::awaitable<Result<net::HttpClientResponse>> call(std::string method, std::string path, std::string body,
                                                               std::string content_type = "application/json");

  RestStats stats() const;
  const DiscordRestOptions& options() const { return options_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Bucket {
    int remaining = 1;
    SteadyTime reset_at{};
  };
  // How long to wait before sending on `key` (zero: go, and the slot is taken).
  std::chrono::milliseconds reserve(const RouteKey& key, bool global_limited, bool& global_wait);
  void learn(const RouteKey& key, const net::HttpClientResponse& response);
  std::string state_key(const RouteKey& key) const;  // under mutex_

  net::HttpClient& http_;
  DiscordRestOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> bucket_of_route_;  // route -> X-RateLimit-Bucket
  std::map<std::string, Bucket> buckets_;              // bucket|major -> state
  SteadyTime global_until_{};
  std::deque<SteadyTime> recent_;  // send times in the last second (global limit)
  RestStats stats_;
};

}  // namespace opsgate::adapters::discord
