#include "src/audit/audit_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <system_error>
#include <utility>
#include <variant>

#include <pqxx/pqxx>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "src/audit/audit_hash.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/pq_library.hpp"

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

// The row as read: params kept as stored text, parsed when valid.
Row make_row(AuditEvent event, std::string params_text) {
  Row row;
  row.event = std::move(event);
  row.params_text = std::move(params_text);
  json params = json::parse(row.params_text, nullptr, false);
  if (params.is_discarded()) {
    // Shown as the raw text so a damaged row can still be read; verify()
    // reports it.
    row.params_valid = false;
    row.event.params = row.params_text;
  } else {
    row.event.params = std::move(params);
  }
  return row;
}

Row read_row(SQLite::Statement& stmt) {
  AuditEvent e;
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
  e.outcome = stmt.getColumn(9).getString();
  e.detail = stmt.getColumn(10).getString();
  e.prev_hash = stmt.getColumn(11).getString();
  e.hash = stmt.getColumn(12).getString();
  return make_row(std::move(e), stmt.getColumn(8).getString());
}

// NULL reads as empty, as SQLite's getString does.
std::string text_of(const pqxx::field& field) {
  return field.is_null() ? std::string() : std::string(field.c_str(), field.size());
}

Row read_row(const pqxx::row& r) {
  AuditEvent e;
  e.seq = r[0].as<std::int64_t>();
  e.ts_ms = r[1].as<std::int64_t>();
  e.request_id = text_of(r[2]);
  e.kind = text_of(r[3]);
  e.platform = text_of(r[4]);
  e.channel = text_of(r[5]);
  e.principal = text_of(r[6]);
  e.action = text_of(r[7]);
  e.outcome = text_of(r[9]);
  e.detail = text_of(r[10]);
  e.prev_hash = text_of(r[11]);
  e.hash = text_of(r[12]);
  return make_row(std::move(e), text_of(r[8]));
}

using Param = std::variant<std::int64_t, std::string>;
// Called for each row in order; false stops the walk.
using RowSink = std::function<bool(const Row&)>;

// `sql` with SQLite's ? placeholders as PostgreSQL's $1, $2, ...
std::string numbered_placeholders(const std::string& sql) {
  std::string out;
  int n = 0;
  for (char c : sql) {
    if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<void> rows_from_sqlite(const std::string& path, const std::string& sql, const std::vector<Param>& params,
                              const RowSink& sink) {
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
    SQLite::Statement stmt(db, sql);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      std::visit([&](const auto& value) { stmt.bind(index, value); }, params[i]);
    }
    // Streams the rows: the log can be far larger than memory.
    while (stmt.executeStep()) {
      if (!sink(read_row(stmt))) {
        break;
      }
    }
    return {};
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot read the audit log at " + path + ": " + e.what());
  }
}

Result<void> rows_from_postgres(const AuditSource& source, const std::string& sql, const std::vector<Param>& params,
                                const RowSink& sink) {
  if (auto loaded = store::load_libpq(); !loaded) {
    return tl::unexpected(loaded.error());
  }
  try {
    store::PgOptions options;
    options.dsn = source.pg_dsn;
    pqxx::connection connection(store::pg_connection_string(options));
    pqxx::read_transaction tx(connection);
    if (tx.exec1("SELECT to_regclass('audit_events') IS NULL")[0].as<bool>()) {
      return fail(Errc::storage, "the PostgreSQL database at " + source.describe() +
                                     " holds no opsgate audit log (no audit_events table): start opsgate once, or "
                                     "check storage.postgres.dsn");
    }
    // A cursor fetched in pages: the log can be far larger than memory.
    std::vector<std::string> texts;
    for (const Param& param : params) {
      texts.push_back(std::visit(
          [](const auto& value) -> std::string {
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
              return value;
            } else {
              return std::to_string(value);
            }
          },
          param));
    }
    tx.exec_params0("DECLARE audit_rows NO SCROLL CURSOR FOR " + numbered_placeholders(sql),
                    pqxx::prepare::make_dynamic_params(texts));
    for (;;) {
      const pqxx::result page = tx.exec("FETCH 1000 FROM audit_rows");
      for (const pqxx::row& r : page) {
        if (!sink(read_row(r))) {
          return {};
        }
      }
      if (page.size() < 1000) {
        return {};
      }
    }
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot read the audit log in PostgreSQL at " + source.describe() + ": " + e.what());
  }
}

Result<void> for_each_row(const AuditSource& source, const std::string& sql, const std::vector<Param>& params,
                          const RowSink& sink) {
  if (source.is_postgres()) {
    return rows_from_postgres(source, sql, params, sink);
  }
  return rows_from_sqlite(source.path, sql, params, sink);
}

