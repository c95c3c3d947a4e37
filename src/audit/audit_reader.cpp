#include "src/audit/audit_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <utility>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"

namespace opsgate::audit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kColumns =
    "seq, ts_ms, request_id, kind, platform, channel, principal, action, params, outcome, detail, prev_hash, hash";

constexpr int kReadBusyTimeoutMs = 5000;

// A stored row. params_text is kept because CSV exports it verbatim and a
// row whose params no longer parse has been edited.
struct Row {
  AuditEvent event;
  std::string params_text;
  bool params_valid = true;
};

Row read_row(SQLite::Statement& stmt) {
  Row row;
  AuditEvent& e = row.event;
  e.seq = stmt.getColumn(0).getInt64();
  e.ts_ms = stmt.getColumn(1).getInt64();
  // getString, not getText: it keeps embedded NULs and arbitrary bytes, so
  // the hash is recomputed over exactly what was stored.
  e.request_id = stmt.getColumn(2).getString();
  e.kind = stmt.getColumn(3).getString();
  e.platform = stmt.getColumn(4).getString();
  e.channel = stmt.getColumn(5).getString();
  e.principal = stmt.getColumn(6).getString();
  e.action = stmt.getColumn(7).getString();
  row.params_text = stmt.getColumn(8).getString();
  e.outcome = stmt.getColumn(9).getString();
  e.detail = stmt.getColumn(10).getString();
  e.prev_hash = stmt.getColumn(11).getString();
  e.hash = stmt.getColumn(12).getString();
  json params = json::parse(row.params_text, nullptr, false);
  if (params.is_discarded()) {
    // Shown as the raw text so a damaged row can still be read; verify()
    // reports it.
    row.params_valid = false;
    e.params = row.params_text;
  } else {
    e.params = std::move(params);
  }
  return row;
}

std::vector<AuditEvent> read_all(SQLite::Statement& stmt) {
  std::vector<AuditEvent> events;
  while (stmt.executeStep()) {
    events.push_back(read_row(stmt).event);
  }
  return events;
}

// Opens `path` read-only and runs fn(db), turning every library exception
// into a Result error that names the file.
template <class F>
auto with_db(const std::string& path, F&& fn) -> decltype(fn(std::declval<SQLite::Database&>())) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return fail(Errc::not_found, "no audit log at " + path + ": start opsgate once or check storage.path");
  }
  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    db.setBusyTimeout(kReadBusyTimeoutMs);
    if (!db.tableExists("audit_events")) {
      return fail(Errc::storage, path + " is not an opsgate audit log (it has no audit_events table)");
    }
    return fn(db);
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot read the audit log at " + path + ": " + e.what());
  }
}

// Chat text lands in these cells. A spreadsheet runs a cell that starts with
// = + - @ (or a tab or CR before them) as a formula (CSV injection): such a
// cell gets a leading ' and quotes, as OWASP recommends, so it opens as text.
void write_csv_field(std::ostream& out, std::string_view field) {
  const bool formula = !field.empty() && std::string_view("=+-@\t\r").find(field.front()) != std::string_view::npos;
  if (!formula && field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out << field;
    return;
  }
  out << '"';
  if (formula) {
    out << '\'';
  }
  for (char c : field) {
    if (c == '"') {
      out << '"';
    }
    out << c;
  }
  out << '"';
}

// Chat text can carry escape sequences; printed raw they would restyle or
// rewrite the operator's terminal (and forge earlier lines).
std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char buf[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      // U+0080..U+009F, the C1 controls (U+009B is a one-character CSI).
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(text[i + 1]));
      out += buf;
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

Result<void> check_stream(const std::ostream& out, const std::string& path) {
  if (!out) {
    return fail(Errc::storage, "could not write the export of the audit log at " + path + " (output stream failed)");
  }
  return {};
}

}  // namespace

Result<std::vector<AuditEvent>> tail(const std::string& path, std::int64_t n) {
  return with_db(path, [&](SQLite::Database& db) -> Result<std::vector<AuditEvent>> {
    SQLite::Statement stmt(db, std::string("SELECT * FROM (SELECT ") + kColumns +
                                   " FROM audit_events ORDER BY seq DESC LIMIT ?) ORDER BY seq ASC");
    stmt.bind(1, std::max<std::int64_t>(n, 0));
    return read_all(stmt);
  });
}

Result<std::vector<AuditEvent>> of_kind_since(const std::string& path, const std::string& kind, std::int64_t since_ms) {
  return with_db(path, [&](SQLite::Database& db) -> Result<std::vector<AuditEvent>> {
    SQLite::Statement stmt(db, std::string("SELECT ") + kColumns +
                                   " FROM audit_events WHERE kind = ? AND ts_ms >= ? ORDER BY seq");
    stmt.bind(1, kind);
    stmt.bind(2, since_ms);
    return read_all(stmt);
  });
}

Result<std::vector<AuditEvent>> by_request(const std::string& path, const std::string& request_id) {
  return with_db(path, [&](SQLite::Database& db) -> Result<std::vector<AuditEvent>> {
    SQLite::Statement stmt(db,
                           std::string("SELECT ") + kColumns + " FROM audit_events WHERE request_id = ? ORDER BY seq");
    stmt.bind(1, request_id);
    return read_all(stmt);
  });
}

