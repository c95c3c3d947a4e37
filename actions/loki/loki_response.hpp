#pragma once
// Reading Loki's answers: streams of log lines, metric results (counts per
// level), and errors, whose body is plain text even when Content-Type says
// JSON (fixtures/loki/parse_error.txt).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "actions/loki/log_answer.hpp"
#include "src/core/error.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::actions::loki {

// The lines of a query_range answer of resultType "streams", newest first, at
// most `limit`. A line's level is the stream's `level_label` if it has one,
// else read from the line (logfmt or JSON). Errc::upstream for a body that is
// not Loki's JSON.
Result<std::vector<LogEntry>> parse_streams(std::string_view body, const std::string& level_label, std::size_t limit);

// Counts per value of `level_label` from a `sum by (...)` answer: a vector, or
// a matrix (its last sample). `labelled` is false when no series carries the
// label (then the counts say nothing about levels).
struct ParsedCounts {
  LevelCounts counts;
  bool labelled = false;
};
Result<ParsedCounts> parse_level_counts(std::string_view body, const std::string& level_label);

// The error for a non-2xx answer, quoting Loki's text (one line, redacted,
// at most 300 characters): 400 bad query, 401/403 credentials, 429 limits,
// 504 timeout, other 5xx.
Error loki_http_error(const net::HttpClientResponse& response);

// Loki's error text: the body as one line, redacted and bounded; the
// `error`/`message` field when a proxy answered JSON.
std::string error_text(std::string_view body);

}  // namespace opsgate::actions::loki
