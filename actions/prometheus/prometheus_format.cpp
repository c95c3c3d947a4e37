#include "actions/prometheus/prometheus_format.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "src/core/duration.hpp"
#include "src/net/backend_connection.hpp"
#include "src/core/text.hpp"
#include "src/core/rfc3339.hpp"

namespace opsgate::actions::prometheus {

namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = kKiB * 1024.0;
constexpr double kGiB = kMiB * 1024.0;
constexpr double kTiB = kGiB * 1024.0;
constexpr int kMaxDecimals = 6;

constexpr std::array<std::string_view, 8> kBars{"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

std::string non_finite(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  return value > 0 ? "+Inf" : "-Inf";
}

std::string with_decimals(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  std::string text(buffer.data());
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') {
      text.pop_back();
    }
    if (text.back() == '.') {
      text.pop_back();
    }
  }
  if (text == "-0") {
    text = "0";
  }
  return text;
}

}  // namespace

Unit unit_for_metric(std::string_view metric) {
  if (metric == "error_rate") return Unit::ratio;
  if (metric == "latency_p99" || metric == "latency_p50") return Unit::seconds;
  if (metric == "rps") return Unit::requests_per_second;
  if (metric == "cpu") return Unit::cores;
  if (metric == "memory") return Unit::bytes;
  if (metric == "restarts") return Unit::count;
  return Unit::none;
}

std::string_view unit_name(Unit unit) {
  switch (unit) {
    case Unit::ratio: return "ratio";
    case Unit::seconds: return "seconds";
    case Unit::requests_per_second: return "req/s";
    case Unit::cores: return "cores";
    case Unit::bytes: return "bytes";
    case Unit::count: return "count";
    case Unit::none: return "";
  }
  return "";
}

std::string metric_label(std::string_view metric) {
  if (metric == "error_rate") return "error rate";
  if (metric == "latency_p99") return "p99 latency";
  if (metric == "latency_p50") return "p50 latency";
  if (metric == "rps") return "request rate";
  if (metric == "cpu") return "CPU";
  if (metric == "memory") return "memory";
  if (metric == "restarts") return "restarts";
  return std::string(metric);
}

std::string format_significant(double value, int significant) {
  if (!std::isfinite(value)) {
    return non_finite(value);
  }
  if (value == 0.0) {
    return "0";
  }
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  const int decimals = std::clamp(significant - 1 - magnitude, 0, kMaxDecimals);
  return with_decimals(value, decimals);
}

std::string format_value(double value, Unit unit) {
  if (!std::isfinite(value)) {
    return non_finite(value);
  }
  const double magnitude = std::fabs(value);
  switch (unit) {
    case Unit::ratio:
      return format_significant(value * 100.0, 3) + " %";
    case Unit::seconds:
      if (magnitude < 1.0) {
        return format_significant(value * 1000.0, 3) + " ms";
      }
      return format_significant(value, 3) + " s";
    case Unit::requests_per_second:
      if (magnitude >= 1e6) {
        return format_significant(value / 1e6, 3) + "M req/s";
      }
      if (magnitude >= 1e3) {
        return format_significant(value / 1e3, 3) + "k req/s";
      }
      return format_significant(value, 3) + " req/s";
    case Unit::cores: {
      const std::string number = format_significant(value, 2);
      return number + (number == "1" ? " core" : " cores");
    }
    case Unit::bytes:
      if (magnitude >= kTiB) {
        return format_significant(value / kTiB, 3) + " TiB";
      }
      if (magnitude >= kGiB) {
        return format_significant(value / kGiB, 3) + " GiB";
      }
      if (magnitude >= kMiB) {
        return format_significant(value / kMiB, 3) + " MiB";
      }
      if (magnitude >= kKiB) {
        return format_significant(value / kKiB, 3) + " KiB";
      }
      return with_decimals(value, 0) + " B";
    case Unit::count:
      // increase() extrapolates (2.0166 restarts): people count whole ones.
      return with_decimals(std::round(value), 0);
    case Unit::none:
      if (magnitude >= 1e4 && magnitude < 1e15) {
        return with_decimals(value, 0);
      }
      return format_significant(value, 4);
  }
  return format_significant(value, 4);
}

