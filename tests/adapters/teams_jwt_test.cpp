#include <doctest/doctest.h>

#include "adapters/teams/jwks_cache.hpp"
#include "adapters/teams/jwt.hpp"
#include "adapters/teams/token_validator.hpp"
#include "src/net/http_client.hpp"
#include "tests/support/loki_stand_in.hpp"
#include "tests/support/teams_stand_in.hpp"

namespace teams = opsgate::adapters::teams;
using opsgate::test::bot_claims;
using opsgate::test::json;
using opsgate::test::MovableClock;
using opsgate::test::RsaSigner;
using opsgate::test::run_on;
using opsgate::test::TeamsStandIn;

namespace {

constexpr const char* kAppId = "00000000-aaaa-bbbb-cccc-000000000001";
constexpr const char* kServiceUrl = "https://smba.trafficmanager.net/amer/";

// A validator against the stand-in's keys, with its own io_context.
struct Fixture {
  TeamsStandIn microsoft{kAppId, "s3cret"};
  const RsaSigner& signer = opsgate::test::shared_signer();
  MovableClock clock;
  opsgate::net::HttpClient http;
  teams::JwksCache keys;
  teams::TokenValidator validator;
  boost::asio::io_context io;

  Fixture()
      : keys(jwks_settings(microsoft), http, clock), validator(token_settings(), keys, clock) {
    microsoft.publish({signer.jwk()});
  }

  static teams::JwksSettings jwks_settings(const TeamsStandIn& stand_in) {
    teams::JwksSettings s;
    s.openid_metadata_url = stand_in.metadata_url();
    return s;
  }
  static teams::TokenSettings token_settings() {
    teams::TokenSettings s;
    s.app_id = kAppId;
    return s;
  }

  json claims() const { return bot_claims(kAppId, kServiceUrl, clock.seconds()); }

  opsgate::Result<json> check(const std::string& token, std::string service_url = kServiceUrl,
                              std::string channel = "msteams") {
    std::string header = "Bearer " + token;
    return run_on(io, validator.validate(header, channel, service_url));
  }
};

std::string reason(const opsgate::Result<json>& r) { return r ? std::string("accepted") : r.error().message; }

}  // namespace

