#include "adapters/discord/ed25519.hpp"

#include <memory>

#include <openssl/evp.h>

namespace opsgate::adapters::discord {

std::optional<Ed25519PublicKey> Ed25519PublicKey::from_hex(std::string_view hex) {
  auto raw = hex_decode(hex);
  if (!raw || raw->size() != 32) {
    return std::nullopt;
  }
  // Make sure OpenSSL accepts it now rather than on the first request.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw->data()),
                                  raw->size()),
      &EVP_PKEY_free);
  if (!key) {
    return std::nullopt;
  }
  return Ed25519PublicKey(std::move(*raw));
}

bool Ed25519PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) {
    return false;
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_.data()),
                                  raw_.size()),
      &EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!key || !ctx) {
    return false;
  }
  // Ed25519 is one-shot: no digest, the whole message at once.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

bool verify_discord_request(const Ed25519PublicKey& key, std::string_view signature_hex, std::string_view timestamp,
                            std::string_view body) {
  if (signature_hex.empty() || timestamp.empty()) {
    return false;
  }
  const auto signature = hex_decode(signature_hex);
  if (!signature) {
    return false;
  }
  std::string message;
  message.reserve(timestamp.size() + body.size());
  message.append(timestamp);
  message.append(body);
  return key.verify(message, *signature);
}

}  // namespace opsgate::adapters::discord
