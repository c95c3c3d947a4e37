#pragma once
// Checks the bearer JWT of every inbound Bot Framework request: accepted alg,
// key by kid, signature, issuer, audience = app id, exp/nbf with skew, the
// key's endorsements, and the serviceurl claim against the activity.
// Owned by the Teams adapter; validate() from any strand.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/teams/jwks_cache.hpp"
#include "src/core/clock.hpp"
#include "src/core/error.hpp"

namespace opsgate::adapters::teams {

struct TokenSettings {
  std::string app_id;                                 // the audience
  std::string issuer = "https://api.botframework.com";
  std::chrono::seconds clock_skew{300};
};

// The pure claim checks (no signature): Errc::denied naming the first failure.
Result<void> check_claims(const nlohmann::json& claims, const TokenSettings& settings,
                          std::chrono::system_clock::time_point now, std::string_view service_url);

// The endorsement check: the key's endorsements must list the channel.
bool endorses(const std::vector<std::string>& endorsements, std::string_view channel_id);

class TokenValidator {
 public:
  TokenValidator(TokenSettings settings, JwksCache& keys, const Clock& clock);

  // `authorization` is the header value ("Bearer <jwt>"); returns the claims.
  boost::asio::awaitable<Result<nlohmann::json>> validate(std::string authorization, std::string channel_id,
                                                          std::string service_url);

 private:
  TokenSettings settings_;
  JwksCache& keys_;
  const Clock& clock_;
};

}  // namespace opsgate::adapters::teams
