#include "adapters/discord/discord_rest.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace opsgate::adapters::discord {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> segments_of(std::string_view path) {
  std::vector<std::string_view> out;
  const auto query = path.find('?');
  path = path.substr(0, query);
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto end = path.find('/');
    out.push_back(path.substr(0, end));
    path.remove_prefix(end == std::string_view::npos ? path.size() : end);
  }
  return out;
}

// Interaction callbacks and webhook follow-ups: no bot token, no global limit.
bool is_interaction_route(const RouteKey& key) {
  return key.major.rfind("webhooks/", 0) == 0 || key.route.find(" /interactions/") != std::string::npos;
}

std::optional<double> number_header(const net::HttpClientResponse& response, std::string_view name) {
  const auto value = response.header(name);
  if (!value) {
    return std::nullopt;
  }
  const std::string text(*value);
  char* end = nullptr;
  const double parsed = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(parsed) || parsed < 0) {
    return std::nullopt;
  }
  return parsed;
}

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(std::min(seconds, 86400.0) * 1000.0)));
}

// An interaction token is a credential in the URL path (/webhooks/{app}/{token},
// /interactions/{id}/{token}/callback): the HTTP client's error messages quote
// the path, and they reach logs, chat and the audit log.
std::string without_interaction_token(std::string text, std::string_view path) {
  const auto segments = segments_of(path);
  if (segments.size() < 3 || (segments[0] != "webhooks" && segments[0] != "interactions") || segments[2].empty()) {
    return text;
  }
  const std::string token(segments[2]);
  for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), "{token}");
  }
  return text;
}

}  // namespace

RouteKey route_key(std::string_view method, std::string_view path) {
  const auto segments = segments_of(path);
  RouteKey key;
  key.route = std::string(method) + " ";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view s = segments[i];
    const std::string_view top = segments[0];
    // The major parameter is kept apart, so a route shares its bucket name
    // across channels while each channel has its own count.
    const bool major = (i == 1 && (top == "channels" || top == "guilds" || top == "webhooks")) ||
                       (i == 2 && top == "webhooks");
    if (major) {
      key.major += (key.major.empty() ? std::string(top) + "/" : "/") + std::string(s);
      key.route += "/{major}";
    } else if (top == "interactions" && (i == 1 || i == 2)) {
      key.route += i == 1 ? "/{id}" : "/{token}";
    } else if (all_digits(s)) {
      key.route += "/{id}";
    } else {
      key.route += "/" + std::string(s);
    }
  }
  return key;
}

DiscordRest::DiscordRest(net::HttpClient& http, DiscordRestOptions options) : http_(http), options_(std::move(options)) {}

std::string DiscordRest::state_key(const RouteKey& key) const {
  const auto it = bucket_of_route_.find(key.route);
  return (it == bucket_of_route_.end() ? key.route : it->second) + "|" + key.major;
}

std::chrono::milliseconds DiscordRest::reserve(const RouteKey& key, bool global_limited, bool& global_wait) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration wait{0};
  global_wait = false;
  if (global_limited && global_until_ > now) {
    wait = global_until_ - now;
    global_wait = true;
  }
  if (global_limited) {
    while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1)) {
      recent_.pop_front();
    }
    if (static_cast<int>(recent_.size()) >= options_.global_per_second) {
      wait = std::max<std::chrono::steady_clock::duration>(wait, recent_.front() + std::chrono::seconds(1) - now);
      global_wait = true;
    }
  }
  auto bucket = buckets_.find(state_key(key));
  if (bucket != buckets_.end() && bucket->second.reset_at <= now) {
    buckets_.erase(bucket);  // the window passed: whatever Discord says next counts
    bucket = buckets_.end();
  }
  if (bucket != buckets_.end() && bucket->second.remaining <= 0) {
    wait = std::max<std::chrono::steady_clock::duration>(wait, bucket->second.reset_at - now);
    if (!global_wait || bucket->second.reset_at - now >= wait) {
      global_wait = false;
    }
  }
  if (wait > std::chrono::steady_clock::duration::zero()) {
    if (global_wait) {
      ++stats_.global_waits;
    } else {
      ++stats_.bucket_waits;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1);
  }
  if (bucket != buckets_.end()) {
    --bucket->second.remaining;
  }
  if (global_limited) {
    recent_.push_back(now);
  }
  return std::chrono::milliseconds(0);
}