std::string sparkline(const std::vector<double>& values, std::size_t width) {
  if (values.empty() || width == 0) {
    return "";
  }
  // Average neighbours into at most `width` buckets; non-finite points do not count.
  const std::size_t buckets = std::min(width, values.size());
  std::vector<double> points(buckets, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t from = b * values.size() / buckets;
    const std::size_t to = (b + 1) * values.size() / buckets;
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t i = from; i < to; ++i) {
      if (std::isfinite(values[i])) {
        sum += values[i];
        ++n;
      }
    }
    if (n > 0) {
      points[b] = sum / static_cast<double>(n);
    }
  }
  double low = 0.0;
  double high = 0.0;
  bool any = false;
  for (const double p : points) {
    if (std::isnan(p)) {
      continue;
    }
    low = any ? std::min(low, p) : std::min(0.0, p);
    high = any ? std::max(high, p) : p;
    any = true;
  }
  std::string out;
  for (const double p : points) {
    if (std::isnan(p)) {
      out += ' ';
      continue;
    }
    std::size_t level = 0;
    if (high > low) {
      level = static_cast<std::size_t>(std::lround((p - low) / (high - low) * 7.0));
    }
    out += kBars[std::min<std::size_t>(level, 7)];
  }
  return out;
}

std::string graph_link(std::string_view base, std::string_view promql, std::int64_t range_s) {
  std::string root(base);
  while (!root.empty() && root.back() == '/') {
    root.pop_back();
  }
  return root + "/graph?g0.expr=" + net::url_encode(promql) + "&g0.tab=0&g0.range_input=" + format_duration(range_s);
}

std::string format_labels(const nlohmann::json& metric) {
  if (!metric.is_object()) {
    return "{}";
  }
  std::string name;
  std::string labels;
  for (const auto& [key, value] : metric.items()) {
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (key == "__name__") {
      name = text;
      continue;
    }
    std::string escaped;
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        escaped += '\\';
      }
      escaped += c == '\n' ? ' ' : c;
    }
    labels += (labels.empty() ? "" : ", ") + key + "=\"" + escaped + "\"";
  }
  if (labels.empty()) {
    return name.empty() ? "{}" : name;
  }
  return name + "{" + labels + "}";
}

std::optional<double> parse_sample_value(const nlohmann::json& value) {
  if (!value.is_string()) {
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  if (text == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (text == "+Inf" || text == "Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (text == "-Inf") {
    return -std::numeric_limits<double>::infinity();
  }
  double number = 0.0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') {
    ++first;
  }
  const auto [end, error] = std::from_chars(first, last, number);
  if (error != std::errc() || end != last || first == last) {
    return std::nullopt;
  }
  return number;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) { return parse_rfc3339_s(text); }

std::string format_age(std::int64_t seconds) {
  if (seconds < 60) {
    return std::to_string(std::max<std::int64_t>(seconds, 0)) + "s";
  }
  if (seconds < 86400) {
    return format_duration(seconds / 60 * 60);
  }
  return std::to_string(seconds / 86400) + "d";
}

std::string format_utc_time(std::int64_t unix_s, std::int64_t now_s) {
  const std::time_t when = static_cast<std::time_t>(unix_s);
  std::tm parts{};
  ::gmtime_r(&when, &parts);
  std::array<char, 32> buffer{};
  const bool same_day = unix_s / 86400 == now_s / 86400;
  std::strftime(buffer.data(), buffer.size(), same_day ? "%H:%M UTC" : "%Y-%m-%d %H:%M UTC", &parts);
  return buffer.data();
}

std::string snippet(std::string_view text, std::size_t limit) {
  std::string out;
  const std::size_t end = text::utf8_prefix(text, limit).size();
  for (std::size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7F) ? ' ' : text[i];
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  if (end < text.size()) {
    out += "...";
  }
  return out;
}

}  // namespace opsgate::actions::prometheus
