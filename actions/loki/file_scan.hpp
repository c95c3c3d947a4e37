#pragma once
// The file backend's search: reads the end of local log files and keeps the
// newest matching lines. Blocking file I/O: runs on the action's thread pool,
// never on the I/O thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actions/loki/log_answer.hpp"
#include "actions/loki/log_line.hpp"
#include "src/core/error.hpp"

namespace opsgate::actions::loki {

// Everything one scan needs, copied so the scan shares nothing with the caller.
struct FileScanJob {
  std::vector<std::string> patterns;  // glob patterns, placeholders already filled
  LineFormat format = LineFormat::automatic;
  std::size_t max_bytes_per_file = 16 * 1024 * 1024;  // only the last bytes of a file are read
  std::size_t max_files = 32;
  std::int64_t start_ns = 0;  // inclusive
  std::int64_t end_ns = 0;    // inclusive
  std::string contains;       // case-sensitive substring; empty: any
  std::string level;          // normalised level; empty: any
  std::size_t limit = 20;
};

// The newest `limit` lines in [start, end] that contain `contains` and have
// `level`, newest first; counts per level over every line in the range that
// contains `contains`. Lines without a readable timestamp are skipped (and
// counted in data.lines_without_time). not_found when no pattern matches a
// file; unavailable when no matched file can be read.
Result<LogAnswer> scan_log_files(const FileScanJob& job);

}  // namespace opsgate::actions::loki