TEST_SUITE("adapters/teams/jwt") {
  TEST_CASE("base64url round-trips every length and refuses foreign characters") {
    for (const std::string text : {"", "a", "ab", "abc", "abcd", "\xff\xfe\x00\x01 binary"}) {
      const auto decoded = opsgate::encoding::base64url_decode(opsgate::encoding::base64url_encode(text));
      REQUIRE(decoded);
      CHECK(*decoded == text);
    }
    CHECK(opsgate::encoding::base64url_encode("\xfb\xff") == "-_8");
    CHECK_FALSE(opsgate::encoding::base64url_decode("ab+/"));
    CHECK_FALSE(opsgate::encoding::base64url_decode("a"));
    CHECK(opsgate::encoding::base64url_decode("YQ==") == std::optional<std::string>("a"));
  }

  TEST_CASE("malformed tokens are refused without throwing") {
    for (const std::string token : {"", "abc", "a.b", "a.b.c.d", "!!.??.##", "e30.W10.", "W10.e30.AA"}) {
      CHECK_FALSE(teams::decode_jwt(token));
    }
  }

  TEST_CASE("a token the Bot Framework would send is accepted, RS256, RS384 and RS512") {
    Fixture f;
    for (const char* alg : {"RS256", "RS384", "RS512"}) {
      const auto result = f.check(f.signer.sign(f.claims(), alg));
      CHECK_MESSAGE(result, alg, " ", reason(result));
    }
    CHECK(f.keys.fetches() == 1);  // cached after the first
    CHECK(f.microsoft.metadata_fetches() == 1);
  }

  TEST_CASE("expired and not-yet-valid tokens are refused, within 5 minutes of skew they pass") {
    Fixture f;
    json claims = f.claims();
    claims["exp"] = f.clock.seconds() - 301;
    CHECK(reason(f.check(f.signer.sign(claims))) == "the token expired");
    claims["exp"] = f.clock.seconds() - 200;
    CHECK(f.check(f.signer.sign(claims)));
    claims = f.claims();
    claims["nbf"] = f.clock.seconds() + 301;
    CHECK(reason(f.check(f.signer.sign(claims))) == "the token is not valid yet");
    claims["nbf"] = f.clock.seconds() + 200;
    CHECK(f.check(f.signer.sign(claims)));
    claims = f.claims();
    claims.erase("exp");
    CHECK(reason(f.check(f.signer.sign(claims))) == "the token has no exp");
  }

  TEST_CASE("a replayed token is refused once it has expired") {
    Fixture f;
    const std::string token = f.signer.sign(f.claims());
    CHECK(f.check(token));
    f.clock.advance(std::chrono::seconds(3600 + 301));
    CHECK(reason(f.check(token)) == "the token expired");
  }

  TEST_CASE("wrong issuer and wrong audience are refused") {
    Fixture f;
    json claims = f.claims();
    claims["iss"] = "https://sts.windows.net/evil/";
    CHECK(reason(f.check(f.signer.sign(claims))) == "issuer is not https://api.botframework.com");
    claims = f.claims();
    claims["aud"] = "another-bot";
    CHECK(reason(f.check(f.signer.sign(claims))) == "audience is not this bot's app id");
    claims["aud"] = json::array({"another-bot", kAppId});
    CHECK(f.check(f.signer.sign(claims)));
  }

  TEST_CASE("an unknown kid refetches the keys once, then is refused until an hour has passed") {
    Fixture f;
    CHECK(f.check(f.signer.sign(f.claims())));
    CHECK(f.keys.fetches() == 1);
    RsaSigner stranger("key-unknown");
    CHECK(reason(f.check(stranger.sign(f.claims()))) == "no signing key with kid 'key-unknown'");
    CHECK(f.microsoft.key_fetches() == 2);  // refetched once
    CHECK(reason(f.check(stranger.sign(f.claims()))) == "no signing key with kid 'key-unknown'");
    CHECK(f.microsoft.key_fetches() == 2);  // not again within the hour
    // Microsoft rotates in a new key; an hour later its first token refetches and passes.
    f.microsoft.publish({f.signer.jwk(), stranger.jwk()});
    f.clock.advance(std::chrono::minutes(61));
    CHECK(f.check(stranger.sign(f.claims())));
    CHECK(f.microsoft.key_fetches() == 3);
  }

  TEST_CASE("keys are refreshed after 24 hours") {
    Fixture f;
    CHECK(f.check(f.signer.sign(f.claims())));
    f.clock.advance(std::chrono::hours(23));
    CHECK(f.check(f.signer.sign(f.claims())));
    CHECK(f.microsoft.key_fetches() == 1);
    f.clock.advance(std::chrono::hours(2));
    CHECK(f.check(f.signer.sign(f.claims())));
    CHECK(f.microsoft.key_fetches() == 2);
  }

  TEST_CASE("alg none and HS256 signed with the public key are refused before any key is used") {
    Fixture f;
    CHECK(reason(f.check(opsgate::test::unsigned_token(f.claims(), "key-1"))) ==
          "algorithm 'none' is not accepted (RS256/384/512 only)");
    CHECK(reason(f.check(opsgate::test::hs256_token(f.claims(), "key-1", f.signer.public_pem()))) ==
          "algorithm 'HS256' is not accepted (RS256/384/512 only)");
    CHECK(f.microsoft.key_fetches() == 0);
  }

  TEST_CASE("a bad signature, a key of another party and a token without kid are refused") {
    Fixture f;
    std::string token = f.signer.sign(f.claims());
    // Change the claims, keep the signature.
    json claims = f.claims();
    claims["aud"] = kAppId;
    claims["serviceurl"] = "https://smba.trafficmanager.net/emea/";
    const std::string forged_payload = opsgate::encoding::base64url_encode(claims.dump());
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    const std::string tampered = token.substr(0, first + 1) + forged_payload + token.substr(second);
    CHECK(reason(f.check(tampered, "https://smba.trafficmanager.net/emea/")) == "bad signature");
    RsaSigner impostor("key-1");  // same kid, different key
    CHECK(reason(f.check(impostor.sign(f.claims()))) == "bad signature");
    const std::string no_kid = opsgate::encoding::base64url_encode(R"({"alg":"RS256"})") + token.substr(first);
    CHECK(reason(f.check(no_kid)) == "the token names no kid");
    std::string empty;
    CHECK(reason(run_on(f.io, f.validator.validate(empty, std::string("msteams"), std::string(kServiceUrl)))) == "no bearer token");
  }

  TEST_CASE("the serviceurl claim must equal the activity's serviceUrl") {
    Fixture f;
    CHECK(reason(f.check(f.signer.sign(f.claims()), "https://evil.example.com/")) ==
          "the serviceurl claim does not match the activity's serviceUrl");
  }

  TEST_CASE("the signing key must endorse the msteams channel") {
    Fixture f;
    f.microsoft.publish({f.signer.jwk({"skype", "webchat"})});
    CHECK(reason(f.check(f.signer.sign(f.claims()))) == "the signing key does not endorse channel 'msteams'");
    Fixture g;
    g.microsoft.publish({g.signer.jwk({})});
    CHECK(reason(g.check(g.signer.sign(g.claims()))) == "the signing key does not endorse channel 'msteams'");
    CHECK(reason(g.check(g.signer.sign(g.claims()), kServiceUrl, "webchat")) ==
          "the signing key does not endorse channel 'webchat'");
  }

  TEST_CASE("a JWKS without usable RSA keys is an error and small keys are skipped") {
    CHECK_FALSE(teams::parse_jwks("not json"));
    CHECK_FALSE(teams::parse_jwks(R"({"keys":[{"kty":"EC","kid":"x"}]})"));
    CHECK_FALSE(teams::parse_jwks(R"({"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]})"));
    CHECK_FALSE(teams::parse_jwks(R"({"keys":[{"kty":"RSA","kid":1,"n":[],"e":null}]})"));
  }
}
