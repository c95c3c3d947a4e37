#pragma once
// Chat text as the language parser sees it: platform markup removed, split
// into normalised words and quoted spans with their byte offsets. Pure
// functions; invalid UTF-8 passes through untouched and never throws.

#include "src/core/text.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace opsgate::intent::nlu {

// Removes mention markup (Slack `<@U123ABC>`, `<!here>`, `<#C1|chan>`, Teams
// `<at>opsgate</at>`, Discord `<@123>`, `<@!123>`, `<@&123>`), decodes Slack's
// &amp; &lt; &gt;, maps typographic quotes and dashes to ASCII and control
// characters to spaces. Everything else is kept byte for byte.
std::string clean_message(std::string_view text);

struct Word {
  std::string norm;              // lowercase, apostrophes resolved: "what's" -> "whats", "cart's" -> "cart"
  std::string raw;               // as typed (the inside, for a quoted span)
  std::size_t begin = 0;         // byte offsets in the text given to split_words
  std::size_t end = 0;
  bool quoted = false;           // '...' or "..." (norm is empty)
  bool boundary_before = false;  // , ; . ! ? came between this and the previous word
};

// Words are runs of ASCII letters and digits with inner . - _ ' (so versions,
// "payments-api" and "what's" stay whole); "#42" is the word "42". Quotes group
// only when they pair up: an apostrophe in "it's" never opens a quote.
std::vector<Word> split_words(std::string_view text);

// A query as pasted: the inside of "```...```" or "`...`", without a
// PromQL language tag on the fence ("```promql\n...", also after
// clean_message turned the newline into a space). Other text is returned
// trimmed and untouched.
std::string_view unwrap_code(std::string_view text);

}  // namespace opsgate::intent::nlu
