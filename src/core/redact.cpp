#include "src/core/redact.hpp"
#include "src/core/text.hpp"

#include <array>
#include <cstddef>
#include <optional>

namespace opsgate {

namespace {

// Hand-written scanning instead of std::regex: libstdc++'s regex is slow and
// backtracks; this visits each character a bounded number of times.

constexpr std::size_t kMaxUserinfo = 256;

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_upper_or_digit(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_start(char c) { return is_alnum(c) || c == '_'; }
bool is_word(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }
bool is_base64url(char c) { return is_alnum(c) || c == '_' || c == '-'; }
bool is_space(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
// Key names compare with '-' and '.' as '_' ("api-key", "db.password").
char key_char(char c) { return (c == '-' || c == '.') ? '_' : lower(c); }

bool key_ends_with(std::string_view key, std::string_view suffix) {
  if (key.size() < suffix.size()) {
    return false;
  }
  const std::size_t offset = key.size() - suffix.size();
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    if (key_char(key[offset + i]) != suffix[i]) {
      return false;
    }
  }
  return true;
}

// Keys whose value is a secret. `loose` keys may also be written `key: value`
// without quotes; the others appear in prose ("invalid token: expired").
struct SecretKey {
  std::string_view suffix;
  bool loose;
};
constexpr std::array kSecretKeys{
    SecretKey{"password", true},    SecretKey{"passwd", true},      SecretKey{"pwd", true},
    SecretKey{"api_key", true},     SecretKey{"apikey", true},      SecretKey{"secret_key", true},
    SecretKey{"access_key", true},  SecretKey{"private_key", true}, SecretKey{"authorization", true},
    SecretKey{"secret", false},     SecretKey{"token", false},      SecretKey{"credentials", false},
};

const SecretKey* secret_key(std::string_view key) {
  // Most words end in none of the suffixes' last letters: skip them cheaply.
  const char last = key.empty() ? '\0' : lower(key.back());
  if (last != 'd' && last != 'y' && last != 't' && last != 'n' && last != 's') {
    return nullptr;
  }
  for (const auto& candidate : kSecretKeys) {
    if (key_ends_with(key, candidate.suffix)) {
      return &candidate;
    }
  }
  return nullptr;
}

bool is_auth_scheme(std::string_view word) {
  return text::iequals(word, "bearer") || text::iequals(word, "basic") || text::iequals(word, "token") || text::iequals(word, "digest") ||
         text::iequals(word, "negotiate") || text::iequals(word, "apikey");
}

// A bare value ends where logfmt, URL queries, JSON and prose end one.
bool ends_bare_value(char c) {
  return is_space(c) || c == '&' || c == '"' || c == '\'' || c == '\\' || c == ',' || c == ';' || c == ')' ||
         c == ']' || c == '}' || static_cast<unsigned char>(c) < 0x20;
}

bool is_token_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '~' || c == '+' || c == '/' || c == '=';
}

// "Bearer authentication failed" must stay readable: a token has a digit or
// punctuation, and is not short.
bool looks_like_token(std::string_view token) {
  if (token.size() < 8) {
    return false;
  }
  for (char c : token) {
    if (!is_alnum(c) || is_digit(c)) {
      return true;
    }
  }
  return false;
}

bool starts_with(std::string_view text, std::size_t at, std::string_view prefix) {
  return text.size() >= at + prefix.size() && text.compare(at, prefix.size(), prefix) == 0;
}

class Redactor {
 public:
  explicit Redactor(std::string_view in) : in_(in) { out_.reserve(in.size() + 16); }

  std::string run() {
    std::size_t i = 0;
    while (i < in_.size()) {
      const char c = in_[i];
      if (c == '-' && starts_with(in_, i, "-----BEGIN ")) {
        i = pem(i);
      } else if (c == ':' && starts_with(in_, i, "://")) {
        i = userinfo(i + 3);
      } else if (is_word_start(c)) {
        i = word(i);
      } else {
        ++i;
      }
    }
    out_.append(in_.substr(copied_));
    return std::move(out_);
  }

