// Teams: the bearer token of an activity (decoded before any key is looked
// up), its claims, and a JWKS document as the key endpoint returns it.
#include <nlohmann/json.hpp>

#include "adapters/teams/jwks_cache.hpp"
#include "adapters/teams/jwt.hpp"
#include "adapters/teams/token_validator.hpp"
#include "fuzz/fuzz_support.hpp"
#include "src/core/encoding.hpp"

using namespace opsgate::adapters::teams;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = opsgate::fuzz::as_text(data, size);
  if (auto decoded = decode_jwt(text)) {
    (void)is_accepted_alg(decoded->alg);
    TokenSettings settings;
    settings.app_id = "00000000-0000-0000-0000-000000000001";
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
    (void)check_claims(decoded->claims, settings, now, "https://smba.trafficmanager.net/amer/");
  }
  (void)opsgate::encoding::base64url_decode(text);
  (void)parse_jwks(std::string(text));
  return 0;
}
