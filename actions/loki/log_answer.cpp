#include "actions/loki/log_answer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <string_view>
#include <utility>

#include "actions/loki/log_line.hpp"
#include "src/core/duration.hpp"
#include "src/core/redact.hpp"

namespace opsgate::actions::loki {

namespace {

using nlohmann::json;

// Lines in `data` keep more than chat shows, but still bounded: the audit
// log stores the result.
constexpr std::size_t kDataLineWidth = 2000;

std::string filters_phrase(const LogSearch& search) {
  std::string out;
  if (!search.contains.empty()) {
    out += " matching '" + search.contains + "'";
  }
  if (!search.level.empty()) {
    out += " at level " + search.level;
  }
  return out;
}

// error, warn, info, debug first; then the rest alphabetically; lines
// without a level last.
std::vector<std::pair<std::string, std::int64_t>> ordered(const LevelCounts& counts) {
  static constexpr std::array<std::string_view, 4> kOrder{"error", "warn", "info", "debug"};
  const auto rank = [](const std::string& level) -> std::size_t {
    if (level.empty()) {
      return kOrder.size() + 1;
    }
    const auto it = std::find(kOrder.begin(), kOrder.end(), level);
    return it == kOrder.end() ? kOrder.size() : static_cast<std::size_t>(it - kOrder.begin());
  };
  std::vector<std::pair<std::string, std::int64_t>> out(counts.by_level.begin(), counts.by_level.end());
  std::stable_sort(out.begin(), out.end(), [&rank](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  return out;
}

std::string counts_phrase(const LevelCounts& counts) {
  std::string out;
  for (const auto& [level, count] : ordered(counts)) {
    if (count == 0) {
      continue;
    }
    out += (out.empty() ? "" : ", ") + (level.empty() ? std::string("no level") : level) + " " + std::to_string(count);
  }
  return out;
}

std::int64_t total(const LevelCounts& counts) {
  std::int64_t sum = 0;
  for (const auto& [level, count] : counts.by_level) {
    sum += count;
  }
  return sum;
}

// A suggested command: the chat text must survive the command parser, so
// `contains` is only carried over when it is one plain word.
std::string logs_command(const LogSearch& search, std::string_view level) {
  std::string command = "!logs " + search.target + " " + search.env;
  const bool plain = !search.contains.empty() &&
                     std::all_of(search.contains.begin(), search.contains.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                              c == '-' || c == '_' || c == '.' || c == '/';
                     });
  if (plain) {
    command += " contains=" + search.contains;
  }
  if (!level.empty()) {
    command += " level=" + std::string(level);
  }
  return command + " range=" + format_duration(search.range_s);
}

// The time column already shows a leading `ts=...`/`time=...` field: drop it
// from the line shown in chat (data keeps the whole line).
std::string_view without_leading_time(std::string_view line) {
  for (std::string_view key : {"ts=", "time=", "timestamp="}) {
    if (line.starts_with(key)) {
      const std::size_t space = line.find(' ');
      return space == std::string_view::npos ? line : line.substr(space + 1);
    }
  }
  return line;
}

}  // namespace

LogOutputConfig read_log_output(const ConfigNode& node) {
  LogOutputConfig output;
  output.max_limit = static_cast<std::size_t>(
      node.integer_or("max_limit", static_cast<std::int64_t>(output.max_limit), 1, 500));
  output.line_width = static_cast<std::size_t>(
      node.integer_or("line_width", static_cast<std::int64_t>(output.line_width), 40, 2000));
  output.timezone = node.str_or("timezone", output.timezone);
  if (auto zone = TimeZone::load(output.timezone); !zone) {
    node.fail("timezone", zone.error().message);
  }
  return output;
}

TimeZone load_zone(const LogOutputConfig& output, const std::string& section) {
  auto zone = TimeZone::load(output.timezone);
  if (!zone) {
    throw ConfigError(section + ".timezone: " + zone.error().message);
  }
  return std::move(*zone);
}

Result<LogSearch> read_log_search(const ActionRequest& request, std::size_t max_limit, const Inventory& inventory,
                                  const Clock& clock) {
  const json& p = request.params;
  LogSearch search;
  const auto text = [&p](const char* key) -> std::string {
    const auto it = p.find(key);
    return (it != p.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  search.target = text("target");
  search.env = text("env");
  search.contains = text("contains");
  search.level = text("level");
  if (search.target.empty() || search.env.empty()) {
    return fail(Errc::internal, "logs.search was run without a target and environment");
  }
  if (search.level != "" && search.level != "error" && search.level != "warn" && search.level != "info") {
    return fail(Errc::invalid_input, "level must be error, warn or info, not '" + search.level + "'");
  }
  if (const auto it = p.find("range_s"); it != p.end() && it->is_number_integer()) {
    search.range_s = std::max<std::int64_t>(1, it->get<std::int64_t>());
  }
  if (const auto it = p.find("limit"); it != p.end() && it->is_number_integer()) {
    search.asked_limit = static_cast<std::size_t>(std::max<std::int64_t>(1, it->get<std::int64_t>()));
  }
  search.limit = std::min(search.asked_limit, std::max<std::size_t>(1, max_limit));
  search.placement = inventory.placement(search.target, search.env);
  if (search.placement == nullptr) {
    return fail(Errc::not_found, search.target + " does not run in " + search.env);
  }
  constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
  search.end_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock.now().time_since_epoch()).count();
  search.start_ns = search.end_ns - search.range_s * kNanosPerSecond;
  return search;
}

LevelCounts count_levels(const std::vector<LogEntry>& entries) {
  LevelCounts counts;
  counts.from_lines = true;
  for (const auto& entry : entries) {
    ++counts.by_level[entry.level];
  }
  return counts;
}

ActionResult render_log_answer(const LogSearch& search, const LogAnswer& answer, const TimeZone& zone,
                               std::size_t line_width) {
  const std::string range = format_duration(search.range_s);
  ActionResult result;
  std::string summary;
  if (answer.entries.empty()) {
    summary = "no log lines for " + search.target + " in " + search.env + " in the last " + range +
              filters_phrase(search) + "; " + answer.source;
    if (answer.levels && !answer.levels->from_lines && total(*answer.levels) > 0) {
      summary += "\n(lines in the range" + (search.contains.empty() ? "" : " matching '" + search.contains + "'") +
                 ", by level: " + counts_phrase(*answer.levels) + ")";
    }
  } else {
    const std::size_t n = answer.entries.size();
    summary = search.target + " in " + search.env + ", last " + range + filters_phrase(search) + ": " +
              (answer.more ? "the " + std::to_string(n) + " newest lines" : std::to_string(n) + (n == 1 ? " line" : " lines")) +
              ", newest first (times " + zone.name() + ")";
    if (answer.levels) {
      const std::string counts = counts_phrase(*answer.levels);
      if (!counts.empty()) {
        summary += answer.levels->from_lines ? "\nby level, in these lines: " + counts
                                             : "\nby level over the last " + range + ": " + counts;
      }
    }
    for (const auto& entry : answer.entries) {
      const auto time = std::chrono::system_clock::time_point{
          std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{entry.unix_ns})};
      summary += "\n" + zone.format(time) + "  " + clean_for_chat(without_leading_time(entry.line), line_width);
    }
  }
  if (search.asked_limit > search.limit) {
    summary += "\n(limit " + std::to_string(search.asked_limit) + " is above this backend's maximum; showed at most " +
               std::to_string(search.limit) + ")";
  }
  for (const auto& note : answer.notes) {
    summary += "\n(" + note + ")";
  }
  // The summary quotes the search text and the source too: redact it whole.
  result.summary = redact_secrets(summary);

  json lines = json::array();
  for (const auto& entry : answer.entries) {
    json line = {{"time", format_rfc3339_utc(entry.unix_ns)}, {"line", clean_for_chat(entry.line, kDataLineWidth)}};
    if (!entry.level.empty()) {
      line["level"] = entry.level;
    }
    lines.push_back(std::move(line));
  }
  json data = {{"backend", answer.backend},   {"target", search.target}, {"env", search.env},
               {"range_s", search.range_s},   {"limit", search.limit},   {"timezone", zone.name()},
               {"lines", std::move(lines)},   {"more", answer.more}};
  if (!search.contains.empty()) {
    data["contains"] = redact_secrets(search.contains);
  }
  if (!search.level.empty()) {
    data["level"] = search.level;
  }
  if (answer.levels) {
    json levels = json::object();
    for (const auto& [level, count] : answer.levels->by_level) {
      levels[level.empty() ? "none" : level] = count;
    }
    data["levels"] = std::move(levels);
    data["levels_from_lines"] = answer.levels->from_lines;
  }
  for (const auto& [key, value] : answer.data.items()) {
    // Queries quote the search text: redacted like everything shown.
    data[key] = value.is_string() ? json(redact_secrets(value.get<std::string>())) : value;
  }
  result.data = std::move(data);

  const bool errors = answer.levels && answer.levels->by_level.count("error") > 0 && answer.levels->by_level.at("error") > 0;
  if (search.level.empty() && errors) {
    result.suggestions.push_back({"Errors only", logs_command(search, "error")});
  }
  result.suggestions.push_back(
      {"Triage " + search.target, "!triage " + search.target + " " + search.env + " " + range});
  return result;
}

}  // namespace opsgate::actions::loki
