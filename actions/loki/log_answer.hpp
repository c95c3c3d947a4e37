#pragma once
// One logs.search request as both log backends read it, what they found, and
// the chat answer made of it: the same words whichever backend answered.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actions/loki/logs_action.hpp"
#include "src/core/time_zone.hpp"
#include "src/core/action_request.hpp"
#include "src/core/action_result.hpp"
#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/error.hpp"

namespace opsgate::actions::loki {

// The validated parameters of one request (the pipeline has checked them
// against the catalogue; this only reads them), where its target runs, and
// the time window it covers.
struct LogSearch {
  std::string target;
  std::string env;
  std::string contains;  // empty: no line filter
  std::string level;     // error, warn, info; empty: any
  std::int64_t range_s = 3600;
  std::size_t limit = 20;
  std::size_t asked_limit = 20;  // before max_limit was applied
  const TargetPlacement* placement = nullptr;  // in the inventory; never null in a read LogSearch
  std::int64_t start_ns = 0;  // end_ns - range_s
  std::int64_t end_ns = 0;    // the clock's now
};

// Reads max_limit, line_width and timezone of a backend's section (the
// caller calls finish()). Throws ConfigError for a value out of range or a
// time zone that cannot be loaded.
LogOutputConfig read_log_output(const ConfigNode& node);

// The zone of a config that read_log_output accepted; ConfigError naming
// `section` otherwise (a config built by hand).
TimeZone load_zone(const LogOutputConfig& output, const std::string& section);

// The start of every logs.search, whichever backend: reads the request (its
// limit cut to max_limit), finds where the target runs (Errc::not_found when
// it does not run in that environment) and the window ending at clock.now().
Result<LogSearch> read_log_search(const ActionRequest& request, std::size_t max_limit, const Inventory& inventory,
                                  const Clock& clock);

struct LogEntry {
  std::int64_t unix_ns = 0;
  std::string level;  // normalised; empty when the line does not say
  std::string line;   // as the backend returned it: not yet redacted
};

struct LevelCounts {
  std::map<std::string, std::int64_t> by_level;  // "" for lines without a level
  bool from_lines = false;  // counted in the returned lines, not over the whole range
};

// What a backend found.
struct LogAnswer {
  std::string backend;               // "loki", "file"
  std::string source;                // the selector, or the files read: for people
  std::vector<LogEntry> entries;     // newest first, at most limit
  bool more = false;                 // more lines matched than were returned
  std::optional<LevelCounts> levels;
  std::vector<std::string> notes;    // shown after the lines ("level counts unavailable: ...")
  nlohmann::json data = nlohmann::json::object();  // backend details (query, files), merged into the result
};

// The levels in the returned lines, for when the backend cannot count.
LevelCounts count_levels(const std::vector<LogEntry>& entries);

// The chat answer: a header, the counts per level, one line per entry
// ("2026-01-01 12:00:05  level=error msg=..."), redacted and cut to width;
// an empty answer says what was searched and where.
ActionResult render_log_answer(const LogSearch& search, const LogAnswer& answer, const TimeZone& zone,
                               std::size_t line_width);

}  // namespace opsgate::actions::loki
