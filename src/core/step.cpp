#include "src/core/step.hpp"

#include <spdlog/spdlog.h>

#include "src/core/text.hpp"

namespace opsgate {

namespace {
constexpr std::size_t kMaxAuditedText = 2000;
}  // namespace

AuditEvent step_event(const Clock& clock, const Step& step, std::string kind, std::string outcome, std::string detail) {
  AuditEvent e;
  e.request_id = step.request_id;
  e.kind = std::move(kind);
  e.platform = step.event.platform;
  e.channel = step.event.channel;
  e.principal = step.event.principal.id;
  e.action = step.request.action;
  if (!audit_params_empty(step.request.params)) {
    e.params = step.request.params;  // else the default (null, stored as {}): an empty object still allocates
  }
  e.outcome = std::move(outcome);
  // Cut on a character boundary: the detail often quotes chat text, and a
  // half character would make the row invalid UTF-8 for every reader.
  e.detail = detail.size() > kMaxAuditedText ? text::truncate_utf8(detail, kMaxAuditedText, "…") : std::move(detail);
  e.ts_ms = to_unix_ms(clock.now());
  return e;
}

boost::asio::awaitable<bool> record_step(AuditLog& audit, const Clock& clock, const Step& step, std::string kind,
                                         std::string outcome, std::string detail) {
  AuditEvent e = step_event(clock, step, std::move(kind), std::move(outcome), std::move(detail));
  const std::string what = e.kind;
  auto appended = co_await audit.append(std::move(e));
  if (!appended) {
    spdlog::error("[{}] audit append of '{}' failed: {}", step.request_id, what, appended.error().message);
    co_return false;
  }
  co_return true;
}

}  // namespace opsgate
