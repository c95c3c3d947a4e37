#include "src/core/crypto.hpp"

#include "src/core/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace opsgate::crypto {

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest fails only on allocation failure or a broken OpenSSL build;
  // an unchecked failure would hand out an uninitialised buffer as a hash.
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not compute SHA-256 (out of memory?)");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string sha256_hex(std::string_view data) { return encoding::hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), mac, &length) == nullptr) {
    throw std::runtime_error("OpenSSL could not compute HMAC-SHA256 (out of memory?)");
  }
  return std::string(reinterpret_cast<const char*>(mac), length);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return encoding::hex_encode(hmac_sha256(key, message));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace opsgate::crypto
