#pragma once
// A small metrics registry: counters and histograms with labels, rendered in
// the Prometheus text exposition format 0.0.4 (GET /metrics). Owned by the
// app and shared by reference; every method is thread-safe (one mutex: the
// updates are a map lookup and an add). Each family holds at most 1000 label
// sets; later new ones are counted under the value "other".

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace opsgate {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;  // name, value; in declared order

class MetricsRegistry {
 public:
  // Declaring a name twice returns the first declaration (same kind required).
  void declare_counter(const std::string& name, const std::string& help);
  void declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  // Undeclared names are ignored (a typo cannot crash the request path).
  void add(const std::string& name, const MetricLabels& labels, double value = 1.0);
  void observe(const std::string& name, const MetricLabels& labels, double value);

  // The sum of one counter series (tests, budgets); 0 when absent.
  double counter_value(const std::string& name, const MetricLabels& labels) const;

  // Prometheus text format 0.0.4; Content-Type: text/plain; version=0.0.4; charset=utf-8
  std::string render() const;

 private:
  struct Series {
    double value = 0.0;               // counter
    std::vector<double> bucket_counts;  // histogram, cumulative at render time
    double sum = 0.0;
    double count = 0.0;
  };
  struct Family {
    bool histogram = false;
    std::string help;
    std::vector<double> buckets;
    std::map<MetricLabels, Series> series;
  };
  // `labels`, or the same names with every value "other" once `family` is full.
  static MetricLabels bounded_labels(const Family& family, const MetricLabels& labels);
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Prometheus label value escaping: backslash, double quote and newline.
std::string escape_label_value(const std::string& value);

}  // namespace opsgate
