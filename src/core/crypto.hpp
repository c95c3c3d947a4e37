#pragma once
// Digests, HMACs and the constant-time compare, through OpenSSL, in one
// place. Pure functions; safe from any thread.

#include <string>
#include <string_view>

namespace opsgate::crypto {

// SHA-256 of the bytes (32 raw bytes). Throws std::runtime_error only when
// OpenSSL itself fails (out of memory, a broken build): never a wrong value.
std::string sha256(std::string_view data);
// Lower-case hex of sha256(data).
std::string sha256_hex(std::string_view data);
// Lower-case hex of sha256(first + second), without joining the two (the
// audit chain hashes prev_hash + the event's text for every row).
std::string sha256_hex(std::string_view first, std::string_view second);

// HMAC-SHA256(key, message) (32 raw bytes); throws like sha256.
std::string hmac_sha256(std::string_view key, std::string_view message);
// Lower-case hex of hmac_sha256.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// Equality whose time depends only on the lengths, never on where the inputs
// differ (for secrets, tokens and signatures).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace opsgate::crypto
