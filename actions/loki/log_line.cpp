#include "actions/loki/log_line.hpp"

#include <chrono>
#include <limits>

#include <nlohmann/json.hpp>

#include "src/core/redact.hpp"
#include "src/core/rfc3339.hpp"

namespace opsgate::actions::loki {

namespace {

using nlohmann::json;

bool is_time_key(std::string_view key) { return key == "ts" || key == "time" || key == "timestamp"; }
bool is_level_key(std::string_view key) { return key == "level" || key == "lvl" || key == "severity"; }

// Calls visit(key, value) for each key=value pair of a logfmt line until it
// returns true. Tolerates garbage: a word without '=' or stray quoted text
// is skipped.
template <class Visit>
void for_each_logfmt_pair(std::string_view line, Visit visit) {
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    while (i < n && static_cast<unsigned char>(line[i]) <= ' ') {
      ++i;
    }
    const std::size_t key_begin = i;
    while (i < n && static_cast<unsigned char>(line[i]) > ' ' && line[i] != '=' && line[i] != '"') {
      ++i;
    }
    const std::string_view key = line.substr(key_begin, i - key_begin);
    if (i < n && line[i] == '"') {
      // Quoted text that is not a value: skip it whole.
      ++i;
      while (i < n && line[i] != '"') {
        i += line[i] == '\\' ? 2 : 1;
      }
      ++i;
      continue;
    }
    if (i >= n || line[i] != '=') {
      if (key.empty()) {
        ++i;
      }
      continue;
    }
    ++i;
    std::string value;
    if (i < n && line[i] == '"') {
      ++i;
      while (i < n && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < n) {
          const char escaped = line[i + 1];
          value += escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped;
          i += 2;
        } else {
          value += line[i++];
        }
      }
      ++i;
    } else {
      const std::size_t value_begin = i;
      while (i < n && static_cast<unsigned char>(line[i]) > ' ') {
        ++i;
      }
      value.assign(line.substr(value_begin, i - value_begin));
    }
    if (visit(key, std::move(value))) {
      return;
    }
  }
}

std::optional<std::int64_t> json_time(const json& value) {
  if (value.is_string()) {
    return parse_timestamp_ns(value.get_ref<const std::string&>());
  }
  if (value.is_number_integer()) {
    return parse_timestamp_ns(std::to_string(value.get<std::int64_t>()));
  }
  if (value.is_number_float()) {
    const double seconds = value.get<double>();
    if (seconds > 0 && seconds < 1e11) {
      return static_cast<std::int64_t>(seconds * 1e9);
    }
  }
  return std::nullopt;
}

LineFields json_fields(std::string_view line) {
  LineFields fields;
  const json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fields;
  }
  for (const char* key : {"ts", "time", "timestamp", "@timestamp"}) {
    const auto it = doc.find(key);
    if (it != doc.end()) {
      fields.unix_ns = json_time(*it);
      if (fields.unix_ns) {
        break;
      }
    }
  }
  for (const char* key : {"level", "lvl", "severity"}) {
    const auto it = doc.find(key);
    if (it != doc.end() && it->is_string()) {
      fields.level = normalise_level(it->get_ref<const std::string&>());
      break;
    }
  }
  return fields;
}

LineFields logfmt_fields(std::string_view line) {
  LineFields fields;
  for_each_logfmt_pair(line, [&fields](std::string_view key, std::string value) {
    if (!fields.unix_ns && is_time_key(key)) {
      fields.unix_ns = parse_timestamp_ns(value);
    } else if (fields.level.empty() && is_level_key(key)) {
      fields.level = normalise_level(value);
    }
    return fields.unix_ns.has_value() && !fields.level.empty();
  });
  return fields;
}

std::optional<std::int64_t> parse_unix_digits(std::string_view text) {
  std::int64_t whole = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (whole > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
      return std::nullopt;
    }
    whole = whole * 10 + (text[i] - '0');
  }
  if (i == 0) {
    return std::nullopt;
  }
  if (i == text.size()) {
    if (whole >= 100'000'000'000'000'000) {
      return whole;  // nanoseconds
    }
    if (whole >= 100'000'000'000'000) {
      return whole * 1'000;  // microseconds
    }
    if (whole >= 100'000'000'000) {
      return whole * 1'000'000;  // milliseconds
    }
    return whole * 1'000'000'000;
  }
  if (text[i] != '.' || whole >= 100'000'000'000) {
    return std::nullopt;
  }
  std::int64_t fraction = 0;
  std::int64_t scale = 1'000'000'000;
  for (++i; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    if (scale > 1) {
      scale /= 10;
      fraction += (text[i] - '0') * scale;
    }
  }
  return whole * 1'000'000'000 + fraction;
}

}  // namespace

LineFields read_line_fields(std::string_view line, LineFormat format) {
  if (format == LineFormat::json || (format == LineFormat::automatic && !line.empty() && line.front() == '{')) {
    return json_fields(line);
  }
  return logfmt_fields(line);
}

std::optional<std::string> logfmt_value(std::string_view line, std::string_view key) {
  std::optional<std::string> found;
  for_each_logfmt_pair(line, [&found, key](std::string_view k, std::string value) {
    if (k == key) {
      found = std::move(value);
      return true;
    }
    return false;
  });
  return found;
}

std::optional<std::int64_t> parse_timestamp_ns(std::string_view text) {
  if (text.size() < 19 || text[4] != '-') {
    return parse_unix_digits(text);
  }
  return parse_rfc3339_ns(text, Rfc3339Options{.zone_optional = true});
}

std::string normalise_level(std::string_view level) {
  std::string out;
  out.reserve(level.size());
  for (char c : level) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (out == "warning") {
    return "warn";
  }
  if (out == "err") {
    return "error";
  }
  if (out == "information") {
    return "info";
  }
  if (out == "dbg") {
    return "debug";
  }
  return out;
}

std::string clean_for_chat(std::string_view line, std::size_t width) {
  const std::string redacted = redact_secrets(line);
  std::string clean;
  clean.reserve(redacted.size());
  for (std::size_t i = 0; i < redacted.size(); ++i) {
    const auto c = static_cast<unsigned char>(redacted[i]);
    if (c == 0x1B && i + 1 < redacted.size() && redacted[i + 1] == '[') {
      // ANSI CSI sequence (colours): ESC [ parameters final-byte.
      i += 2;
      while (i < redacted.size() && !(redacted[i] >= 0x40 && redacted[i] <= 0x7E)) {
        ++i;
      }
      continue;
    }
    if (c == '\t') {
      clean += ' ';
    } else if (c >= 0x20 && c != 0x7F) {
      clean += static_cast<char>(c);
    }
  }
  while (!clean.empty() && clean.back() == ' ') {
    clean.pop_back();
  }
  // Count code points; cut so that the result, "…" included, is `width` long.
  std::size_t points = 0;
  std::size_t cut = std::string::npos;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    if ((static_cast<unsigned char>(clean[i]) & 0xC0) == 0x80) {
      continue;
    }
    if (points == width - 1 && cut == std::string::npos) {
      cut = i;
    }
    ++points;
  }
  if (points <= width || width == 0) {
    return clean;
  }
  clean.resize(cut);
  return clean + "…";
}

}  // namespace opsgate::actions::loki
