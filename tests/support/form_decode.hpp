#pragma once
// The stand-ins' own application/x-www-form-urlencoded decoder (also for URL
// query strings), written from the WHATWG URL standard and independent of
// opsgate's: a stand-in that decoded with the code under test would accept
// whatever that code got wrong. A malformed escape makes the whole body
// unreadable (nullopt), as a real server's parser would.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace opsgate::test {

namespace form_detail {

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

inline std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
      continue;
    }
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace form_detail

// "a=1&b=x%20y+z" -> {a: "1", b: "x y z"}; nullopt when an escape is malformed.
inline std::optional<std::map<std::string, std::string>> decode_form_strict(std::string_view body) {
  std::map<std::string, std::string> fields;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('&', pos);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    const std::string_view pair = body.substr(pos, end - pos);
    pos = end + 1;
    if (pair.empty()) {
      continue;
    }
    const std::size_t eq = pair.find('=');
    const auto name = form_detail::unescape(pair.substr(0, eq));
    const auto value = form_detail::unescape(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) {
      return std::nullopt;
    }
    fields[*name] = *value;
  }
  return fields;
}

}  // namespace opsgate::test
