#include "adapters/teams/jwt.hpp"

#include <array>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace opsgate::adapters::teams {

namespace {

const EVP_MD* digest_for(std::string_view alg) {
  if (alg == "RS256") return EVP_sha256();
  if (alg == "RS384") return EVP_sha384();
  if (alg == "RS512") return EVP_sha512();
  return nullptr;
}

// JWT parts are small; anything larger is not a token we will look at.
constexpr std::size_t kMaxTokenBytes = 16 * 1024;

}  // namespace

bool is_accepted_alg(std::string_view alg) { return digest_for(alg) != nullptr; }

Result<DecodedJwt> decode_jwt(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return fail(Errc::denied, "the token is empty or too large");
  }
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return fail(Errc::denied, "the token is not three dot-separated parts");
  }
  const auto header_text = encoding::base64url_decode(token.substr(0, first));
  const auto claims_text = encoding::base64url_decode(token.substr(first + 1, second - first - 1));
  const auto signature = encoding::base64url_decode(token.substr(second + 1));
  if (!header_text || !claims_text || !signature) {
    return fail(Errc::denied, "the token is not base64url");
  }
  DecodedJwt jwt;
  jwt.header = nlohmann::json::parse(*header_text, nullptr, false);
  jwt.claims = nlohmann::json::parse(*claims_text, nullptr, false);
  if (jwt.header.is_discarded() || !jwt.header.is_object() || jwt.claims.is_discarded() || !jwt.claims.is_object()) {
    return fail(Errc::denied, "the token's header or claims are not JSON objects");
  }
  if (const auto it = jwt.header.find("alg"); it != jwt.header.end() && it->is_string()) {
    jwt.alg = it->get<std::string>();
  }
  if (const auto it = jwt.header.find("kid"); it != jwt.header.end() && it->is_string()) {
    jwt.kid = it->get<std::string>();
  }
  jwt.signing_input = std::string(token.substr(0, second));
  jwt.signature = std::move(*signature);
  return jwt;
}

Result<std::shared_ptr<const RsaPublicKey>> RsaPublicKey::from_jwk(std::string_view n, std::string_view e) {
  const auto modulus = encoding::base64url_decode(n);
  const auto exponent = encoding::base64url_decode(e);
  if (!modulus || !exponent || modulus->empty() || exponent->empty() || exponent->size() > 8) {
    return fail(Errc::invalid_input, "the key's n or e is not base64url");
  }
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()), static_cast<int>(modulus->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent->data()), static_cast<int>(exponent->size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  EVP_PKEY* pkey = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && builder != nullptr &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    params = OSSL_PARAM_BLD_to_param(builder);
    ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
      if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pkey = nullptr;
      }
    }
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  BN_free(bn_n);
  BN_free(bn_e);
  if (pkey == nullptr) {
    return fail(Errc::invalid_input, "OpenSSL refused the RSA key");
  }
  std::shared_ptr<const RsaPublicKey> key(new RsaPublicKey(pkey));
  if (key->bits() < 2048) {
    return fail(Errc::invalid_input, "the RSA key has " + std::to_string(key->bits()) + " bits; at least 2048 are required");
  }
  return key;
}

RsaPublicKey::~RsaPublicKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

int RsaPublicKey::bits() const { return EVP_PKEY_get_bits(static_cast<EVP_PKEY*>(pkey_)); }

bool RsaPublicKey::verify(std::string_view alg, std::string_view signing_input, std::string_view signature) const {
  const EVP_MD* md = digest_for(alg);
  if (md == nullptr) {
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) {
    return false;
  }
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, static_cast<EVP_PKEY*>(pkey_)) == 1;
  if (ok) {
    ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace opsgate::adapters::teams
