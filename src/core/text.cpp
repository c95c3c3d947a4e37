#include "src/core/text.hpp"

#include <boost/algorithm/string/trim.hpp>

#include <algorithm>
#include <cstdint>

namespace opsgate::text {

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// How many bytes the sequence led by `c` has; 0 for a byte that cannot lead.
std::size_t sequence_length(unsigned char c) {
  if (c < 0x80) {
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    return 2;
  }
  if ((c & 0xF0) == 0xE0) {
    return 3;
  }
  if ((c & 0xF8) == 0xF0) {
    return 4;
  }
  return 0;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

}  // namespace

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) {
    return text;
  }
  // Walk back over at most three continuation bytes to the byte that leads
  // the character `max_bytes` falls in; cut before it only when it really
  // leads a sequence that reaches past the cut.
  std::size_t lead = max_bytes;
  while (lead > 0 && max_bytes - lead < 3 && is_continuation(static_cast<unsigned char>(text[lead]))) {
    --lead;
  }
  if (lead == max_bytes) {
    return text.substr(0, max_bytes);
  }
  const std::size_t length = sequence_length(static_cast<unsigned char>(text[lead]));
  if (length > 1 && lead + length > max_bytes) {
    return text.substr(0, lead);
  }
  return text.substr(0, max_bytes);
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes, std::string_view marker) {
  const std::string_view kept = utf8_prefix(text, max_bytes);
  std::string out(kept);
  if (kept.size() < text.size()) {
    out += marker;
  }
  return out;
}

std::string sanitize_utf8(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t len = sequence_length(c);
    static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    bool valid = len > 0 && i + len <= text.size();
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = is_continuation(cc);
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    valid = valid && (len == 1 || (cp >= kMinimum[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)));
    const std::string_view piece = valid ? text.substr(i, len) : kReplacement;
    if (out.size() + piece.size() > max_bytes) {
      break;
    }
    out += piece;
    i += valid ? len : 1;
  }
  return out;
}

std::string_view trim(std::string_view text) { return boost::algorithm::trim_copy_if(text, is_ascii_space); }

namespace {
char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  // ASCII only, as the classic locale folds: the process's global locale must
  // not change what "Bearer" matches. Written out because a locale's facet
  // lookup per character (a dynamic_cast) cost more than the rest of finding
  // a request's header.
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) {
      return false;
    }
  }
  return true;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower_ascii);
  return out;
}

}  // namespace opsgate::text
