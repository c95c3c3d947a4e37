#pragma once
// The Bot Framework's signing keys: OpenID metadata → jwks_uri → RSA keys by
// kid. Refreshed every 24 h, and on an unknown kid at most once an hour, so a
// flood of forged kids cannot make us hammer the metadata endpoint.
// Owned by the Teams adapter; thread-safe (a mutex, never held across I/O).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "adapters/teams/jwt.hpp"
#include "src/core/clock.hpp"
#include "src/core/error.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::adapters::teams {

struct JwksSettings {
  std::string openid_metadata_url = "https://login.botframework.com/v1/.well-known/openidconfiguration";
  std::chrono::seconds refresh_every{24 * 3600};
  std::chrono::seconds unknown_kid_every{3600};
  std::chrono::milliseconds timeout{5000};
  // After a failed fetch no other is tried for this long (requests use the
  // keys held, or are refused): an outage of Microsoft's endpoint is not
  // hammered once per incoming request.
  std::chrono::seconds failure_backoff{30};
};

struct SigningKey {
  std::shared_ptr<const RsaPublicKey> key;
  std::vector<std::string> endorsements;  // channel ids the key may sign for ("msteams")
};

class JwksCache {
 public:
  JwksCache(JwksSettings settings, net::HttpClient& http, const Clock& clock);

  // The key for `kid`: from the cache, after a due refresh, or after one
  // refetch for an unknown kid (at most once per unknown_kid_every).
  boost::asio::awaitable<Result<SigningKey>> key(std::string kid);

  int fetches() const;  // completed metadata+keys fetches, for tests and logs

 private:
  boost::asio::awaitable<Result<std::map<std::string, SigningKey>>> fetch();
  // Single flight: true when this caller may fetch now (no fetch in flight, no recent failure).
  bool claim_fetch(std::chrono::system_clock::time_point now);
  // Fetches (the claim held), stores the outcome, releases the claim. True on success.
  boost::asio::awaitable<bool> fetch_and_store(std::chrono::system_clock::time_point now, std::string why);
  // Waits (bounded) while another caller's fetch is in flight.
  boost::asio::awaitable<void> wait_for_flight();
  std::optional<SigningKey> lookup(const std::string& kid) const;

  JwksSettings settings_;
  net::HttpClient& http_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, SigningKey> keys_;
  std::chrono::system_clock::time_point fetched_at_{};
  std::chrono::system_clock::time_point unknown_refetch_at_{};
  bool have_keys_ = false;
  bool tried_unknown_ = false;
  bool fetching_ = false;
  bool failed_ = false;
  std::chrono::system_clock::time_point failed_at_{};
  int fetches_ = 0;
};

// Parses a JWKS document; RSA keys with kid, n and e only (others are skipped).
Result<std::map<std::string, SigningKey>> parse_jwks(const std::string& body);

}  // namespace opsgate::adapters::teams
