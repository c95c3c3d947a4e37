#pragma once
// Splits chat text into words the way a shell user expects: whitespace
// separates, '...' and "..." group (also as key="a b"), nothing is evaluated.

#include <string>
#include <string_view>
#include <vector>

namespace opsgate::intent {

struct Token {
  std::string text;     // without the quotes
  bool quoted = false;  // the whole token, or the value of key=value, was quoted
  std::string key;      // for key=value tokens; empty otherwise
};

// Unbalanced quotes are closed at the end of the text rather than refused:
// chat users forget them, and the result is still validated.
std::vector<Token> tokenize(std::string_view text);

}  // namespace opsgate::intent
