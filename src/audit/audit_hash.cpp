#include "src/audit/audit_hash.hpp"

#include <array>
#include <stdexcept>

#include <openssl/evp.h>

namespace opsgate::audit {

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest only fails on allocation failure or a broken OpenSSL build;
  // neither is something a caller can handle, so it is a bug-class exception.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not compute SHA-256");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(static_cast<std::size_t>(length) * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0f]);
  }
  return hex;
}

std::string compute_audit_hash(std::string_view prev_hash, const AuditEvent& event) {
  std::string text(prev_hash);
  text += canonical_audit_text(event);
  return sha256_hex(text);
}

}  // namespace opsgate::audit
