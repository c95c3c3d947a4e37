#include "src/app/audit_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "src/audit/audit_reader.hpp"

namespace opsgate::app {

namespace {

int fail_with(const std::string& message) {
  std::fprintf(stderr, "opsgate: %s\n", message.c_str());
  return 1;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

int print_events(const Result<std::vector<AuditEvent>>& events) {
  if (!events) {
    return fail_with(events.error().message);
  }
  for (const auto& event : *events) {
    std::cout << audit::format_event_line(event) << "\n";
  }
  return 0;
}

}  // namespace

int run_audit_command(const std::string& sub, const std::vector<std::string>& args, const AuditCommandOptions& options) {
  const audit::AuditSource& db = options.database;
  if (sub == "tail") {
    std::size_t n = 20;
    if (options.count) {
      if (!all_digits(*options.count) || std::stoul(*options.count) == 0) {
        std::fprintf(stderr, "opsgate: -n takes a positive whole number, not '%s'\n", options.count->c_str());
        return 2;
      }
      n = std::stoul(*options.count);
    }
    return print_events(audit::tail(db, n));
  }
  if (sub == "show") {
    if (args.size() != 1) {
      std::fprintf(stderr, "opsgate: usage: opsgate audit show <request-id | event number>\n");
      return 2;
    }
    // A request id is hex and may, rarely, be all digits: it is looked up as
    // a request first, so such an id never shows an unrelated event.
    if (all_digits(args[0])) {
      if (auto as_request = audit::by_request(db, args[0]); as_request && !as_request->empty()) {
        return print_events(as_request);
      }
      auto event = audit::by_seq(db, std::stoll(args[0]));
      if (!event) {
        return fail_with(event.error().message);
      }
      std::cout << to_json(*event).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    }
    auto events = audit::by_request(db, args[0]);
    if (events && events->empty()) {
      return fail_with("no audit events for request " + args[0]);
    }
    return print_events(events);
  }
  if (sub == "verify") {
    auto report = audit::verify(db);
    if (!report) {
      return fail_with(report.error().message);
    }
    if (!report->ok) {
      std::printf("audit log BROKEN at event #%lld: %s\n(%lld events checked; %s)\n",
                  static_cast<long long>(report->first_bad_seq), report->reason.c_str(),
                  static_cast<long long>(report->count), db.describe().c_str());
      return 1;
    }
    std::printf("audit log ok: %lld events, hash chain intact, head %s\n", static_cast<long long>(report->count),
                report->head_hash.c_str());
    return 0;
  }
  if (sub == "export") {
    const std::string format = options.format.value_or("");
    if (format != "jsonl" && format != "csv") {
      std::fprintf(stderr, "opsgate: export needs --format jsonl or --format csv\n");
      return 2;
    }
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (options.output) {
      file.open(*options.output, std::ios::binary | std::ios::trunc);
      if (!file) {
        return fail_with("cannot write " + *options.output);
      }
      out = &file;
    }
    auto done = format == "jsonl" ? audit::export_jsonl(db, *out) : audit::export_csv(db, *out);
    if (!done) {
      return fail_with(done.error().message);
    }
    return 0;
  }
  std::fprintf(stderr, "opsgate: unknown audit subcommand '%s' (tail, show, verify, export)\n", sub.c_str());
  return 2;
}

}  // namespace opsgate::app
