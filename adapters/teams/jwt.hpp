#pragma once
// JSON Web Tokens as the Bot Framework signs them: base64url, the three parts,
// and RSA (RS256/384/512) signature checks on keys made from a JWK's n and e.
// Pure functions and an immutable key: any thread may call them.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/core/encoding.hpp"
#include "src/core/error.hpp"

namespace opsgate::adapters::teams {

// A token split and decoded, not yet trusted.
struct DecodedJwt {
  nlohmann::json header;         // an object
  nlohmann::json claims;         // an object
  std::string signing_input;     // "<header>.<payload>" as received
  std::string signature;         // raw bytes
  std::string alg;               // header.alg ("" when absent)
  std::string kid;               // header.kid ("" when absent)
};

// Never throws: malformed tokens are Errc::denied with the reason.
Result<DecodedJwt> decode_jwt(std::string_view token);

// True for RS256, RS384, RS512: the only algorithms the Bot Framework uses and
// the only ones accepted (never "none", never HS*: an HMAC "signed" with the
// public key must not pass).
bool is_accepted_alg(std::string_view alg);

// An RSA public key from a JWK's base64url modulus and exponent; at least 2048 bits.
class RsaPublicKey {
 public:
  static Result<std::shared_ptr<const RsaPublicKey>> from_jwk(std::string_view n, std::string_view e);
  ~RsaPublicKey();
  RsaPublicKey(const RsaPublicKey&) = delete;
  RsaPublicKey& operator=(const RsaPublicKey&) = delete;

  // PKCS#1 v1.5 with the digest `alg` names; false for any other alg.
  bool verify(std::string_view alg, std::string_view signing_input, std::string_view signature) const;
  int bits() const;

 private:
  explicit RsaPublicKey(void* pkey) : pkey_(pkey) {}
  void* pkey_;  // EVP_PKEY*, kept out of this header
};

}  // namespace opsgate::adapters::teams
