#pragma once
// Hex and base64 (standard and URL-safe), in one place. Pure functions; safe
// from any thread. Decoders return nullopt for anything that is not exactly
// the encoding (no white space, no stray characters).

#include <optional>
#include <string>
#include <string_view>

namespace opsgate::encoding {

// Lower-case hex of the bytes.
std::string hex_encode(std::string_view bytes);
// Hex (either case) to bytes; nullopt for an odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

// RFC 4648 base64 with '=' padding (HTTP Basic auth, PEM bodies).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// RFC 4648 base64url without padding (JWTs); the decoder also accepts padding.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace opsgate::encoding
