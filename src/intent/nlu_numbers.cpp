#include "src/intent/nlu_numbers.hpp"

#include <array>
#include <utility>

namespace opsgate::intent::nlu {

namespace {

constexpr std::int64_t kMaxDurationSeconds = 365LL * 86400;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

std::optional<std::int64_t> digits_value(std::string_view word) {
  if (word.empty() || word.size() > 9) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (char c : word) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<std::int64_t> small_word(std::string_view word) {
  static constexpr std::array<std::string_view, 20> kOnes{
      "zero",    "one",     "two",       "three",    "four",    "five",    "six",
      "seven",   "eight",   "nine",      "ten",      "eleven",  "twelve",  "thirteen",
      "fourteen", "fifteen", "sixteen",  "seventeen", "eighteen", "nineteen"};
  for (std::size_t i = 0; i < kOnes.size(); ++i) {
    if (kOnes[i] == word) {
      return static_cast<std::int64_t>(i);
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> tens_word(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 8> kTens{
      {{"twenty", 20}, {"thirty", 30}, {"forty", 40}, {"fifty", 50},
       {"sixty", 60}, {"seventy", 70}, {"eighty", 80}, {"ninety", 90}}};
  for (const auto& [name, value] : kTens) {
    if (name == word) {
      return value;
    }
  }
  return std::nullopt;
}

// One word below 100: "seven", "forty", "forty-two".
std::optional<std::int64_t> below_hundred_word(std::string_view word) {
  if (auto v = small_word(word)) {
    return v;
  }
  if (auto v = tens_word(word)) {
    return v;
  }
  const auto dash = word.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  const auto tens = tens_word(word.substr(0, dash));
  const auto ones = small_word(word.substr(dash + 1));
  if (tens && ones && *ones > 0 && *ones < 10) {
    return *tens + *ones;
  }
  return std::nullopt;
}

// "forty two" as two words, or one word below a hundred.
std::optional<NumberMatch> match_below_hundred(std::span<const std::string> words, std::size_t i) {
  if (i >= words.size()) {
    return std::nullopt;
  }
  const auto first = below_hundred_word(words[i]);
  if (!first) {
    return std::nullopt;
  }
  if (tens_word(words[i]) && i + 1 < words.size()) {
    const auto ones = small_word(words[i + 1]);
    if (ones && *ones > 0 && *ones < 10) {
      return NumberMatch{*first + *ones, 2};
    }
  }
  return NumberMatch{*first, 1};
}

}  // namespace

std::optional<NumberMatch> match_number(std::span<const std::string> words, std::size_t i) {
  if (i >= words.size()) {
    return std::nullopt;
  }
  if (auto v = digits_value(words[i])) {
    return NumberMatch{*v, 1};
  }
  if (words[i] == "dozen") {
    return NumberMatch{12, 1};
  }
  if (words[i] == "a" && i + 1 < words.size() && words[i + 1] == "dozen") {
    return NumberMatch{12, 2};
  }
  if (words[i] == "a" && i + 1 < words.size() && words[i + 1] == "hundred") {
    return NumberMatch{100, 2};
  }
  auto head = match_below_hundred(words, i);
  if (!head) {
    return std::nullopt;
  }
  const std::size_t after = i + head->words;
  if (head->value > 0 && head->value < 10 && after < words.size() && words[after] == "hundred") {
    NumberMatch out{head->value * 100, head->words + 1};
    std::size_t next = after + 1;
    if (next < words.size() && words[next] == "and") {
      ++next;
    }
    if (auto rest = match_below_hundred(words, next); rest && rest->value > 0) {
      out.value += rest->value;
      out.words = next + rest->words - i;
    }
    return out;
  }
  return head;
}

std::optional<std::int64_t> unit_word_seconds(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 16> kUnits{{
      {"second", 1},      {"seconds", 1},      {"sec", 1},        {"secs", 1},
      {"minute", 60},     {"minutes", 60},     {"min", 60},       {"mins", 60},
      {"hour", 3600},     {"hours", 3600},     {"hr", 3600},      {"hrs", 3600},
      {"day", 86400},     {"days", 86400},     {"week", 604800},  {"weeks", 604800},
  }};
  for (const auto& [name, seconds] : kUnits) {
    if (name == word) {
      return seconds;
    }
  }
  if (word == "wk" || word == "wks") {
    return 604800;
  }
  return std::nullopt;
}

std::optional<std::int64_t> compact_duration(std::string_view word) {
  std::int64_t total = 0;
  std::size_t i = 0;
  if (word.empty()) {
    return std::nullopt;
  }
  while (i < word.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < word.size() && is_digit(word[i])) {
      if (++digits > 7) {
        return std::nullopt;
      }
      number = number * 10 + (word[i] - '0');
      ++i;
    }
    std::size_t unit_start = i;
    while (i < word.size() && is_alpha(word[i])) {
      ++i;
    }
    if (digits == 0 || unit_start == i) {
      return std::nullopt;
    }
    const std::string_view unit = word.substr(unit_start, i - unit_start);
    std::optional<std::int64_t> seconds;
    if (unit.size() == 1) {
      switch (unit[0]) {
        case 's': seconds = 1; break;
        case 'm': seconds = 60; break;
        case 'h': seconds = 3600; break;
        case 'd': seconds = 86400; break;
        case 'w': seconds = 604800; break;
        default: break;
      }
    } else {
      seconds = unit_word_seconds(unit);
    }
    if (!seconds) {
      return std::nullopt;
    }
    total += number * *seconds;
    if (total > kMaxDurationSeconds) {
      return std::nullopt;
    }
  }
  if (total <= 0) {
    return std::nullopt;
  }
  return total;
}

bool is_version_literal(std::string_view word) {
  if (word.empty()) {
    return false;
  }
  std::size_t i = 0;
  if (i < word.size() && (word[i] == 'v' || word[i] == 'V')) {
    ++i;
  }
  // Two to four dot-separated numeric groups, then an optional -suffix.
  int groups = 0;
  while (i < word.size()) {
    std::size_t start = i;
    while (i < word.size() && is_digit(word[i])) {
      ++i;
    }
    if (start == i || i - start > 9) {
      return false;
    }
    ++groups;
    if (i < word.size() && word[i] == '.' && groups < 4) {
      ++i;
      continue;
    }
    break;
  }
  // "v2" is a tag people deploy; a bare "2" is a number.
  const bool v_prefixed = word[0] == 'v' || word[0] == 'V';
  if (groups < 2 && !(v_prefixed && groups == 1)) {
    return false;
  }
  if (i == word.size()) {
    return word.back() != '.';
  }
  if (word[i] != '-' || i + 1 >= word.size() || word.size() > 128) {
    return false;
  }
  for (std::size_t j = i + 1; j < word.size(); ++j) {
    const char c = word[j];
    if (!is_alnum(c) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  return is_alnum(word.back());
}

bool is_tag_like(std::string_view word) {
  if (word.empty() || word.size() > 128 || !(is_alnum(word[0]) || word[0] == '_')) {
    return false;
  }
  bool digit = false;
  for (char c : word) {
    if (!is_alnum(c) && c != '.' && c != '-' && c != '_') {
      return false;
    }
    digit = digit || is_digit(c);
  }
  return digit;
}

}  // namespace opsgate::intent::nlu
