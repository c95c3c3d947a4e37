#include "src/intent/nlu_text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace opsgate::intent::nlu {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_ci(std::string_view text, std::size_t at, std::string_view prefix) {
  if (at > text.size() || text.size() - at < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(text[at + i]) != prefix[i]) {
      return false;
    }
  }
  return true;
}

// Length of a markup element starting at text[at], or 0 when it is not one.
// Mention markup is short; a '<' without a close nearby is just a character.
std::size_t markup_length(std::string_view text, std::size_t at) {
  constexpr std::size_t kMaxMention = 96;
  if (starts_with_ci(text, at, "<at>") || starts_with_ci(text, at, "<at ")) {
    const std::size_t open_end = text.find('>', at);
    constexpr std::size_t kMaxTeamsName = 256;
    std::size_t close = std::string_view::npos;
    for (std::size_t i = open_end; i != std::string_view::npos && i < text.size() && i < at + kMaxTeamsName; ++i) {
      if (starts_with_ci(text, i, "</at>")) {
        close = i;
        break;
      }
    }
    if (close != std::string_view::npos) {
      return close + 5 - at;
    }
    return open_end == std::string_view::npos ? 0 : open_end + 1 - at;
  }
  if (at + 2 < text.size() && text[at] == '<' && (text[at + 1] == '@' || text[at + 1] == '!' || text[at + 1] == '#')) {
    for (std::size_t i = at + 2; i < text.size() && i < at + kMaxMention; ++i) {
      if (text[i] == '>') {
        return i + 1 - at;
      }
      if (is_space(text[i]) || text[i] == '<') {
        return 0;
      }
    }
  }
  return 0;
}

// Typographic characters that chat clients substitute, as UTF-8.
constexpr std::array<std::pair<std::string_view, char>, 7> kTypographic{{
    {"\xE2\x80\x9C", '"'},   // left double quotation mark
    {"\xE2\x80\x9D", '"'},   // right double quotation mark
    {"\xE2\x80\x98", '\''},  // left single quotation mark
    {"\xE2\x80\x99", '\''},  // right single quotation mark (also the apostrophe)
    {"\xE2\x80\x93", '-'},   // en dash
    {"\xE2\x80\x94", '-'},   // em dash
    {"\xC2\xA0", ' '},       // no-break space
}};

// Where a single quote may open: start of text, after a space or an opener.
bool can_open_single(std::string_view text, std::size_t i) {
  if (i + 1 >= text.size() || is_space(text[i + 1]) || text[i + 1] == '\'') {
    return false;
  }
  if (i == 0) {
    return true;
  }
  const char p = text[i - 1];
  return is_space(p) || p == '(' || p == '[' || p == '{' || p == ':' || p == '=' || p == ',';
}

// The closing single quote: followed by the end, a space or punctuation, and
// not preceded by a space. "'it's broken'" closes at the last quote.
std::size_t find_single_close(std::string_view text, std::size_t open) {
  for (std::size_t j = open + 2; j < text.size(); ++j) {
    if (text[j] != '\'' || is_space(text[j - 1])) {
      continue;
    }
    if (j + 1 == text.size()) {
      return j;
    }
    const char n = text[j + 1];
    if (is_space(n) || n == '.' || n == ',' || n == '!' || n == '?' || n == ';' || n == ':' || n == ')' ||
        n == ']' || n == '}') {
      return j;
    }
  }
  return std::string_view::npos;
}

// Contractions whose 's is "is", kept as one word ("what's" -> "whats");
// any other 's is a possessive and dropped ("cart's" -> "cart").
bool is_is_contraction(std::string_view stem) {
  static constexpr std::array<std::string_view, 17> kStems{
      "what", "it", "that", "there", "here", "who", "how", "where", "let", "he", "she", "when", "why",
      "everything", "something", "nothing", "one"};
  for (auto s : kStems) {
    if (s == stem) {
      return true;
    }
  }
  return false;
}

