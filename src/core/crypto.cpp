// SHA-256 goes through OpenSSL's low-level SHA256_* functions (deprecated in
// 3.0, present in every 3.x): the same implementation EVP dispatches to, but
// without EVP's first fetch, which loads openssl.cnf and registers the default
// provider's ~2,000 algorithm names (about 2 MB resident). A process that only
// hashes its audit log (`opsgate shell`) never pays that; HMAC still uses EVP.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "src/core/crypto.hpp"

#include "src/core/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace opsgate::crypto {

namespace {

// SHA-256 of first + second into `out` (SHA256_DIGEST_LENGTH bytes); returns
// the length. Fails only with a broken OpenSSL build: it throws then, so an
// unchecked failure never hands out an uninitialised buffer as a hash.
unsigned int digest_into(std::string_view first, std::string_view second, unsigned char* out) {
  SHA256_CTX context;
  if (SHA256_Init(&context) != 1 || SHA256_Update(&context, first.data(), first.size()) != 1 ||
      SHA256_Update(&context, second.data(), second.size()) != 1 || SHA256_Final(out, &context) != 1) {
    throw std::runtime_error("OpenSSL could not compute SHA-256");
  }
  return SHA256_DIGEST_LENGTH;
}

// OpenSSL 3 looks an algorithm up and allocates a context on every one-shot
// HMAC call, which costs more than a Slack request's few hundred bytes. Each
// thread fetches HMAC once, on its first HMAC, and reuses its context. These
// calls fail only on allocation failure or a broken OpenSSL build: nothing a
// caller can handle, so they throw.
class HmacContext {
 public:
  HmacContext()
      : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)), hmac_(mac_ != nullptr ? EVP_MAC_CTX_new(mac_) : nullptr) {
    if (mac_ == nullptr || hmac_ == nullptr) {
      release();
      throw std::runtime_error("OpenSSL has no HMAC");
    }
  }
  ~HmacContext() { release(); }
  HmacContext(const HmacContext&) = delete;
  HmacContext& operator=(const HmacContext&) = delete;

  std::string hmac(std::string_view key, std::string_view message) {
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest_name, 0), OSSL_PARAM_construct_end()};
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t length = 0;
    // An empty key is a valid HMAC key; OpenSSL wants a non-null pointer for it.
    static const unsigned char kEmpty = 0;
    const auto* key_bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
    // The same key as last time (a webhook's signing secret, on every request):
    // a null key and no parameters restart HMAC from the keyed state already
    // held, without fetching SHA-256 by name and hashing the key again.
    const bool same_key = keyed_ && key == key_;
    const int initialised = same_key ? EVP_MAC_init(hmac_, nullptr, 0, nullptr)
                                     : EVP_MAC_init(hmac_, key_bytes, key.size(), params);
    if (initialised == 1 && !same_key) {
      remember_key(key);
    }
    keyed_ = initialised == 1;
    if (!keyed_ ||
        EVP_MAC_update(hmac_, reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
        EVP_MAC_final(hmac_, out, &length, sizeof out) != 1) {
      throw std::runtime_error("OpenSSL could not compute HMAC-SHA256 (out of memory?)");
    }
    return std::string(reinterpret_cast<const char*>(out), length);
  }

 private:
  void remember_key(std::string_view key) {
    forget_key();
    key_.assign(key);
  }

  // The key is a secret: wiped, not only freed.
  void forget_key() {
    if (!key_.empty()) {
      OPENSSL_cleanse(key_.data(), key_.size());
    }
    key_.clear();
  }

  void release() {
    forget_key();
    EVP_MAC_CTX_free(hmac_);
    EVP_MAC_free(mac_);
  }

  EVP_MAC* mac_;
  EVP_MAC_CTX* hmac_;
  std::string key_;     // the key hmac_ holds, when keyed_
  bool keyed_ = false;  // hmac_ was initialised with key_ and may restart from it
};

HmacContext& hmac_context() {
  thread_local HmacContext per_thread;
  return per_thread;
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char raw[SHA256_DIGEST_LENGTH];
  const unsigned int length = digest_into(data, {}, raw);
  return std::string(reinterpret_cast<const char*>(raw), length);
}

std::string sha256_hex(std::string_view data) { return sha256_hex(data, {}); }

std::string sha256_hex(std::string_view first, std::string_view second) {
  unsigned char raw[SHA256_DIGEST_LENGTH];
  const unsigned int length = digest_into(first, second, raw);
  return encoding::hex_encode(std::string_view(reinterpret_cast<const char*>(raw), length));
}

std::string hmac_sha256(std::string_view key, std::string_view message) { return hmac_context().hmac(key, message); }

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
