#include "adapters/teams/token_validator.hpp"

#include <algorithm>
#include <cctype>

#include "adapters/teams/activity.hpp"
#include "src/core/json_get.hpp"
#include "src/core/text.hpp"

namespace opsgate::adapters::teams {

namespace {

std::optional<std::int64_t> numeric_date(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(it->get<double>());
}

bool audience_matches(const nlohmann::json& claims, const std::string& app_id) {
  const auto it = claims.find("aud");
  if (it == claims.end()) {
    return false;
  }
  if (it->is_string()) {
    return it->get<std::string>() == app_id;
  }
  if (it->is_array()) {
    return std::any_of(it->begin(), it->end(), [&](const auto& a) { return a.is_string() && a.template get<std::string>() == app_id; });
  }
  return false;
}

}  // namespace

bool endorses(const std::vector<std::string>& endorsements, std::string_view channel_id) {
  // Stricter than the SDKs (which accept a key without endorsements): every
  // Bot Framework key lists its channels, so one that lists none signs nothing.
  return std::find(endorsements.begin(), endorsements.end(), channel_id) != endorsements.end();
}

Result<void> check_claims(const nlohmann::json& claims, const TokenSettings& settings,
                          std::chrono::system_clock::time_point now, std::string_view service_url) {
  if (json_get::string_at(claims, "iss") != settings.issuer) {
    return fail(Errc::denied, "issuer is not " + settings.issuer);
  }
  if (settings.app_id.empty() || !audience_matches(claims, settings.app_id)) {
    return fail(Errc::denied, "audience is not this bot's app id");
  }
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t skew = settings.clock_skew.count();
  const auto exp = numeric_date(claims, "exp");
  if (!exp) {
    return fail(Errc::denied, "the token has no exp");
  }
  if (now_s > *exp + skew) {
    return fail(Errc::denied, "the token expired");
  }
  if (const auto nbf = numeric_date(claims, "nbf"); nbf && now_s + skew < *nbf) {
    return fail(Errc::denied, "the token is not valid yet");
  }
  const auto claimed = claims.find("serviceurl");
  if (claimed == claims.end() || !claimed->is_string() || claimed->get<std::string>() != service_url) {
    return fail(Errc::denied, "the serviceurl claim does not match the activity's serviceUrl");
  }
  return {};
}

TokenValidator::TokenValidator(TokenSettings settings, JwksCache& keys, const Clock& clock)
    : settings_(std::move(settings)), keys_(keys), clock_(clock) {}

boost::asio::awaitable<Result<nlohmann::json>> TokenValidator::validate(std::string authorization, std::string channel_id,
                                                                        std::string service_url) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || !text::iequals(std::string_view(authorization).substr(0, kBearer.size()), kBearer)) {
    co_return fail(Errc::denied, "no bearer token");
  }
  auto jwt = decode_jwt(std::string_view(authorization).substr(kBearer.size()));
  if (!jwt) {
    co_return tl::unexpected(jwt.error());
  }
  // The algorithm is checked before any key is looked at: "none" and HS*
  // never reach a verifier.
  if (!is_accepted_alg(jwt->alg)) {
    co_return fail(Errc::denied, "algorithm '" + jwt->alg + "' is not accepted (RS256/384/512 only)");
  }
  if (jwt->kid.empty()) {
    co_return fail(Errc::denied, "the token names no kid");
  }
  const std::string kid = jwt->kid;
  auto key = co_await keys_.key(kid);
  if (!key) {
    co_return tl::unexpected(key.error());
  }
  if (!key->key->verify(jwt->alg, jwt->signing_input, jwt->signature)) {
    co_return fail(Errc::denied, "bad signature");
  }
  if (!endorses(key->endorsements, channel_id)) {
    co_return fail(Errc::denied, "the signing key does not endorse channel '" + channel_id + "'");
  }
  auto claims_ok = check_claims(jwt->claims, settings_, clock_.now(), service_url);
  if (!claims_ok) {
    co_return tl::unexpected(claims_ok.error());
  }
  co_return std::move(jwt->claims);
}

}  // namespace opsgate::adapters::teams
