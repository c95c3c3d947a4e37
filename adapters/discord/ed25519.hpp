#pragma once
// Ed25519 signature checks for Discord's interactions endpoint (OpenSSL 3).
// Pure functions; any thread.

#include <optional>
#include <string>
#include <string_view>

#include "src/core/encoding.hpp"

namespace opsgate::adapters::discord {

// A verified Ed25519 public key (32 bytes). Immutable; shared by all requests.
class Ed25519PublicKey {
 public:
  // nullopt unless `hex` is 64 hex digits.
  static std::optional<Ed25519PublicKey> from_hex(std::string_view hex);
  // True only when `signature` (64 raw bytes) signs `message` under this key.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  explicit Ed25519PublicKey(std::string raw) : raw_(std::move(raw)) {}
  std::string raw_;
};

// Discord's check: signature_hex over timestamp ‖ body. False for any
// missing, malformed or wrong input; never throws.
bool verify_discord_request(const Ed25519PublicKey& key, std::string_view signature_hex, std::string_view timestamp,
                            std::string_view body);

}  // namespace opsgate::adapters::discord
