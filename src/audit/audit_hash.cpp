#include "src/audit/audit_hash.hpp"

#include <array>
#include <initializer_list>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>

namespace opsgate::audit {

namespace {

// One digest context per thread, SHA-256 fetched once: OpenSSL 3 looks the
// algorithm up and allocates a context on every EVP_Digest, which cost more
// than hashing an audit event's few hundred bytes.
class Sha256 {
 public:
  Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (md_ == nullptr || ctx_ == nullptr) {
      throw std::runtime_error("OpenSSL has no SHA-256");
    }
  }
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Lowercase hex SHA-256 of the concatenation of `parts`.
  std::string hex(std::initializer_list<std::string_view> parts) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    // These only fail on allocation failure or a broken OpenSSL build;
    // neither is something a caller can handle, so it is a bug-class exception.
    bool ok = EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1;
    for (std::string_view part : parts) {
      ok = ok && EVP_DigestUpdate(ctx_, part.data(), part.size()) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx_, digest.data(), &length) == 1;
    if (!ok) {
      throw std::runtime_error("OpenSSL could not compute SHA-256");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(length) * 2, '\0');
    for (unsigned int i = 0; i < length; ++i) {
      out[2 * i] = kHex[digest[i] >> 4];
      out[2 * i + 1] = kHex[digest[i] & 0x0f];
    }
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

Sha256& sha256() {
  thread_local Sha256 hasher;
  return hasher;
}

}  // namespace

std::string sha256_hex(std::string_view data) { return sha256().hex({data}); }

std::string compute_audit_hash(std::string_view prev_hash, const AuditEvent& event) {
  const std::string text = canonical_audit_text(event);
  return sha256().hex({prev_hash, text});
}

}  // namespace opsgate::audit
