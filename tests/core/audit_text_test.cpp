#include <doctest/doctest.h>

#include "src/core/audit_log.hpp"

using namespace opsgate;

namespace {

// The definition the hash chain was written with: to_json without the two
// hashes, dumped compact with sorted keys. canonical_audit_text must give
// exactly these bytes, or every existing log would fail verification.
std::string reference_text(const AuditEvent& event) {
  nlohmann::json j = to_json(event);
  j.erase("prev_hash");
  j.erase("hash");
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AuditEvent event_with(std::string text) {
  AuditEvent e;
  e.seq = 42;
  e.ts_ms = 1795611662123;
  e.request_id = "a0a88dac40b0";
  e.kind = "received";
  e.platform = "slack";
  e.channel = "C0OPS";
  e.principal = "slack:T0AAA:U0ALICE";
  e.action = "metrics.query";
  e.params = {{"target", "checkout"}, {"range_s", 3600}, {"ratio", 0.25}, {"tags", {"a", text}}};
  e.outcome = "ok";
  e.detail = std::move(text);
  return e;
}

}  // namespace

TEST_SUITE("core/audit text") {
  TEST_CASE("the canonical text is byte for byte the sorted compact JSON of the event") {
    for (const std::string& text :
         {std::string("restart cart in staging"), std::string("quote \" and backslash \\ and tab\t"),
          std::string("new\nline and \x01 control and DEL \x7f"), std::string("ünïcödé ✓ 🚀"),
          std::string("invalid UTF-8 \xff\xfe here"), std::string(""), std::string("<@U0BOT> what's up?")}) {
      const AuditEvent e = event_with(text);
      CHECK(canonical_audit_text(e) == reference_text(e));
    }
    AuditEvent empty;
    CHECK(canonical_audit_text(empty) == reference_text(empty));
    // Each byte JSON escapes (or that goes through nlohmann: >= 0x7f) at
    // every position of a 17-byte field: the checks eight bytes at a time
    // and the tail's must both see it.
    for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\x80', '\xff'}) {
      for (std::size_t at = 0; at < 17; ++at) {
        std::string text(17, 'a');
        text[at] = special;
        const AuditEvent e = event_with(text);
        CHECK(canonical_audit_text(e) == reference_text(e));
      }
    }
    AuditEvent negative = event_with("x");
    negative.seq = -1;
    negative.params = nlohmann::json::object();
    CHECK(canonical_audit_text(negative) == reference_text(negative));
  }
}
