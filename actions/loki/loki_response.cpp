#include "actions/loki/loki_response.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "actions/loki/log_line.hpp"

namespace opsgate::actions::loki {

namespace {

using nlohmann::json;

constexpr std::size_t kErrorTextWidth = 300;

// The parsed envelope's `data`, or why it is not one.
Result<json> envelope_data(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(Errc::upstream, "Loki's answer is not JSON: " + error_text(body));
  }
  const auto status = doc.find("status");
  if (status == doc.end() || !status->is_string() || *status != "success") {
    const auto error = doc.find("error");
    return fail(Errc::upstream, "Loki answered with an error: " +
                                    (error != doc.end() && error->is_string() ? error_text(error->get<std::string>())
                                                                              : error_text(body)));
  }
  const auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) {
    return fail(Errc::upstream, "Loki's answer has no data object");
  }
  return std::move(*data);
}

std::optional<std::int64_t> parse_ns(const json& value) {
  if (!value.is_string()) {
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return out;
}

// A sample's value: Prometheus-style [ts, "57"].
std::optional<std::int64_t> sample_value(const json& sample) {
  if (!sample.is_array() || sample.size() < 2 || !sample[1].is_string()) {
    return std::nullopt;
  }
  const std::string& text = sample[1].get_ref<const std::string&>();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(std::llround(value));
}

}  // namespace

std::string error_text(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  std::string text(body);
  if (!doc.is_discarded() && doc.is_object()) {
    for (const char* key : {"error", "message"}) {
      const auto it = doc.find(key);
      if (it != doc.end() && it->is_string()) {
        text = it->get<std::string>();
        break;
      }
    }
  }
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string clean = clean_for_chat(text, kErrorTextWidth);
  const auto first = clean.find_first_not_of(' ');
  return first == std::string::npos ? "(empty body)" : clean.substr(first);
}

Result<std::vector<LogEntry>> parse_streams(std::string_view body, const std::string& level_label, std::size_t limit) {
  auto data = envelope_data(body);
  if (!data) {
    return tl::unexpected(data.error());
  }
  const auto type = data->find("resultType");
  const auto result = data->find("result");
  if (type == data->end() || *type != "streams" || result == data->end() || !result->is_array()) {
    return fail(Errc::upstream, "Loki's answer is not a list of streams");
  }
  std::vector<LogEntry> entries;
  for (const auto& stream : *result) {
    if (!stream.is_object()) {
      continue;
    }
    std::string stream_level;
    const auto labels = stream.find("stream");
    if (labels != stream.end() && labels->is_object()) {
      const auto level = labels->find(level_label);
      if (level != labels->end() && level->is_string()) {
        stream_level = normalise_level(level->get<std::string>());
      }
    }
    const auto values = stream.find("values");
    if (values == stream.end() || !values->is_array()) {
      continue;
    }
    for (const auto& value : *values) {
      if (!value.is_array() || value.size() < 2 || !value[1].is_string()) {
        continue;
      }
      const auto ns = parse_ns(value[0]);
      if (!ns) {
        continue;
      }
      LogEntry entry;
      entry.unix_ns = *ns;
      entry.line = value[1].get<std::string>();
      entry.level = stream_level.empty() ? read_line_fields(entry.line, LineFormat::automatic).level : stream_level;
      entries.push_back(std::move(entry));
    }
  }
  // Loki sorts within a stream only: merge the streams by time.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const LogEntry& a, const LogEntry& b) { return a.unix_ns > b.unix_ns; });
  if (entries.size() > limit) {
    entries.resize(limit);
  }
  return entries;
}

Result<ParsedCounts> parse_level_counts(std::string_view body, const std::string& level_label) {
  auto data = envelope_data(body);
  if (!data) {
    return tl::unexpected(data.error());
  }
  const auto type = data->find("resultType");
  const auto result = data->find("result");
  if (type == data->end() || !type->is_string() || result == data->end() || !result->is_array()) {
    return fail(Errc::upstream, "Loki's answer to the count query has no result");
  }
  const bool matrix = *type == "matrix";
  if (!matrix && *type != "vector") {
    return fail(Errc::upstream, "Loki answered the count query with a " + type->get<std::string>() + ", not a vector");
  }
  ParsedCounts parsed;
  for (const auto& series : *result) {
    if (!series.is_object()) {
      continue;
    }
    std::string level;
    const auto metric = series.find("metric");
    if (metric != series.end() && metric->is_object()) {
      const auto it = metric->find(level_label);
      if (it != metric->end() && it->is_string()) {
        level = normalise_level(it->get<std::string>());
        parsed.labelled = true;
      }
    }
    std::optional<std::int64_t> count;
    if (matrix) {
      const auto values = series.find("values");
      if (values != series.end() && values->is_array() && !values->empty()) {
        count = sample_value(values->back());
      }
    } else {
      const auto value = series.find("value");
      if (value != series.end()) {
        count = sample_value(*value);
      }
    }
    if (count) {
      parsed.counts.by_level[level] += *count;
    }
  }
  return parsed;
}

Error loki_http_error(const net::HttpClientResponse& response) {
  const std::string status = "HTTP " + std::to_string(response.status);
  const std::string text = error_text(response.body);
  if (response.status == 400) {
    return {Errc::upstream, "Loki refused the query (" + status + "): " + text};
  }
  if (response.status == 401 || response.status == 403) {
    return {Errc::upstream, "Loki (or the proxy in front of it) refused opsgate's credentials or tenant (" + status +
                                "): " + text};
  }
  if (response.status == 429) {
    return {Errc::upstream, "Loki is limiting queries (" + status + "): " + text +
                                "; try a shorter range, or again in a minute"};
  }
  if (response.status == 504) {
    return {Errc::timeout, "Loki gave up on the query (" + status + "): " + text + "; try a shorter range"};
  }
  if (response.status >= 500) {
    return {Errc::upstream, "Loki failed (" + status + "): " + text};
  }
  return {Errc::upstream, "Loki answered " + status + ": " + text};
}

}  // namespace opsgate::actions::loki
