#pragma once
// Text helpers shared by every module: UTF-8-safe cuts, ASCII trim and
// case-insensitive compare. Pure functions; safe from any thread.

#include <cstddef>
#include <string>
#include <string_view>

namespace opsgate::text {

// The longest prefix of `text` of at most `max_bytes` bytes that does not end
// inside a UTF-8 sequence. Only a well-formed sequence is kept whole: stray
// continuation bytes (invalid input) are cut like any other byte, so invalid
// text never collapses to an empty prefix.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

// utf8_prefix, plus `marker` (e.g. "…") when something was cut. The marker is
// not counted in `max_bytes`.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes, std::string_view marker = {});

// Valid UTF-8 of at most `max_bytes`: each invalid byte (bad lead, short or
// overlong sequence, surrogate, above U+10FFFF) becomes U+FFFD; ends on a
// character boundary.
std::string sanitize_utf8(std::string_view text, std::size_t max_bytes);

// Without leading and trailing ASCII white space (space, \t, \n, \v, \f, \r).
std::string_view trim(std::string_view text);

// ASCII case-insensitive equality ("Bearer" == "bearer"); other bytes compare exactly.
bool iequals(std::string_view a, std::string_view b);

// ASCII lower case; other bytes unchanged.
std::string to_lower(std::string_view text);

}  // namespace opsgate::text
