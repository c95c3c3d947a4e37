#include "src/intent/tokenizer.hpp"

#include <cctype>

namespace opsgate::intent {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Chat clients turn quotes into typographic ones; accept those too.
bool take_quote(std::string_view text, std::size_t& i, std::string_view& close) {
  static constexpr std::string_view kPairs[][2] = {
      {"\"", "\""}, {"'", "'"}, {"\u201c", "\u201d"}, {"\u2018", "\u2019"}};
  for (const auto& pair : kPairs) {
    if (text.substr(i, pair[0].size()) == pair[0]) {
      i += pair[0].size();
      close = pair[1];
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    if (i >= text.size()) {
      break;
    }
    Token token;
    std::string current;
    // A word is a run of non-space characters and quoted groups.
    while (i < text.size() && !is_space(text[i])) {
      std::string_view close;
      const bool at_word_start = current.empty() || (current.back() == '=' && token.key.empty());
      if (at_word_start && take_quote(text, i, close)) {
        if (!current.empty() && current.back() == '=') {
          token.key = current.substr(0, current.size() - 1);
          current.clear();
        }
        const std::size_t end = text.find(close, i);
        const std::size_t stop = end == std::string_view::npos ? text.size() : end;
        current.append(text.substr(i, stop - i));
        i = end == std::string_view::npos ? text.size() : end + close.size();
        token.quoted = true;
        continue;
      }
      current += text[i];
      ++i;
    }
    if (!token.quoted) {
      const auto eq = current.find('=');
      if (eq != std::string::npos && eq > 0) {
        token.key = current.substr(0, eq);
        current = current.substr(eq + 1);
      }
    }
    token.text = std::move(current);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace opsgate::intent
