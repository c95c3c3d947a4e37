#include "actions/loki/logql.hpp"
#include "src/core/text.hpp"

#include <cstdio>

namespace opsgate::actions::loki {

namespace {

// {app="checkout"} + level="error" -> {app="checkout",level="error"}. The
// inventory guarantees the braces; the level is one of a fixed set.
std::string selector_with(const std::string& selector, const std::string& label, const std::string& value) {
  std::string inner(text::trim(std::string_view(selector).substr(1, selector.size() - 2)));
  if (!inner.empty() && inner.back() != ',') {
    inner += ',';
  }
  return "{" + inner + label + "=\"" + value + "\"}";
}

std::string line_filter(const LogqlSearch& search) {
  return search.contains.empty() ? "" : " |= \"" + escape_logql_string(search.contains) + "\"";
}

}  // namespace

bool is_label_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
    return false;
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string escape_logql_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string build_lines_query(const LogqlSearch& search) {
  const std::string& label = search.level_label;
  if (search.level.empty()) {
    return search.selector + line_filter(search);
  }
  switch (search.level_filter) {
    case LevelFilter::label:
      return selector_with(search.selector, label, search.level) + line_filter(search);
    case LevelFilter::logfmt:
      return search.selector + line_filter(search) + " | logfmt | " + label + "=\"" + search.level + "\"";
    case LevelFilter::json:
      return search.selector + line_filter(search) + " | json | " + label + "=\"" + search.level + "\"";
    case LevelFilter::line:
      // Matches level=error, level="error", "level":"error", LEVEL: ERROR.
      return search.selector + line_filter(search) + " |~ `(?i)\\b" + label + "\"?\\s*[=:]\\s*\"?" + search.level +
             "\\b`";
  }
  return search.selector + line_filter(search);
}

std::optional<std::string> build_level_count_query(const LogqlSearch& search, std::int64_t range_s) {
  std::string pipeline = search.selector + line_filter(search);
  switch (search.level_filter) {
    case LevelFilter::label:
      break;
    case LevelFilter::logfmt:
      // A metric query fails on lines the parser rejects unless they are dropped.
      pipeline += " | logfmt | __error__=\"\"";
      break;
    case LevelFilter::json:
      pipeline += " | json | __error__=\"\"";
      break;
    case LevelFilter::line:
      return std::nullopt;
  }
  return "sum by (" + search.level_label + ") (count_over_time(" + pipeline + " [" + std::to_string(range_s) +
         "s]))";
}

}  // namespace opsgate::actions::loki