 private:
  // Replaces [from, to) with the marker.
  void redact(std::size_t from, std::size_t to) {
    out_.append(in_.substr(copied_, from - copied_));
    out_.append(kRedacted);
    copied_ = to;
  }

  std::size_t span(std::size_t from, bool (*accept)(char)) const {
    std::size_t end = from;
    while (end < in_.size() && accept(in_[end])) {
      ++end;
    }
    return end;
  }

  // A maximal run of word characters starting at `begin`; returns where
  // scanning resumes.
  std::size_t word(std::size_t begin) {
    const std::size_t end = span(begin, is_word);
    const std::string_view w = in_.substr(begin, end - begin);
    if (auto next = token_literal(begin, w)) {
      return *next;
    }
    if (text::iequals(w, "bearer")) {
      if (auto next = bearer(end)) {
        return *next;
      }
      return end;
    }
    if (const SecretKey* key = secret_key(w)) {
      if (auto next = key_value(end, *key)) {
        return *next;
      }
    }
    return end;
  }

  // Credentials recognisable by their own shape.
  std::optional<std::size_t> token_literal(std::size_t begin, std::string_view w) {
    // AWS access key id: exactly 20 characters, not part of a longer word.
    if ((w.starts_with("AKIA") || w.starts_with("ASIA")) && w.size() >= 20) {
      bool ok = true;
      for (std::size_t k = 4; k < 20 && ok; ++k) {
        ok = is_upper_or_digit(w[k]);
      }
      if (ok && (w.size() == 20 || !is_alnum(w[20]))) {
        redact(begin, begin + 20);
        return begin + 20;
      }
    }
    if (w.starts_with("eyJ")) {
      // header.payload.signature, base64url; the signature may be empty.
      const std::size_t h_end = span(begin, is_base64url);
      if (h_end - begin >= 10 && h_end < in_.size() && in_[h_end] == '.') {
        const std::size_t p_end = span(h_end + 1, is_base64url);
        if (p_end - h_end - 1 >= 2 && p_end < in_.size() && in_[p_end] == '.') {
          const std::size_t s_end = span(p_end + 1, is_base64url);
          redact(begin, s_end);
          return s_end;
        }
      }
    }
    if (w.size() >= 15 && w.starts_with("xox") && (w[3] == 'a' || w[3] == 'b' || w[3] == 'p' || w[3] == 'r') &&
        w[4] == '-') {
      const std::size_t end = span(begin, [](char ch) { return is_alnum(ch) || ch == '-'; });
      redact(begin, end);
      return end;
    }
    const bool github = w.starts_with("ghp_") || w.starts_with("gho_") || w.starts_with("ghu_") ||
                        w.starts_with("ghs_") || w.starts_with("ghr_") || w.starts_with("github_pat_");
    if (github) {
      const std::size_t end = span(begin, [](char ch) { return is_alnum(ch) || ch == '_'; });
      if (end - begin >= 24) {
        redact(begin, end);
        return end;
      }
    }
    return std::nullopt;
  }

  // After the word "bearer": white space, then the token.
  std::optional<std::size_t> bearer(std::size_t after_word) {
    const std::size_t token_begin = span(after_word, is_space);
    if (token_begin == after_word) {
      return std::nullopt;
    }
    const std::size_t token_end = span(token_begin, is_token_char);
    if (!looks_like_token(in_.substr(token_begin, token_end - token_begin))) {
      return std::nullopt;
    }
    redact(token_begin, token_end);
    return token_end;
  }