std::string normalise(std::string_view raw) {
  std::string lowered;
  lowered.reserve(raw.size());
  for (char c : raw) {
    lowered += lower(c);
  }
  if (lowered.find('\'') == std::string::npos) {
    return lowered;
  }
  if (lowered.size() > 2 && lowered.compare(lowered.size() - 2, 2, "'s") == 0) {
    std::string stem = lowered.substr(0, lowered.size() - 2);
    if (stem.find('\'') == std::string::npos) {
      return is_is_contraction(stem) ? stem + "s" : stem;
    }
  }
  std::string out;
  for (char c : lowered) {
    if (c != '\'') {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string clean_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '<') {
      if (const std::size_t n = markup_length(text, i); n > 0) {
        out += ' ';
        i += n;
        continue;
      }
    }
    if (c == '&') {
      if (starts_with_ci(text, i, "&amp;")) {
        out += '&';
        i += 5;
        continue;
      }
      if (starts_with_ci(text, i, "&lt;")) {
        out += '<';
        i += 4;
        continue;
      }
      if (starts_with_ci(text, i, "&gt;")) {
        out += '>';
        i += 4;
        continue;
      }
    }
    if (c >= 0x80) {
      bool replaced = false;
      for (const auto& [bytes, ascii] : kTypographic) {
        if (text.substr(i, bytes.size()) == bytes) {
          out += ascii;
          i += bytes.size();
          replaced = true;
          break;
        }
      }
      if (replaced) {
        continue;
      }
    }
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    ++i;
  }
  return out;
}

std::vector<Word> split_words(std::string_view text) {
  std::vector<Word> words;
  bool boundary = false;
  std::size_t i = 0;
  // The quote at i closes at `close`: its trimmed inside is one word.
  const auto take_quoted = [&](std::size_t close) {
    Word w;
    w.raw = std::string(text::trim(text.substr(i + 1, close - i - 1)));
    w.begin = i;
    w.end = close + 1;
    w.quoted = true;
    w.boundary_before = boundary;
    boundary = false;
    if (!w.raw.empty()) {
      words.push_back(std::move(w));
    }
    i = close + 1;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      const std::size_t close = text.find('"', i + 1);
      if (close != std::string_view::npos && close > i + 1) {
        take_quoted(close);
        continue;
      }
      ++i;
      continue;
    }
    if (c == '\'' && can_open_single(text, i)) {
      const std::size_t close = find_single_close(text, i);
      if (close != std::string_view::npos) {
        take_quoted(close);
        continue;
      }
    }
    const bool hash_number = c == '#' && i + 1 < text.size() && is_digit(text[i + 1]);
    // "-1" stays one word, so a negative count is never read as its digits.
    const bool negative = c == '-' && i + 1 < text.size() && is_digit(text[i + 1]) && (i == 0 || is_space(text[i - 1]));
    if (is_alnum(c) || hash_number || negative) {
      const std::size_t start = hash_number ? i + 1 : i;
      std::size_t j = negative ? start + 1 : start;
      while (j < text.size()) {
        const char d = text[j];
        if (is_alnum(d) || d == '_') {
          ++j;
          continue;
        }
        // Inner punctuation belongs to the word only between letters/digits:
        // "v1.9.3", "payments-api", "what's"; "cart." ends at the dot.
        if ((d == '.' || d == '-' || d == '\'') && j + 1 < text.size() && is_alnum(text[j + 1])) {
          ++j;
          continue;
        }
        break;
      }
      Word w;
      w.raw = std::string(text.substr(start, j - start));
      w.norm = normalise(w.raw);
      w.begin = i;
      w.end = j;
      w.boundary_before = boundary;
      boundary = false;
      words.push_back(std::move(w));
      i = j;
      continue;
    }
    if (c == '%' || c == '&') {
      Word w;
      w.raw = std::string(1, c);
      w.norm = w.raw;
      w.begin = i;
      w.end = i + 1;
      w.boundary_before = boundary;
      boundary = false;
      words.push_back(std::move(w));
      ++i;
      continue;
    }
    if (c == ',' || c == ';' || c == '.' || c == '!' || c == '?') {
      boundary = true;
    }
    ++i;
  }
  return words;
}

std::string_view unwrap_code(std::string_view text) {
  std::string_view t = text::trim(text);
  if (t.size() >= 6 && t.substr(0, 3) == "```" && t.substr(t.size() - 3) == "```") {
    t = t.substr(3, t.size() - 6);
    for (std::string_view tag : {"promql", "prometheus", "prom", "pql"}) {
      if (t.size() > tag.size() && t.substr(0, tag.size()) == tag &&
          (t[tag.size()] == '\n' || t[tag.size()] == ' ' || t[tag.size()] == '\r')) {
        t = t.substr(tag.size());
        break;
      }
    }
    return text::trim(t);
  }
  if (t.size() >= 2 && t.front() == '`' && t.back() == '`' && t.find('`', 1) == t.size() - 1) {
    return text::trim(t.substr(1, t.size() - 2));
  }
  return t;
}

}  // namespace opsgate::intent::nlu
