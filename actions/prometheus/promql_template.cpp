#include "actions/prometheus/promql_template.hpp"

#include <array>
#include <vector>

namespace opsgate::actions::prometheus {

namespace {

constexpr std::array<std::string_view, 5> kPlaceholders{"selector", "range", "target", "env", "namespace"};

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// One piece of a template: literal text, or a placeholder name.
struct Piece {
  bool placeholder = false;
  std::string text;
};

std::vector<Piece> split(std::string_view text) {
  std::vector<Piece> pieces;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$') {
      literal += c;
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      literal += '$';
      i += 2;
      continue;
    }
    std::size_t end = i + 1;
    while (end < text.size() && is_name_char(text[end])) {
      ++end;
    }
    if (end == i + 1) {
      literal += '$';
      ++i;
      continue;
    }
    pieces.push_back({false, std::move(literal)});
    literal.clear();
    pieces.push_back({true, std::string(text.substr(i + 1, end - i - 1))});
    i = end;
  }
  pieces.push_back({false, std::move(literal)});
  return pieces;
}

bool known(std::string_view name) {
  for (const auto placeholder : kPlaceholders) {
    if (placeholder == name) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> template_problem(std::string_view text, bool needs_selector) {
  if (text.empty()) {
    return "the template is empty";
  }
  bool has_selector = false;
  for (const auto& piece : split(text)) {
    if (!piece.placeholder) {
      continue;
    }
    if (!known(piece.text)) {
      return "unknown placeholder $" + piece.text +
             " (known: $selector, $range, $target, $env, $namespace; write $$ for a literal $)";
    }
    has_selector = has_selector || piece.text == "selector";
  }
  if (needs_selector && !has_selector) {
    return "the template does not use $selector, so it would show the same series for every target "
           "(e.g. sum(rate(http_requests_total{$selector}[5m])))";
  }
  return std::nullopt;
}

std::string render_template(std::string_view text, const TemplateValues& values) {
  std::string out;
  for (const auto& piece : split(text)) {
    if (!piece.placeholder) {
      out += piece.text;
    } else if (piece.text == "selector") {
      out += values.selector;
    } else if (piece.text == "range") {
      out += values.range;
    } else if (piece.text == "target") {
      out += values.target;
    } else if (piece.text == "env") {
      out += values.env;
    } else if (piece.text == "namespace") {
      out += values.namespace_name;
    } else {
      out += "$" + piece.text;
    }
  }
  return out;
}

}  // namespace opsgate::actions::prometheus