Result<AuditEvent> by_seq(const std::string& path, std::int64_t seq) {
  return with_db(path, [&](SQLite::Database& db) -> Result<AuditEvent> {
    SQLite::Statement stmt(db, std::string("SELECT ") + kColumns + " FROM audit_events WHERE seq = ?");
    stmt.bind(1, seq);
    if (!stmt.executeStep()) {
      return fail(Errc::not_found, "no audit event #" + std::to_string(seq) + " in " + path);
    }
    return read_row(stmt).event;
  });
}

Result<std::vector<AuditEvent>> recent_for_target(const std::string& path, const std::string& target,
                                                  std::int64_t limit) {
  return with_db(path, [&](SQLite::Database& db) -> Result<std::vector<AuditEvent>> {
    // CASE, not AND: json_extract raises an error on malformed JSON, and
    // SQLite does not promise to evaluate AND's operands in order. One
    // damaged row must not hide every other row.
    SQLite::Statement stmt(db, std::string("SELECT * FROM (SELECT ") + kColumns +
                                   " FROM audit_events WHERE CASE WHEN json_valid(params) THEN "
                                   "json_extract(params, '$.target') END = ? ORDER BY seq DESC LIMIT ?) "
                                   "ORDER BY seq ASC");
    stmt.bind(1, target);
    stmt.bind(2, std::max<std::int64_t>(limit, 0));
    return read_all(stmt);
  });
}

Result<VerifyReport> verify(const std::string& path) {
  return with_db(path, [&](SQLite::Database& db) -> Result<VerifyReport> {
    // Streams the rows: the log can be far larger than memory.
    SQLite::Statement stmt(db, std::string("SELECT ") + kColumns + " FROM audit_events ORDER BY seq");
    VerifyReport report;
    report.head_hash = std::string(kGenesisHash);
    std::int64_t prev_seq = 0;
    while (stmt.executeStep()) {
      const Row row = read_row(stmt);
      const AuditEvent& event = row.event;
      ++report.count;
      std::string problem;
      if (event.seq != prev_seq + 1) {
        problem = "expected seq " + std::to_string(prev_seq + 1) + " (a row was deleted or reordered)";
      } else if (event.prev_hash != report.head_hash) {
        problem = prev_seq == 0 ? "prev_hash is not the genesis hash (the log does not start here)"
                                : "prev_hash does not match seq " + std::to_string(prev_seq) + "'s hash";
      } else if (!row.params_valid) {
        problem = "params is not valid JSON (the row was edited)";
      } else if (compute_audit_hash(report.head_hash, event) != event.hash) {
        problem = "hash does not match its contents (the row was edited)";
      }
      if (!problem.empty()) {
        report.ok = false;
        report.first_bad_seq = event.seq;
        report.reason = "seq " + std::to_string(event.seq) + ": " + problem;
        return report;
      }
      prev_seq = event.seq;
      report.head_hash = event.hash;
    }
    return report;
  });
}

Result<void> export_jsonl(const std::string& path, std::ostream& out) {
  return with_db(path, [&](SQLite::Database& db) -> Result<void> {
    SQLite::Statement stmt(db, std::string("SELECT ") + kColumns + " FROM audit_events ORDER BY seq");
    while (stmt.executeStep() && out) {
      out << to_json(read_row(stmt).event).dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    }
    return check_stream(out, path);
  });
}

Result<void> export_csv(const std::string& path, std::ostream& out) {
  return with_db(path, [&](SQLite::Database& db) -> Result<void> {
    SQLite::Statement stmt(db, std::string("SELECT ") + kColumns + " FROM audit_events ORDER BY seq");
    out << "seq,time,ts_ms,request_id,kind,platform,channel,principal,action,params,outcome,detail,prev_hash,hash\r\n";
    while (stmt.executeStep() && out) {
      const Row row = read_row(stmt);
      const AuditEvent& e = row.event;
      out << e.seq << ',' << format_utc_ms(e.ts_ms) << ',' << e.ts_ms << ',';
      for (const std::string* field : {&e.request_id, &e.kind, &e.platform, &e.channel, &e.principal, &e.action,
                                       &row.params_text, &e.outcome, &e.detail, &e.prev_hash}) {
        write_csv_field(out, *field);
        out << ',';
      }
      write_csv_field(out, e.hash);
      out << "\r\n";
    }
    return check_stream(out, path);
  });
}

std::string format_utc_ms(std::int64_t unix_ms) {
  // Floor division, so times before 1970 still get a 0..999 fraction.
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char date[32];
  if (gmtime_r(&t, &tm) == nullptr || std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    return "@" + std::to_string(unix_ms) + "ms";
  }
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", date, static_cast<int>(millis));
  return out;
}

std::string format_event_line(const AuditEvent& event) {
  std::string line = format_utc_ms(event.ts_ms);
  line += " #" + std::to_string(event.seq);
  line += " req=" + (event.request_id.empty() ? std::string("-") : escape_for_terminal(event.request_id));
  auto add = [&line](std::string_view field) {
    if (!field.empty()) {
      line += ' ';
      line += escape_for_terminal(field);
    }
  };
  add(event.kind);
  add(event.principal);
  add(event.action);
  if (!event.params.is_null() && !(event.params.is_object() && event.params.empty())) {
    add(event.params.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  add(event.outcome);
  if (!event.detail.empty()) {
    line += " \xe2\x80\x94 ";  // em dash
    line += escape_for_terminal(event.detail);
  }
  return line;
}

}  // namespace opsgate::audit