void DiscordRest::learn(const RouteKey& key, const net::HttpClientResponse& response) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (const auto name = response.header("X-RateLimit-Bucket"); name && !name->empty()) {
    bucket_of_route_[key.route] = std::string(*name);
  }
  const auto remaining = number_header(response, "X-RateLimit-Remaining");
  const auto reset_after = number_header(response, "X-RateLimit-Reset-After");
  if (remaining && reset_after) {
    Bucket& b = buckets_[state_key(key)];
    b.remaining = static_cast<int>(*remaining);
    b.reset_at = now + seconds_to_ms(*reset_after);
  }
  if (response.status != 429) {
    return;
  }
  // 429: the body's retry_after (seconds, fractional), else the Retry-After header.
  double retry_after = number_header(response, "Retry-After").value_or(1.0);
  bool global = false;
  const json body = json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    if (const auto it = body.find("retry_after"); it != body.end() && it->is_number() && it->get<double>() >= 0) {
      retry_after = it->get<double>();
    }
    if (const auto it = body.find("global"); it != body.end() && it->is_boolean()) {
      global = it->get<bool>();
    }
  }
  if (const auto header = response.header("X-RateLimit-Global"); header && *header == "true") {
    global = true;
  }
  const auto until = now + seconds_to_ms(retry_after);
  if (global) {
    global_until_ = std::max(global_until_, until);
  } else {
    Bucket& b = buckets_[state_key(key)];
    b.remaining = 0;
    b.reset_at = std::max(b.reset_at, until);
  }
}

asio::awaitable<Result<net::HttpClientResponse>> DiscordRest::call(std::string method, std::string path, std::string body,
                                                                   std::string content_type) {
  const RouteKey key = route_key(method, path);
  const bool interaction = is_interaction_route(key);
  const auto executor = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    // A bounded number of pauses: each is at most max_wait, and each is
    // followed by a send (a fresh bucket) or a 429 that counts as a retry.
    for (int pauses = 0;; ++pauses) {
      bool global_wait = false;
      const auto wait = reserve(key, !interaction, global_wait);
      if (wait.count() == 0) {
        break;
      }
      if (wait > options_.max_wait || pauses >= 8) {
        co_return fail(Errc::unavailable, "Discord rate limit on " + key.route + ": next slot in " +
                                              std::to_string(wait.count()) + " ms, longer than the " +
                                              std::to_string(options_.max_wait.count()) + " ms opsgate waits");
      }
      asio::steady_timer timer(executor, wait);
      auto token = asio::as_tuple(asio::use_awaitable);
      auto [ec] = co_await timer.async_wait(token);
      if (ec) {
        co_return fail(Errc::unavailable, "cancelled while waiting for Discord's rate limit");
      }
    }
    net::HttpClientRequest request;
    request.method = method;
    request.url = options_.api_base + path;
    request.body = body;
    request.timeout = options_.timeout;
    request.ca_file = options_.ca_file;
    request.verify_tls = options_.verify_tls;
    request.headers.emplace_back("User-Agent", "DiscordBot (https://github.com/opsgate/opsgate, 0.1)");
    if (!body.empty() || method != "GET") {
      request.headers.emplace_back("Content-Type", content_type);
    }
    if (!interaction && !options_.bot_token.empty()) {
      request.headers.emplace_back("Authorization", "Bot " + options_.bot_token.reveal());
    }
    auto response = co_await http_.send(std::move(request));
    if (!response) {
      co_return fail(response.error().code, without_interaction_token(response.error().message, path));
    }
    learn(key, *response);
    if (response->status != 429 || attempt >= options_.max_429_retries) {
      if (response->status == 429) {
        spdlog::warn("discord: {} still rate limited after {} retries", key.route, attempt);
      }
      co_return response;
    }
    {
      std::lock_guard lock(mutex_);
      ++stats_.retries_after_429;
    }
  }
}

RestStats DiscordRest::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace opsgate::adapters::discord
