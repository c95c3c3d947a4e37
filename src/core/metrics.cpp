#include "src/core/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace opsgate {

namespace {

std::string number(double v) {
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string label_text(const MetricLabels& labels, const std::string& extra_name = {},
                       const std::string& extra_value = {}) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += (out.empty() ? "" : ",") + name + "=\"" + escape_label_value(value) + "\"";
  }
  if (!extra_name.empty()) {
    out += (out.empty() ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  }
  return out.empty() ? out : "{" + out + "}";
}

std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The series of one family are bounded: once a family has this many, a new
// label set is counted under the same names with every value "other".
constexpr std::size_t kMaxSeriesPerFamily = 1000;

}  // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsRegistry::declare_counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help = help;
  }
}

void MetricsRegistry::declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.histogram = true;
    it->second.help = help;
    it->second.buckets = std::move(buckets);
  }
}

MetricLabels MetricsRegistry::bounded_labels(const Family& family, const MetricLabels& labels) {
  if (family.series.size() < kMaxSeriesPerFamily || family.series.count(labels) != 0) {
    return labels;
  }
  MetricLabels other = labels;
  for (auto& label : other) {
    label.second = "other";
  }
  return other;
}

void MetricsRegistry::add(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard lock(mutex_);
  const auto it = families_.find(name);
  if (it == families_.end() || it->second.histogram || value < 0) {
    return;
  }
  it->second.series[bounded_labels(it->second, labels)].value += value;
}

void MetricsRegistry::observe(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard lock(mutex_);
  const auto it = families_.find(name);
  if (it == families_.end() || !it->second.histogram) {
    return;
  }
  Family& f = it->second;
  Series& s = f.series[bounded_labels(f, labels)];
  if (s.bucket_counts.empty()) {
    s.bucket_counts.assign(f.buckets.size(), 0.0);
  }
  for (std::size_t i = 0; i < f.buckets.size(); ++i) {
    if (value <= f.buckets[i]) {
      s.bucket_counts[i] += 1;
      break;
    }
  }
  s.sum += value;
  s.count += 1;
}

double MetricsRegistry::counter_value(const std::string& name, const MetricLabels& labels) const {
  std::lock_guard lock(mutex_);
  const auto it = families_.find(name);
  if (it == families_.end()) {
    return 0.0;
  }
  const auto s = it->second.series.find(labels);
  return s == it->second.series.end() ? 0.0 : (it->second.histogram ? s->second.count : s->second.value);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + (f.histogram ? " histogram\n" : " counter\n");
    for (const auto& [labels, s] : f.series) {
      if (!f.histogram) {
        out += name + label_text(labels) + " " + number(s.value) + "\n";
        continue;
      }
      double cumulative = 0.0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.bucket_counts[i];
        out += name + "_bucket" + label_text(labels, "le", number(f.buckets[i])) + " " + number(cumulative) + "\n";
      }
      out += name + "_bucket" + label_text(labels, "le", "+Inf") + " " + number(s.count) + "\n";
      out += name + "_sum" + label_text(labels) + " " + number(s.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + number(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace opsgate
