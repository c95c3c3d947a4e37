#pragma once
// One request being handled: the event it came from, the id that ties its
// audit events together, what was understood and by which parser. The
// pipeline and the approval workflow hand it to each other; plain data.

#include <string>

#include <boost/asio/awaitable.hpp>

#include "src/core/action_request.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/chat_event.hpp"
#include "src/core/clock.hpp"

namespace opsgate {

struct Step {
  ChatEvent event;
  std::string request_id;
  ActionRequest request;  // empty until parsed
  std::string parser;     // who understood it: "command", "nlu", "llm", "system"
};

// One event of the step's trail, stamped now (detail cut to a sane length).
AuditEvent step_event(const Clock& clock, const Step& step, std::string kind, std::string outcome, std::string detail);

// Appends one event of the step's trail (detail cut to a sane length).
// False, with a log line, when the log cannot take it: the caller must then
// not act.
boost::asio::awaitable<bool> record_step(AuditLog& audit, const Clock& clock, const Step& step, std::string kind,
                                         std::string outcome, std::string detail);

// The answer a person gets when the audit log cannot be written.
inline constexpr const char* kAuditDown =
    "I cannot write to the audit log right now, so I will not act on this. An operator has to look at the opsgate logs.";

}  // namespace opsgate
