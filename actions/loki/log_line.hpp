#pragma once
// What the log backends read out of one log line: its timestamp and level,
// from logfmt (`ts=... level=error`) or JSON (`{"time":...,"level":"error"}`),
// and how a line is made fit for chat.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actions/loki/logs_action.hpp"

namespace opsgate::actions::loki {

// The fields of one line the search needs; absent ones are empty.
struct LineFields {
  std::optional<std::int64_t> unix_ns;  // from ts, time or timestamp
  std::string level;                    // normalised (see normalise_level), from level, lvl or severity
};

// `automatic` treats a line starting with '{' as JSON, anything else as logfmt.
LineFields read_line_fields(std::string_view line, LineFormat format);

// The value of `key` in a logfmt line (quotes removed, \" and \\ resolved).
std::optional<std::string> logfmt_value(std::string_view line, std::string_view key);

// RFC 3339 ("2026-01-01T12:00:00Z", "...12:00:00.123+01:00", a space for the
// T; no zone means UTC) or a unix time as digits (seconds, ms, µs or ns by
// magnitude). nullopt for anything else.
std::optional<std::int64_t> parse_timestamp_ns(std::string_view text);

// Lower case, with the common spellings folded: warning -> warn, err -> error,
// information -> info, dbg -> debug; other values are kept (fatal, trace).
std::string normalise_level(std::string_view level);

// Redacts secrets, drops ANSI colour sequences and control characters (a tab
// becomes a space), and cuts to `width` characters (UTF-8 code points),
// ending a cut line with "…". Never splits a UTF-8 sequence.
std::string clean_for_chat(std::string_view line, std::size_t width);

}  // namespace opsgate::actions::loki
