#include "actions/loki/file_scan.hpp"
#include <fmt/format.h>

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <queue>
#include <set>
#include <string_view>
#include <utility>

namespace opsgate::actions::loki {

namespace {

namespace fs = std::filesystem;

struct Candidate {
  std::int64_t unix_ns = 0;
  std::uint64_t seq = 0;  // later in the files = newer, for equal timestamps
  std::string level;
  std::string line;
};

// The heap's top is the oldest kept line, the first to give way.
struct NewerFirst {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.unix_ns != b.unix_ns ? a.unix_ns > b.unix_ns : a.seq > b.seq;
  }
};

struct Matches {
  std::vector<std::string> files;
  bool capped = false;
};

Matches expand(const std::vector<std::string>& patterns, std::size_t max_files) {
  std::set<std::string> found;
  for (const auto& pattern : patterns) {
    glob_t g{};
    if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        std::error_code ec;
        if (fs::is_regular_file(g.gl_pathv[i], ec)) {
          found.insert(g.gl_pathv[i]);
        }
      }
    }
    ::globfree(&g);
  }
  Matches out;
  out.files.assign(found.begin(), found.end());
  if (out.files.size() > max_files) {
    out.files.resize(max_files);
    out.capped = true;
  }
  return out;
}

// The last `max_bytes` of a file, starting at a line boundary.
Result<std::string> read_tail(const std::string& path, std::size_t max_bytes, bool& cut) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Errc::unavailable, "cannot read " + path + ": " + std::strerror(errno));
  }
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  const std::size_t offset = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(size - offset, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  cut = offset > 0;
  if (cut) {
    // The first line is probably partial: drop it.
    const std::size_t newline = bytes.find('\n');
    bytes.erase(0, newline == std::string::npos ? bytes.size() : newline + 1);
  }
  return bytes;
}

std::string format_bytes(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) {
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  }
  if (bytes % 1024 == 0) {
    return std::to_string(bytes / 1024) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Result<LogAnswer> scan_log_files(const FileScanJob& job) {
  const Matches matches = expand(job.patterns, job.max_files);
  if (matches.files.empty()) {
    return fail(Errc::not_found,
                "no log file matches " + fmt::to_string(fmt::join(job.patterns, ", ")) + " (actions.logfile.paths)");
  }

  std::priority_queue<Candidate, std::vector<Candidate>, NewerFirst> newest;
  LevelCounts counts;
  std::uint64_t seq = 0;
  std::size_t matched = 0;
  std::size_t without_time = 0;
  std::vector<std::string> read_files;
  std::vector<std::string> notes;
  std::string first_error;
  for (const auto& file : matches.files) {
    bool cut = false;
    auto bytes = read_tail(file, job.max_bytes_per_file, cut);
    if (!bytes) {
      if (first_error.empty()) {
        first_error = bytes.error().message;
      }
      notes.push_back(bytes.error().message);
      continue;
    }
    read_files.push_back(file);
    if (cut) {
      notes.push_back("read only the last " + format_bytes(job.max_bytes_per_file) + " of " + file);
    }
    const std::string_view text(*bytes);
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) {
        end = text.size();
      }
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      ++seq;
      // The substring test is the cheap one: do it before parsing.
      if (line.empty() || (!job.contains.empty() && line.find(job.contains) == std::string_view::npos)) {
        continue;
      }
      const LineFields fields = read_line_fields(line, job.format);
      if (!fields.unix_ns) {
        ++without_time;
        continue;
      }
      if (*fields.unix_ns < job.start_ns || *fields.unix_ns > job.end_ns) {
        continue;
      }
      ++counts.by_level[fields.level];
      if (!job.level.empty() && fields.level != job.level) {
        continue;
      }
      ++matched;
      if (newest.size() < job.limit) {
        newest.push(Candidate{*fields.unix_ns, seq, fields.level, std::string(line)});
      } else if (NewerFirst{}(Candidate{*fields.unix_ns, seq, {}, {}}, newest.top())) {
        newest.pop();
        newest.push(Candidate{*fields.unix_ns, seq, fields.level, std::string(line)});
      }
    }
  }
  if (read_files.empty()) {
    return fail(Errc::unavailable, first_error);
  }

  LogAnswer answer;
  answer.backend = "file";
  answer.more = matched > newest.size();
  while (!newest.empty()) {
    Candidate c = newest.top();
    newest.pop();
    answer.entries.push_back(LogEntry{c.unix_ns, std::move(c.level), std::move(c.line)});
  }
  std::reverse(answer.entries.begin(), answer.entries.end());
  answer.levels = std::move(counts);
  answer.source = "searched " + fmt::to_string(fmt::join(read_files, ", "));
  if (matches.capped) {
    notes.push_back("read only the first " + std::to_string(job.max_files) + " matching files");
  }
  if (without_time > 0) {
    notes.push_back(std::to_string(without_time) + (without_time == 1 ? " line" : " lines") +
                    " without a readable ts, time or timestamp skipped");
  }
  answer.notes = std::move(notes);
  answer.data = {{"files", read_files}, {"matched", matched}, {"lines_without_time", without_time}};
  return answer;
}

}  // namespace opsgate::actions::loki