  // After a secret key's name: an optional closing quote (JSON, or JSON
  // escaped inside a string), '=' or ':', then the value.
  std::optional<std::size_t> key_value(std::size_t after_key, const SecretKey& key) {
    std::size_t j = after_key;
    bool quoted_key = false;
    if (j < in_.size() && in_[j] == '"') {
      ++j;
      quoted_key = true;
    } else if (starts_with(in_, j, "\\\"")) {
      j += 2;
      quoted_key = true;
    }
    j = span(j, is_space);
    if (j >= in_.size() || (in_[j] != '=' && in_[j] != ':')) {
      return std::nullopt;
    }
    if (in_[j] == ':' && !quoted_key && !key.loose) {
      return std::nullopt;
    }
    if (in_[j] == ':' && starts_with(in_, j, "://")) {
      return std::nullopt;  // "token://..." is a URL, not a value
    }
    j = span(j + 1, is_space);
    if (j >= in_.size() || starts_with(in_, j, kRedacted)) {
      return std::nullopt;
    }
    if (in_[j] == '"') {
      const std::size_t close = closing_quote(j + 1);
      redact(j + 1, close);
      return close < in_.size() ? close + 1 : close;
    }
    if (starts_with(in_, j, "\\\"")) {
      if (starts_with(in_, j + 2, kRedacted)) {
        return std::nullopt;
      }
      std::size_t close = in_.find("\\\"", j + 2);
      if (close == std::string_view::npos) {
        close = in_.size();
      }
      redact(j + 2, close);
      return std::min(close + 2, in_.size());
    }
    if (in_[j] == '\'') {
      std::size_t close = in_.find('\'', j + 1);
      if (close == std::string_view::npos) {
        close = in_.size();
      }
      redact(j + 1, close);
      return close < in_.size() ? close + 1 : close;
    }
    std::size_t value_begin = j;
    if (key.suffix == "authorization") {
      // Keep the scheme readable: "Authorization: Bearer [REDACTED]".
      const std::size_t scheme_end = span(j, is_alnum);
      const std::size_t credential = span(scheme_end, is_space);
      if (credential > scheme_end && is_auth_scheme(in_.substr(j, scheme_end - j))) {
        value_begin = credential;
      }
    }
    if (starts_with(in_, value_begin, kRedacted)) {
      return std::nullopt;
    }
    const std::size_t value_end = span(value_begin, [](char ch) { return !ends_bare_value(ch); });
    if (value_end == value_begin) {
      return std::nullopt;
    }
    redact(value_begin, value_end);
    return value_end;
  }

  // The position of the '"' closing a string that starts at `from`, skipping
  // backslash escapes; the end of the line when it is not closed.
  std::size_t closing_quote(std::size_t from) const {
    std::size_t k = from;
    while (k < in_.size() && in_[k] != '"') {
      k += (in_[k] == '\\') ? 2 : 1;
    }
    return std::min(k, in_.size());
  }

  // "-----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----".
  std::size_t pem(std::size_t begin) {
    const std::size_t header_end = in_.find("-----", begin + 11);
    if (header_end == std::string_view::npos) {
      return begin + 11;
    }
    const std::string_view header = in_.substr(begin + 11, header_end - begin - 11);
    if (header.find("PRIVATE KEY") == std::string_view::npos) {
      return header_end + 5;
    }
    std::size_t end = in_.size();
    const std::size_t end_marker = in_.find("-----END ", header_end + 5);
    if (end_marker != std::string_view::npos) {
      const std::size_t end_close = in_.find("-----", end_marker + 9);
      if (end_close != std::string_view::npos) {
        end = end_close + 5;
      }
    }
    redact(begin, end);
    return end;
  }

  // After "://": user:password@host hides the password.
  std::size_t userinfo(std::size_t from) {
    std::size_t colon = std::string_view::npos;
    const std::size_t limit = std::min(in_.size(), from + kMaxUserinfo);
    for (std::size_t k = from; k < limit; ++k) {
      const char c = in_[k];
      if (c == '@') {
        if (colon != std::string_view::npos && k > colon + 1 && !starts_with(in_, colon + 1, kRedacted)) {
          redact(colon + 1, k);
          return k + 1;
        }
        return k + 1;
      }
      if (c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' || is_space(c) ||
          static_cast<unsigned char>(c) < 0x20) {
        return from;
      }
      if (c == ':' && colon == std::string_view::npos) {
        colon = k;
      }
    }
    return from;
  }

  std::string_view in_;
  std::string out_;
  std::size_t copied_ = 0;
};

}  // namespace

std::string redact_secrets(std::string_view line) { return Redactor(line).run(); }

}  // namespace opsgate