Result<std::vector<AuditEvent>> all_events(const AuditSource& source, const std::string& sql,
                                           const std::vector<Param>& params) {
  std::vector<AuditEvent> events;
  Result<void> walked = for_each_row(source, sql, params, [&events](const Row& row) {
    events.push_back(row.event);
    return true;
  });
  if (!walked) {
    return tl::unexpected(walked.error());
  }
  return events;
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

std::string AuditSource::describe() const { return is_postgres() ? store::pg_describe(pg_dsn) : path; }

Result<std::vector<AuditEvent>> tail(const AuditSource& source, std::int64_t n) {
  return all_events(source,
                    std::string("SELECT * FROM (SELECT ") + kColumns +
                        " FROM audit_events ORDER BY seq DESC LIMIT ?) AS recent ORDER BY seq ASC",
                    {std::max<std::int64_t>(n, 0)});
}

Result<std::vector<AuditEvent>> of_kind_since(const AuditSource& source, const std::string& kind,
                                              std::int64_t since_ms) {
  return all_events(source,
                    std::string("SELECT ") + kColumns + " FROM audit_events WHERE kind = ? AND ts_ms >= ? ORDER BY seq",
                    {kind, since_ms});
}

Result<std::vector<AuditEvent>> by_request(const AuditSource& source, const std::string& request_id) {
  return all_events(source, std::string("SELECT ") + kColumns + " FROM audit_events WHERE request_id = ? ORDER BY seq",
                    {request_id});
}

Result<AuditEvent> by_seq(const AuditSource& source, std::int64_t seq) {
  auto events = all_events(source, std::string("SELECT ") + kColumns + " FROM audit_events WHERE seq = ?", {seq});
  if (!events) {
    return tl::unexpected(events.error());
  }
  if (events->empty()) {
    return fail(Errc::not_found, "no audit event #" + std::to_string(seq) + " in " + source.describe());
  }
  return std::move(events->front());
}

Result<std::vector<AuditEvent>> recent_for_target(const AuditSource& source, const std::string& target,
                                                  std::int64_t limit) {
  if (source.is_postgres()) {
    // Newest first, the JSON read here: PostgreSQL 15 has no json_valid,
    // and one damaged row must not fail the query for every other row.
    std::vector<AuditEvent> found;
    const std::size_t wanted = static_cast<std::size_t>(std::max<std::int64_t>(limit, 0));
    if (wanted == 0) {
      return found;
    }
    Result<void> walked = for_each_row(
        source,
        std::string("SELECT ") + kColumns + " FROM audit_events WHERE strpos(params, '\"target\"') > 0 ORDER BY seq DESC",
        {}, [&](const Row& row) {
          const json& params = row.event.params;
          if (row.params_valid && params.is_object() && params.contains("target") && params["target"] == target) {
            found.push_back(row.event);
          }
          return found.size() < wanted;
        });
    if (!walked) {
      return tl::unexpected(walked.error());
    }
    std::reverse(found.begin(), found.end());
    return found;
  }
  // CASE, not AND: json_extract raises an error on malformed JSON, and
  // SQLite does not promise to evaluate AND's operands in order. One
  // damaged row must not hide every other row.
  return all_events(source,
                    std::string("SELECT * FROM (SELECT ") + kColumns +
                        " FROM audit_events WHERE CASE WHEN json_valid(params) THEN "
                        "json_extract(params, '$.target') END = ? ORDER BY seq DESC LIMIT ?) AS recent "
                        "ORDER BY seq ASC",
                    {target, std::max<std::int64_t>(limit, 0)});
}

Result<VerifyReport> verify(const AuditSource& source) {
  VerifyReport report;
  report.head_hash = std::string(kGenesisHash);
  std::int64_t prev_seq = 0;
  Result<void> walked = for_each_row(
      source, std::string("SELECT ") + kColumns + " FROM audit_events ORDER BY seq", {}, [&](const Row& row) {
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
          return false;
        }
        prev_seq = event.seq;
        report.head_hash = event.hash;
        return true;
      });
  if (!walked) {
    return tl::unexpected(walked.error());
  }
  return report;
}

Result<void> export_jsonl(const AuditSource& source, std::ostream& out) {
  Result<void> walked =
      for_each_row(source, std::string("SELECT ") + kColumns + " FROM audit_events ORDER BY seq", {},
                   [&out](const Row& row) {
                     out << to_json(row.event).dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
                     return static_cast<bool>(out);
                   });
  if (!walked) {
    return walked;
  }
  return check_stream(out, source.describe());
}

Result<void> export_csv(const AuditSource& source, std::ostream& out) {
  out << "seq,time,ts_ms,request_id,kind,platform,channel,principal,action,params,outcome,detail,prev_hash,hash\r\n";
  Result<void> walked = for_each_row(
      source, std::string("SELECT ") + kColumns + " FROM audit_events ORDER BY seq", {}, [&out](const Row& row) {
        const AuditEvent& e = row.event;
        out << e.seq << ',' << format_utc_ms(e.ts_ms) << ',' << e.ts_ms << ',';
        for (const std::string* field : {&e.request_id, &e.kind, &e.platform, &e.channel, &e.principal, &e.action,
                                         &row.params_text, &e.outcome, &e.detail, &e.prev_hash}) {
          write_csv_field(out, *field);
          out << ',';
        }
        write_csv_field(out, e.hash);
        out << "\r\n";
        return static_cast<bool>(out);
      });
  if (!walked) {
    return walked;
  }
  return check_stream(out, source.describe());
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
