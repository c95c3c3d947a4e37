#pragma once
// The log backends of `logs.search`: `loki` (Grafana Loki's HTTP API) and
// `logfile` (local logfmt or JSON-lines files). Configure one of them; both
// answer in the same words. This is the folder's one public header: configs,
// config readers and factories.
//
//   actions:
//     loki:                          # logs.search from Loki
//       url: http://127.0.0.1:3100   # connection keys of net::parse_backend_connection:
//       bearer_token: {env: LOKI_TOKEN}  #   url, bearer_token, basic_auth, headers,
//       timeout: 10s                 #   ca_file, insecure_skip_verify, timeout
//       tenant: shop                 # X-Scope-OrgID; default: none
//       level_filter: label          # label | logfmt | json | line (how level=error is asked)
//       level_label: level           # the label / field name of the level
//       level_counts: true           # a second query counts lines per level over the range
//       max_limit: 200               # a larger `limit` is cut to this
//       line_width: 160              # characters per line shown; longer lines end in "…"
//       timezone: UTC                # UTC, +02:00 or an IANA name (Europe/Berlin)
//
//     logfile:                       # logs.search from local files
//       paths: ["var/demo-logs/{target}-{env}.log"]  # globs; {target} {env} {namespace} {deployment}
//       format: auto                 # auto | logfmt | json (auto: a line starting with '{' is JSON)
//       max_bytes_per_file: 16777216 # only the end of a larger file is read
//       max_files: 32                # matching files read per request
//       threads: 2                   # the scan runs on this many threads, not the I/O thread
//       max_limit: 200
//       line_width: 160
//       timezone: UTC
//
// Both: `contains` is a case-sensitive substring (Loki's |=); lines are
// redacted (src/core/redact.hpp) before they are shown or put in data. The
// file backend reads a line's time from ts/time/timestamp and its level from
// level/lvl/severity, folded (WARNING -> warn, err -> error); lines without a
// time are skipped and counted. Its level counts cover every line in range;
// Loki's come from a second query (`sum by (level) (count_over_time(...))`),
// or from the returned lines when the answer carries no level label.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "src/core/action.hpp"
#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/net/backend_connection.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::actions::loki {

// How `level=error` becomes LogQL:
//   label:  a matcher inside the selector         {app="checkout",level="error"}
//   logfmt: a parser and a label filter            {app="checkout"} | logfmt | level="error"
//   json:   the same with the JSON parser          {app="checkout"} | json | level="error"
//   line:   a case-insensitive line filter regex   {app="checkout"} |~ `(?i)\blevel"?\s*[=:]\s*"?error\b`
enum class LevelFilter { label, logfmt, json, line };

// How the file backend reads a line.
enum class LineFormat { automatic, logfmt, json };

// The keys both backends share: how answers look.
struct LogOutputConfig {
  std::size_t max_limit = 200;   // 1..500 (the catalogue's bound of `limit`)
  std::size_t line_width = 160;  // 40..2000 characters
  std::string timezone = "UTC";  // checked at start-up: the zone file must exist
};

// The `actions.loki` section, validated once at start-up and immutable after.
// Owned by whoever builds the actions; the action keeps its own copy.
struct LokiConfig {
  net::BackendConnection connection;
  std::string tenant;  // X-Scope-OrgID; empty: not sent
  LevelFilter level_filter = LevelFilter::label;
  std::string level_label = "level";  // a Prometheus label name
  bool level_counts = true;
  LogOutputConfig output;
};

// The `actions.logfile` section, validated once at start-up and immutable after.
// Owned by whoever builds the actions; the action keeps its own copy.
struct LogFileConfig {
  std::vector<std::string> paths;  // glob patterns with {target} {env} {namespace} {deployment}
  LineFormat format = LineFormat::automatic;
  std::size_t max_bytes_per_file = 16 * 1024 * 1024;  // 4 KiB..1 GiB
  std::size_t max_files = 32;                         // 1..1000
  std::size_t threads = 2;                            // 1..16
  LogOutputConfig output;
};

// Read the sections above. Throw ConfigError naming file:line:key for an
// unknown key, a value out of range, an unknown time zone or placeholder.
LokiConfig parse_loki_config(const ConfigNode& node);
LogFileConfig parse_logfile_config(const ConfigNode& node);

// The `logs.search` action over Loki. `client` and `clock` are owned by the
// daemon and must outlive the action. Throws ConfigError (start-up only) for
// an unknown time zone or a placement whose loki_selector has no braces.
std::unique_ptr<opsgate::Action> make_loki_logs_action(const LokiConfig& config,
                                                       std::shared_ptr<const Inventory> inventory,
                                                       net::HttpClient& client, const Clock& clock);

// The `logs.search` action over local files. The action owns a small thread
// pool for the scans; `clock` is owned by the daemon and must outlive it.
// Throws ConfigError (start-up only) for an unknown time zone.
std::unique_ptr<opsgate::Action> make_file_logs_action(const LogFileConfig& config,
                                                       std::shared_ptr<const Inventory> inventory,
                                                       const Clock& clock);

}  // namespace opsgate::actions::loki
