#include "adapters/teams/jwks_cache.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "adapters/teams/activity.hpp"
#include "src/net/outbound_url.hpp"
#include "src/core/json_get.hpp"

namespace opsgate::adapters::teams {

JwksCache::JwksCache(JwksSettings settings, net::HttpClient& http, const Clock& clock)
    : settings_(std::move(settings)), http_(http), clock_(clock) {}

int JwksCache::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

std::optional<SigningKey> JwksCache::lookup(const std::string& kid) const {
  std::lock_guard lock(mutex_);
  const auto it = keys_.find(kid);
  if (it == keys_.end()) {
    return std::nullopt;
  }
  return it->second;
}

Result<std::map<std::string, SigningKey>> parse_jwks(const std::string& body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return fail(Errc::upstream, "the JWKS is not a JSON object with a keys array");
  }
  std::map<std::string, SigningKey> keys;
  for (const auto& jwk : doc["keys"]) {
    if (!jwk.is_object() || json_get::string_at(jwk, "kty") != "RSA") {
      continue;
    }
    const auto kid = jwk.find("kid");
    const auto n = jwk.find("n");
    const auto e = jwk.find("e");
    if (kid == jwk.end() || n == jwk.end() || e == jwk.end() || !kid->is_string() || !n->is_string() || !e->is_string()) {
      continue;
    }
    auto key = RsaPublicKey::from_jwk(n->get<std::string>(), e->get<std::string>());
    if (!key) {
      spdlog::warn("teams: skipping signing key {}: {}", kid->get<std::string>(), key.error().message);
      continue;
    }
    SigningKey entry{*key, {}};
    if (const auto endorsements = jwk.find("endorsements"); endorsements != jwk.end() && endorsements->is_array()) {
      for (const auto& channel : *endorsements) {
        if (channel.is_string()) {
          entry.endorsements.push_back(channel.get<std::string>());
        }
      }
    }
    keys[kid->get<std::string>()] = std::move(entry);
  }
  if (keys.empty()) {
    return fail(Errc::upstream, "the JWKS holds no usable RSA key");
  }
  return keys;
}

boost::asio::awaitable<Result<std::map<std::string, SigningKey>>> JwksCache::fetch() {
  net::HttpClientRequest metadata_request;
  metadata_request.url = settings_.openid_metadata_url;
  metadata_request.timeout = settings_.timeout;
  metadata_request.max_retries = 1;
  metadata_request.max_response_bytes = 256 * 1024;
  auto metadata = co_await http_.send(std::move(metadata_request));
  if (!metadata) {
    co_return fail(metadata.error().code, "OpenID metadata " + settings_.openid_metadata_url + ": " + metadata.error().message);
  }
  if (metadata->status != 200) {
    co_return fail(Errc::upstream, "OpenID metadata " + settings_.openid_metadata_url + " answered " + std::to_string(metadata->status));
  }
  const auto doc = nlohmann::json::parse(metadata->body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("jwks_uri") || !doc["jwks_uri"].is_string()) {
    co_return fail(Errc::upstream, "OpenID metadata " + settings_.openid_metadata_url + " has no jwks_uri");
  }
  net::HttpClientRequest keys_request;
  keys_request.url = doc["jwks_uri"].get<std::string>();
  keys_request.timeout = settings_.timeout;
  keys_request.max_retries = 1;
  keys_request.max_response_bytes = 256 * 1024;
  const std::string keys_url = keys_request.url;
  // Signing keys come from there: the same rule as openid_metadata_url.
  if (auto checked = net::check_outbound_url(keys_url, net::UrlSecrecy::sensitive); !checked) {
    co_return fail(Errc::upstream, "OpenID metadata " + settings_.openid_metadata_url + " names a jwks_uri opsgate refuses: " +
                                       checked.error().message);
  }
  auto keys = co_await http_.send(std::move(keys_request));
  if (!keys) {
    co_return fail(keys.error().code, "JWKS " + keys_url + ": " + keys.error().message);
  }
  if (keys->status != 200) {
    co_return fail(Errc::upstream, "JWKS " + keys_url + " answered " + std::to_string(keys->status));
  }
  co_return parse_jwks(keys->body);
}

bool JwksCache::claim_fetch(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (fetching_ || (failed_ && now - failed_at_ < settings_.failure_backoff)) {
    return false;
  }
  fetching_ = true;
  return true;
}

boost::asio::awaitable<bool> JwksCache::fetch_and_store(std::chrono::system_clock::time_point now, std::string why) {
  auto fresh = co_await fetch();
  std::lock_guard lock(mutex_);
  fetching_ = false;
  if (!fresh) {
    // Keep the old keys: a metadata outage must not lock every user out.
    failed_ = true;
    failed_at_ = now;
    spdlog::warn("teams: {} failed: {}; next try in {} s at the earliest", why, fresh.error().message,
                 settings_.failure_backoff.count());
    co_return false;
  }
  keys_ = std::move(*fresh);
  have_keys_ = true;
  failed_ = false;
  fetched_at_ = now;
  ++fetches_;
  co_return true;
}

boost::asio::awaitable<void> JwksCache::wait_for_flight() {
  const auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  // Two fetches (metadata, keys) at most, each bounded by the timeout.
  const auto deadline = std::chrono::steady_clock::now() + 2 * settings_.timeout + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex_);
      if (!fetching_) {
        co_return;
      }
    }
    timer.expires_after(std::chrono::milliseconds(10));
    auto waited = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)waited;
  }
}

boost::asio::awaitable<Result<SigningKey>> JwksCache::key(std::string kid) {
  const auto now = clock_.now();
  bool due = false;
  bool have = false;
  {
    std::lock_guard lock(mutex_);
    due = !have_keys_ || now - fetched_at_ >= settings_.refresh_every;
    have = have_keys_;
  }
  bool fetched_now = false;
  if (due) {
    if (claim_fetch(now)) {
      fetched_now = co_await fetch_and_store(now, "refreshing signing keys");
    } else if (!have) {
      co_await wait_for_flight();  // nothing to check against yet: wait for the one fetch in flight
    }
    // Else: another request is refreshing (or one failed just now); the keys held still serve.
  }
  if (auto found = lookup(kid)) {
    co_return *found;
  }
  bool may_refetch = false;
  {
    std::lock_guard lock(mutex_);
    may_refetch = !fetched_now && (!tried_unknown_ || now - unknown_refetch_at_ >= settings_.unknown_kid_every);
  }
  if (may_refetch && claim_fetch(now)) {
    {
      std::lock_guard lock(mutex_);
      tried_unknown_ = true;
      unknown_refetch_at_ = now;
    }
    co_await fetch_and_store(now, "refetching signing keys for an unknown kid");
    if (auto found = lookup(kid)) {
      co_return *found;
    }
  }
  co_return fail(Errc::denied, "no signing key with kid '" + kid + "'");
}

}  // namespace opsgate::adapters::teams
